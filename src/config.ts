// The only reader of process.env: parses it once with zod into a frozen Config.
// A bad value stops start-up with a message that names the variable.
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { validateCidr } from './policy/address-policy.js';

const integer = (fallback: number, min: number, max: number) =>
  z.coerce.number().int().min(min).max(max).default(fallback);

const dnsServer = z
  .string()
  .regex(
    /^(?:\[[0-9A-Fa-f:.]+\]|[0-9.]+|[0-9A-Fa-f:]+)(?::\d{1,5})?$/,
    'expected host[:port] with an IP host',
  );

function commaList(value: string): string[] {
  return value
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);
}

/** Keys are kept only as SHA-256 hashes; `sha256:<hex>` entries already are one. */
export function hashApiKey(entry: string): string {
  return entry.startsWith('sha256:')
    ? entry.slice(7)
    : createHash('sha256').update(entry).digest('hex');
}

/** A comma-separated variable: items trimmed, empty ones dropped, each validated. */
function commaSeparated<T>(item: z.ZodType<T, string>) {
  return z.string().default('').transform(commaList).pipe(z.array(item));
}

function isCidr(entry: string): boolean {
  try {
    validateCidr(entry);
    return true;
  } catch {
    return false;
  }
}

const EnvSchema = z
  .object({
    PORT: integer(3000, 0, 65535),
    HOST: z.string().min(1).default('127.0.0.1'),
    LOG_LEVEL: z
      .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
      .default('info'),
    HEADPROBE_CONCURRENCY: integer(500, 1, 20_000).describe('global cap on targets in flight'),
    HEADPROBE_MAX_TARGETS: integer(10_000, 1, 1_000_000),
    HEADPROBE_ALLOW_CIDRS: commaSeparated(
      z.string().refine(isCidr, 'expected a CIDR such as 127.0.0.0/8 or ::1/128'),
    ),
    HEADPROBE_ALLOW_PORTS: commaSeparated(
      z
        .string()
        .regex(/^\d{1,5}$/, 'expected a port number')
        .transform(Number)
        .pipe(z.int().min(1).max(65535)),
    ),
    HEADPROBE_MAX_JOBS: integer(1_000, 1, 1_000_000),
    HEADPROBE_API_KEYS: commaSeparated(
      z
        .string()
        .regex(
          /^(?:sha256:[0-9a-f]{64}|[\x21-\x2b\x2d-\x7e]{16,256})$/,
          'expected a key of 16+ printable characters, or sha256:<64 hex>',
        ),
    ),
    HEADPROBE_RATE_LIMIT_TARGETS_PER_MIN: integer(100_000, 0, 100_000_000),
    HEADPROBE_AUTH_FAILURES_PER_MIN: integer(20, 1, 1_000_000),
    HEADPROBE_MAX_QUEUED_TARGETS: integer(200_000, 1, 100_000_000),
    HEADPROBE_MAX_QUEUED_TARGETS_PER_KEY: integer(50_000, 1, 100_000_000),
    HEADPROBE_MAX_EVENT_LOOP_DELAY_MS: integer(1_000, 0, 60_000),
    HEADPROBE_MAX_HEAP_USED_MB: integer(0, 0, 1_000_000),
    HEADPROBE_MAX_RSS_MB: integer(0, 0, 1_000_000),
    HEADPROBE_JOB_RETENTION_S: integer(3_600, 1, 30 * 24 * 3_600),
    HEADPROBE_INLINE_RESULTS: integer(100, 0, 10_000),
    HEADPROBE_MAX_WAIT_S: integer(60, 0, 3_600),
    HEADPROBE_SHUTDOWN_GRACE_S: integer(30, 0, 3_600),
    HEADPROBE_DNS: z.enum(['builtin', 'system']).default('builtin'),
    HEADPROBE_DNS_SERVERS: commaSeparated(dnsServer),
    HEADPROBE_DNS_TIMEOUT_MS: integer(0, 0, 60_000),
    HEADPROBE_DNS_MAX_QUERIES: integer(1_000, 1, 100_000),
    HEADPROBE_DNS_CACHE_ENTRIES: integer(50_000, 1, 10_000_000),
    HEADPROBE_DNS_CACHE_MIN_TTL_S: integer(1, 0, 86_400),
    HEADPROBE_DNS_CACHE_MAX_TTL_S: integer(300, 0, 7 * 86_400),
    HEADPROBE_DNS_NEGATIVE_TTL_S: integer(30, 0, 3_600),
    HEADPROBE_CONCURRENCY_PER_CALLER: integer(0, 0, 20_000),
    HEADPROBE_OPERATOR_KEYS: commaSeparated(
      z
        .string()
        .regex(
          /^(?:sha256:[0-9a-f]{64}|[\x21-\x2b\x2d-\x7e]{16,256})$/,
          'expected a key of 16+ printable characters, or sha256:<64 hex>',
        ),
    ),
    HEADPROBE_REQUEST_TIMEOUT_S: integer(30, 1, 3_600),
    HEADPROBE_HEADERS_TIMEOUT_S: integer(10, 1, 3_600),
    HEADPROBE_MAX_PENDING_BODY_MB: integer(64, 1, 100_000),
    HEADPROBE_MAX_CONNECTIONS: integer(0, 0, 1_000_000),
    HEADPROBE_MAX_CONNECTIONS_PER_CLIENT: integer(256, 1, 1_000_000),
    HEADPROBE_MAX_STREAMS: integer(1_000, 1, 1_000_000),
    HEADPROBE_MAX_STREAMS_PER_CALLER: integer(16, 1, 1_000_000),
    HEADPROBE_MAX_HEADER_BYTES: integer(4_096, 0, 65_536),
    HEADPROBE_MAX_JOB_HEADER_MB: integer(64, 1, 100_000),
    HEADPROBE_CONCURRENCY_PER_DESTINATION: integer(6, 1, 20_000),
    HEADPROBE_MAX_CONCURRENCY_PER_DESTINATION: integer(100, 1, 20_000),
    HEADPROBE_REDIS_URL: z
      .string()
      .regex(/^rediss?:\/\/\S+$/, 'expected redis://[user:password@]host[:port][/db] or rediss://…')
      .optional(),
    HEADPROBE_REDIS_CLUSTER: z.stringbool().default(false),
    HEADPROBE_REDIS_PREFIX: z
      .string()
      .regex(/^[\x21-\x7e]{0,64}$/, 'expected up to 64 printable characters without spaces')
      .refine((prefix) => !/[{}]/.test(prefix), 'must not contain { or } (hash tags are its own)')
      .default('headprobe:'),
    HEADPROBE_ROLE: z.enum(['all', 'api', 'worker']).default('all'),
    HEADPROBE_CHUNK_SIZE: integer(500, 1, 100_000),
    HEADPROBE_CHUNK_LOCK_MS: integer(30_000, 1_000, 600_000),
  })
  .refine((env) => env.HEADPROBE_ROLE === 'all' || env.HEADPROBE_REDIS_URL !== undefined, {
    path: ['HEADPROBE_ROLE'],
    message: 'api and worker processes share their jobs through Redis: set HEADPROBE_REDIS_URL',
  })
  .refine((env) => !env.HEADPROBE_REDIS_CLUSTER || env.HEADPROBE_REDIS_URL !== undefined, {
    path: ['HEADPROBE_REDIS_CLUSTER'],
    message: 'names how to reach HEADPROBE_REDIS_URL: set it to one node of the Cluster',
  })
  .refine((env) => env.HEADPROBE_DNS === 'builtin' || env.HEADPROBE_DNS_SERVERS.length === 0, {
    path: ['HEADPROBE_DNS_SERVERS'],
    message: 'names servers for the builtin resolver; HEADPROBE_DNS=system asks getaddrinfo',
  })
  .refine((env) => env.HEADPROBE_DNS_CACHE_MIN_TTL_S <= env.HEADPROBE_DNS_CACHE_MAX_TTL_S, {
    path: ['HEADPROBE_DNS_CACHE_MIN_TTL_S'],
    message: 'must not be above HEADPROBE_DNS_CACHE_MAX_TTL_S',
  })
  .refine((env) => env.HEADPROBE_HEADERS_TIMEOUT_S <= env.HEADPROBE_REQUEST_TIMEOUT_S, {
    path: ['HEADPROBE_HEADERS_TIMEOUT_S'],
    message: 'must not be above HEADPROBE_REQUEST_TIMEOUT_S',
  })
  .refine(
    (env) =>
      env.HEADPROBE_CONCURRENCY_PER_DESTINATION <= env.HEADPROBE_MAX_CONCURRENCY_PER_DESTINATION,
    {
      path: ['HEADPROBE_CONCURRENCY_PER_DESTINATION'],
      message: 'must not be above HEADPROBE_MAX_CONCURRENCY_PER_DESTINATION',
    },
  )
  // The Config the service reads: named for the code, not the environment, and frozen.
  .transform((env) =>
    Object.freeze({
      port: env.PORT,
      host: env.HOST,
      logLevel: env.LOG_LEVEL,
      /** Global cap on targets in flight across all jobs. */
      concurrency: env.HEADPROBE_CONCURRENCY,
      dns: Object.freeze({
        /** builtin: the async stub resolver (hosts file, resolv.conf); system: getaddrinfo. */
        mode: env.HEADPROBE_DNS,
        /** `host[:port]` DNS servers asked instead of resolv.conf's; empty means resolv.conf's. */
        servers: Object.freeze(env.HEADPROBE_DNS_SERVERS),
        /** Per query try; 0 means resolv.conf's `timeout`, else 2 s. */
        queryTimeoutMs: env.HEADPROBE_DNS_TIMEOUT_MS,
        /** Queries on the wire at once; more wait for a slot (never timed while they wait). */
        maxQueriesInFlight: env.HEADPROBE_DNS_MAX_QUERIES,
        cacheEntries: env.HEADPROBE_DNS_CACHE_ENTRIES,
        cacheMinTtlS: env.HEADPROBE_DNS_CACHE_MIN_TTL_S,
        cacheMaxTtlS: env.HEADPROBE_DNS_CACHE_MAX_TTL_S,
        negativeTtlS: env.HEADPROBE_DNS_NEGATIVE_TTL_S,
      }),
      // A tenth of the slots stays free for other callers while one has work enough for all.
      concurrencyPerCaller:
        env.HEADPROBE_CONCURRENCY_PER_CALLER === 0
          ? Math.max(1, Math.floor(env.HEADPROBE_CONCURRENCY * 0.9))
          : Math.min(env.HEADPROBE_CONCURRENCY_PER_CALLER, env.HEADPROBE_CONCURRENCY),
      /** SHA-256 hashes (hex) of keys that see and manage every caller's jobs. */
      operatorKeyHashes: Object.freeze(env.HEADPROBE_OPERATOR_KEYS.map(hashApiKey)),
      /** The whole request, head and body, must arrive within this. */
      requestTimeoutMs: env.HEADPROBE_REQUEST_TIMEOUT_S * 1000,
      headersTimeoutMs: env.HEADPROBE_HEADERS_TIMEOUT_S * 1000,
      /** Bytes held by request bodies still being read, across all requests. */
      maxPendingBodyBytes: env.HEADPROBE_MAX_PENDING_BODY_MB * 1024 * 1024,
      /** Connections to the service at once; 0 means derived from the open-file limit. */
      maxConnections: env.HEADPROBE_MAX_CONNECTIONS,
      maxConnectionsPerClient: env.HEADPROBE_MAX_CONNECTIONS_PER_CLIENT,
      /** Open NDJSON/SSE result streams, in total and per caller. */
      maxStreams: env.HEADPROBE_MAX_STREAMS,
      maxStreamsPerCaller: env.HEADPROBE_MAX_STREAMS_PER_CALLER,
      /** Bytes of caller headers (name, value, separators) in one request to a target. */
      maxHeaderBytes: env.HEADPROBE_MAX_HEADER_BYTES,
      /** Caller-header bytes one job may send in all: targets × requests each × header bytes. */
      maxJobHeaderBytes: env.HEADPROBE_MAX_JOB_HEADER_MB * 1024 * 1024,
      /** Targets in flight per destination (host:port) for a job that does not say. */
      concurrencyPerDestination: env.HEADPROBE_CONCURRENCY_PER_DESTINATION,
      /** Most a job may ask for. */
      maxConcurrencyPerDestination: env.HEADPROBE_MAX_CONCURRENCY_PER_DESTINATION,
      /** Ranges opted back in to the deny-by-default address policy. */
      allowCidrs: Object.freeze(env.HEADPROBE_ALLOW_CIDRS),
      /** Ports targets may use; empty means any. */
      allowPorts: Object.freeze(env.HEADPROBE_ALLOW_PORTS),
      /** SHA-256 hashes (hex) of the accepted API keys; empty means the API is open. */
      apiKeyHashes: Object.freeze(env.HEADPROBE_API_KEYS.map(hashApiKey)),
      /** Targets each caller may submit per minute; 0 means no limit. */
      rateLimitTargetsPerMin: env.HEADPROBE_RATE_LIMIT_TARGETS_PER_MIN,
      /** Failed authentications tolerated per client address per minute. */
      authFailuresPerMin: env.HEADPROBE_AUTH_FAILURES_PER_MIN,
      /** Targets queued or running across all jobs, and per caller. */
      maxQueuedTargets: env.HEADPROBE_MAX_QUEUED_TARGETS,
      maxQueuedTargetsPerKey: env.HEADPROBE_MAX_QUEUED_TARGETS_PER_KEY,
      /** Back-pressure thresholds for new jobs; 0 turns one off. */
      maxEventLoopDelayMs: env.HEADPROBE_MAX_EVENT_LOOP_DELAY_MS,
      maxHeapUsedBytes: env.HEADPROBE_MAX_HEAP_USED_MB * 1024 * 1024,
      maxRssBytes: env.HEADPROBE_MAX_RSS_MB * 1024 * 1024,
      /** Most targets one job may have. */
      maxTargets: env.HEADPROBE_MAX_TARGETS,
      /** Most jobs kept (finished ones are evicted oldest first to make room). */
      maxJobs: env.HEADPROBE_MAX_JOBS,
      /** How long a finished job and its results are kept. */
      jobRetentionMs: env.HEADPROBE_JOB_RETENTION_S * 1000,
      /** Most results inlined in GET /v1/jobs/{id}. */
      inlineResults: env.HEADPROBE_INLINE_RESULTS,
      /** Longest `Prefer: wait=N` honoured. */
      maxWaitMs: env.HEADPROBE_MAX_WAIT_S * 1000,
      /** On SIGTERM/SIGINT, how long running jobs may go on before they are cancelled. */
      shutdownGraceMs: env.HEADPROBE_SHUTDOWN_GRACE_S * 1000,
      /** Jobs kept in Redis, shared by every process with the same URL and prefix; null: memory. */
      redis:
        env.HEADPROBE_REDIS_URL === undefined
          ? null
          : Object.freeze({
              url: env.HEADPROBE_REDIS_URL,
              /** The URL is one node of a Redis Cluster; the client finds the others. */
              cluster: env.HEADPROBE_REDIS_CLUSTER,
              prefix: env.HEADPROBE_REDIS_PREFIX,
              /** Targets per queued chunk. */
              chunkSize: env.HEADPROBE_CHUNK_SIZE,
              /** A chunk whose worker stopped renewing its lock this long goes to another. */
              chunkLockMs: env.HEADPROBE_CHUNK_LOCK_MS,
            }),
      /** all: API and worker in one process; api: takes jobs, runs none; worker: runs them. */
      role: env.HEADPROBE_ROLE,
    }),
  );

/** What the service runs with, parsed once from the environment. */
export type Config = z.output<typeof EnvSchema>;
export type DnsConfig = Config['dns'];

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map(
      (issue) => `${issue.path.join('.')}: ${issue.message}`,
    );
    throw new ConfigError(`invalid environment: ${problems.join('; ')}`);
  }
  return parsed.data;
}
