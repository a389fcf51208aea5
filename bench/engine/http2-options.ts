// The HTTP/2 bench's knobs: argv first, then environment, then defaults, validated once by
// zod into a frozen object. The only file of this bench that reads process.env.
import { z } from 'zod';
import { parseBenchFlags } from '../shared/bench-env.js';
import { hostCount, runOptionSources, runOptionsShape } from '../shared/run-options.js';

/** The contenders, in table order: the engine and curl, each over h2 and over HTTP/1.1. */
export const http2ContenderNames = [
  'headprobe-engine h2',
  'headprobe-engine h1.1',
  'curl h2',
  'curl h1.1',
] as const;
export type Http2ContenderName = (typeof http2ContenderNames)[number];

const ContenderList = z
  .string()
  .transform((raw) =>
    raw
      .split(',')
      .map((name) => name.trim())
      .filter(Boolean),
  )
  .pipe(z.array(z.enum(http2ContenderNames)).min(1));

const Http2BenchOptions = z.object({
  n: hostCount(5_000),
  contenders: ContenderList.default([...http2ContenderNames]),
  curlChunk: z.coerce.number().int().min(1).max(100_000).default(1000),
  ...runOptionsShape,
});
export type Http2BenchOptions = Readonly<z.infer<typeof Http2BenchOptions>>;

const sources = {
  ...runOptionSources,
  contenders: ['contenders', 'CONTENDERS'],
  curlChunk: ['curl-chunk', 'CURL_CHUNK'],
} as const satisfies Record<keyof z.infer<typeof Http2BenchOptions>, readonly [string, string]>;

export const usage = `usage: npm run bench:h2 -- [--n N] [--c C] [--reps R] [--contenders a,b]
       [--settle-s S] [--run-max-s S] [--bench-max-s S] [--curl-chunk K] [--python PATH]
Each option can also come from the environment: N C REPS CONTENDERS SETTLE_S RUN_MAX_S
BENCH_MAX_S CURL_CHUNK PYTHON. Contenders (comma-separated): ${http2ContenderNames.join(', ')}`;

export function parseHttp2BenchOptions(
  argv: string[],
  env: NodeJS.ProcessEnv = process.env,
): Http2BenchOptions {
  return parseBenchFlags(Http2BenchOptions, argv, env, sources, usage);
}
