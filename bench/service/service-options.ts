// The service benchmark's knobs: argv first, then environment, then defaults, validated
// once by zod into a frozen object. The only service-bench file that reads process.env.
import { existsSync } from 'node:fs';
import { z } from 'zod';
import { rawOptions } from '../shared/bench-env.js';
import { type ContenderName, contenderNames } from '../shared/contenders.js';
import { maxHosts } from '../shared/url-lists.js';

export const scenarioNames = ['throughput', 'multi', 'latency', 'api', 'big', 'names'] as const;
export type ScenarioName = (typeof scenarioNames)[number];

const defaultPeers: ContenderName[] = [
  'headprobe-engine',
  'curl-chunked',
  'py-asyncio-wget',
  'py-asyncio-wget+uvloop',
];

const listOf = <T extends string>(names: readonly [T, ...T[]]) =>
  z
    .string()
    .transform((raw) => raw.split(/[\s,]+/).filter(Boolean))
    .pipe(z.array(z.enum(names)));

const ServiceBenchOptions = z.object({
  /** Targets of the throughput job (scenario 1) and of every peer run. */
  n: z.coerce.number().int().min(1).max(maxHosts).default(10_000),
  c: z.coerce.number().int().min(1).max(10_000).default(500),
  reps: z.coerce.number().int().min(1).max(20).default(3),
  scenarios: listOf(scenarioNames).default([...scenarioNames]),
  /** Peers run beside scenario 1; `none` (an empty list) runs the service alone. */
  peers: z
    .string()
    .transform((raw) => (raw.trim() === 'none' ? '' : raw))
    .pipe(listOf(contenderNames))
    .default(defaultPeers),
  multiJobs: z.coerce.number().int().min(1).max(200).default(20),
  multiSize: z.coerce.number().int().min(1).max(maxHosts).default(500),
  /** Targets of the latency-bound job against the 50 ms target (scenarios 3 and 4). */
  delayN: z.coerce.number().int().min(1).max(maxHosts).default(5_000),
  /** Targets of the big job (scenario 6); addresses repeat beyond 64,516. */
  bigN: z.coerce.number().int().min(1).max(100_000).default(100_000),
  /** Fast-target job each fresh service runs (and deletes) before it is measured; 0 = none. */
  warmup: z.coerce.number().int().min(0).max(maxHosts).default(1_000),
  /**
   * Reps of the names scenario (7). One by default: a getaddrinfo pool resolves a few hundred
   * names a second at a 20 ms delay, so one rep of the service and the Python peers on
   * 10,000 names takes minutes.
   */
  namesReps: z.coerce.number().int().min(1).max(20).default(1),
  /** The names scenario's DNS server answers every query after this delay. */
  dnsDelayMs: z.coerce.number().int().min(0).max(5_000).default(20),
  /** Names the names scenario's second load spreads its N URLs over. */
  namesSpread: z.coerce.number().int().min(1).max(maxHosts).default(50),
  /**
   * The network namespace this bench already runs in: set by the bench when it re-runs
   * itself inside one for the names scenario (bench-netns.ts), not meant to be typed.
   */
  netns: z
    .string()
    .regex(/^[A-Za-z0-9_.-]+$/)
    .optional(),
  apiDurationS: z.coerce.number().int().min(1).max(60).default(3),
  apiConnections: z.coerce.number().int().min(1).max(1_000).default(10),
  settleS: z.coerce.number().min(0).max(30).default(1),
  /**
   * Deadline of one request or peer run. A names load against a getaddrinfo-bound client runs
   * for N/C x 5 s of DNS timeouts (100 s at the defaults), hence well above a fast run's need.
   */
  runMaxS: z.coerce.number().positive().max(1800).default(300),
  benchMaxS: z.coerce.number().positive().max(7200).default(1800),
  curlChunk: z.coerce.number().int().min(1).max(100_000).default(1000),
  python: z
    .string()
    .min(1)
    .default(() => (existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3')),
});
export type ServiceBenchOptions = Readonly<z.infer<typeof ServiceBenchOptions>>;

const sources = {
  n: ['n', 'N'],
  c: ['c', 'C'],
  reps: ['reps', 'REPS'],
  scenarios: ['scenarios', 'SCENARIOS'],
  peers: ['peers', 'PEERS'],
  multiJobs: ['multi-jobs', 'MULTI_JOBS'],
  multiSize: ['multi-size', 'MULTI_SIZE'],
  delayN: ['delay-n', 'DELAY_N'],
  bigN: ['big-n', 'BIG_N'],
  warmup: ['warmup', 'WARMUP'],
  namesReps: ['names-reps', 'NAMES_REPS'],
  dnsDelayMs: ['dns-delay-ms', 'DNS_DELAY_MS'],
  namesSpread: ['names-spread', 'NAMES_SPREAD'],
  netns: ['netns', 'BENCH_NETNS'],
  apiDurationS: ['api-duration-s', 'API_DURATION_S'],
  apiConnections: ['api-connections', 'API_CONNECTIONS'],
  settleS: ['settle-s', 'SETTLE_S'],
  runMaxS: ['run-max-s', 'RUN_MAX_S'],
  benchMaxS: ['bench-max-s', 'BENCH_MAX_S'],
  curlChunk: ['curl-chunk', 'CURL_CHUNK'],
  python: ['python', 'PYTHON'],
} as const satisfies Record<keyof z.infer<typeof ServiceBenchOptions>, readonly [string, string]>;

export const serviceUsage = `usage: npm run bench:service -- [--n N] [--c C] [--reps R]
       [--scenarios ${scenarioNames.join(',')}] [--peers a,b|none]
       [--multi-jobs J] [--multi-size S] [--delay-n N] [--big-n N] [--warmup N]
       [--names-reps R] [--dns-delay-ms D] [--names-spread K]
       [--api-duration-s S] [--api-connections K] [--settle-s S] [--run-max-s S]
       [--bench-max-s S] [--curl-chunk K] [--python PATH]
Each option can also come from the environment: ${Object.values(sources)
  .map(([, variable]) => variable)
  .join(' ')}.
Peers: ${contenderNames.join(', ')}`;

export function parseServiceBenchOptions(
  argv: string[],
  env: NodeJS.ProcessEnv = process.env,
): ServiceBenchOptions {
  const { raw } = rawOptions(argv, env, sources, serviceUsage);
  const parsed = ServiceBenchOptions.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const key = String(issue.path[0]) as keyof typeof sources;
      const [flag, variable] = sources[key] ?? [key, key];
      return `--${flag} / ${variable}: ${issue.message}`;
    });
    throw new Error(`bad service bench options:\n  ${problems.join('\n  ')}\n${serviceUsage}`);
  }
  return Object.freeze(parsed.data);
}
