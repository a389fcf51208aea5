// Opens the Redis job store of HEADPROBE_REDIS_URL (one server, or a Cluster through it): two
// connections (commands, and pub/sub, which takes no other commands), Redis's eviction policy
// checked, and what the API needs to tell a Redis that is away (503 store_unavailable, /readyz
// false) from a bug. While Redis is away commands fail at once instead of queueing in the
// process, and ioredis reconnects by itself (re-subscribing its channels), so the service
// recovers when Redis returns.
import type { RedisOptions } from 'ioredis';
import { createRedisClient, primaries, type RedisClient } from './redis-client.js';
import { RedisJobStore } from './redis-job-store.js';

export interface RedisStoreSettings {
  readonly url: string;
  /** The URL is one node of a Redis Cluster (HEADPROBE_REDIS_CLUSTER). */
  readonly cluster: boolean;
  readonly prefix: string;
  readonly maxJobs: number;
  readonly retentionMs: number;
}

export interface RedisStoreHandle {
  readonly store: RedisJobStore;
  /** The command connection, for others that keep counters in Redis (rate limits). */
  readonly redis: RedisClient;
  /** HEADPROBE_REDIS_PREFIX. */
  readonly prefix: string;
  /** For BullMQ, which asks for a connection that retries for ever (it blocks on it). */
  readonly queueRedis: RedisClient;
  /** True while both connections are up. */
  connected(): boolean;
  close(): Promise<void>;
}

export interface RedisStoreLog {
  warn(message: string): void;
  info(message: string): void;
}

const CONNECT_TIMEOUT_MS = 5_000;
/** A Redis that holds the connection open but does not answer fails a command after this. */
const COMMAND_TIMEOUT_MS = 5_000;

const connectionOptions: RedisOptions = {
  lazyConnect: true,
  connectTimeout: CONNECT_TIMEOUT_MS,
  // A command while Redis is away fails now (the API answers 503) instead of waiting in an
  // offline queue that grows with every request.
  enableOfflineQueue: false,
  maxRetriesPerRequest: 1,
  commandTimeout: COMMAND_TIMEOUT_MS,
  // Reconnect for ever, backing off to a second between tries.
  retryStrategy: (attempt) => Math.min(attempt * 100, 1_000),
};

/** The URL without its password (in the userinfo or the query, which ioredis also reads). */
export function redactedRedisUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    parsed.search = '';
    return parsed.toString();
  } catch {
    return 'redis://(unparsable URL)';
  }
}

/** ioredis's ways of saying the server is not there, or not answering for now. */
const AWAY =
  /Connection is closed|Stream isn't writeable|Command timed out|ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE/;
/** Replies of a Redis that is there but cannot take the command now. */
const BUSY_REPLY = /^(?:OOM|LOADING|READONLY|BUSY|TRYAGAIN|CLUSTERDOWN|MASTERDOWN)\b/;

/** True for a store error that passes (Redis away, full, loading, failing over): not a bug. */
export function isStoreUnavailable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if (error.name === 'MaxRetriesPerRequestError') return true;
  return AWAY.test(error.message) || BUSY_REPLY.test(error.message);
}

/**
 * Connects (failing with a clear message when Redis does not answer within 5 s) and warns
 * when Redis may evict keys: an evicted job record or result list is lost work, so BullMQ's
 * and this store's advice is `maxmemory-policy noeviction`.
 */
export async function openRedisJobStore(
  settings: RedisStoreSettings,
  log: RedisStoreLog,
): Promise<RedisStoreHandle> {
  const where = redactedRedisUrl(settings.url);
  // Results that land in one turn of the loop go to Redis in one write.
  const redis = createRedisClient(settings, { ...connectionOptions, enableAutoPipelining: true });
  const subscriber = createRedisClient(settings, connectionOptions);
  let warnedAway = false;
  for (const connection of [redis, subscriber]) {
    // ioredis emits every failed reconnect; one line per outage is enough.
    connection.on('error', (error: Error) => {
      if (warnedAway) return;
      warnedAway = true;
      log.warn(`Redis at ${where} is unreachable (${error.message}); retrying`);
    });
    connection.on('ready', () => {
      if (!warnedAway) return;
      warnedAway = false;
      log.info(`Redis at ${where} is back`);
    });
  }
  try {
    await Promise.all([redis.connect(), subscriber.connect()]);
  } catch (error) {
    redis.disconnect();
    subscriber.disconnect();
    throw new Error(`cannot reach Redis at ${where}: ${(error as Error).message}`);
  }
  await warnUnlessNoEviction(redis, where, log);
  const queueRedis = createRedisClient(settings, { maxRetriesPerRequest: null });
  queueRedis.on('error', () => {});
  const store = new RedisJobStore({
    redis,
    subscriber,
    prefix: settings.prefix,
    maxJobs: settings.maxJobs,
    retentionMs: settings.retentionMs,
  });
  return {
    store,
    redis,
    prefix: settings.prefix,
    queueRedis,
    connected: () => redis.status === 'ready' && subscriber.status === 'ready',
    async close() {
      await Promise.allSettled([redis.quit(), subscriber.quit(), queueRedis.quit()]);
      for (const connection of [redis, subscriber, queueRedis]) connection.disconnect();
    },
  };
}

async function warnUnlessNoEviction(redis: RedisClient, where: string, log: RedisStoreLog) {
  try {
    // Every master of a Cluster: any of them may hold a job.
    for (const server of primaries(redis)) {
      const [, policy] = (await server.config('GET', 'maxmemory-policy')) as [string, string];
      if (policy === 'noeviction') continue;
      const which =
        redis === server ? where : `${where} (node ${server.options.host}:${server.options.port})`;
      log.warn(
        `Redis at ${which} has maxmemory-policy ${policy}: under memory pressure it may evict ` +
          'job records and results. Set maxmemory-policy noeviction.',
      );
    }
  } catch (error) {
    // Managed Redis services often refuse CONFIG.
    log.warn(
      `could not read maxmemory-policy of Redis at ${where} (${(error as Error).message}); ` +
        'make sure it is noeviction',
    );
  }
}
