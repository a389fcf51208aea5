// The engine benchmark's knobs: argv first, then environment, then defaults, validated
// once by zod into a frozen object. The only bench file that reads process.env.
import { z } from 'zod';
import { rawOptions, validatedOptions } from '../shared/bench-env.js';
import { contenderNames } from '../shared/contenders.js';
import { hostCount, runOptionSources, runOptionsShape } from '../shared/run-options.js';

const ContenderList = z
  .string()
  .transform((raw) => raw.split(/[\s,]+/).filter(Boolean))
  .pipe(z.array(z.enum(contenderNames)).min(1));

const BenchOptions = z.object({
  n: hostCount(10_000),
  peers: ContenderList.default([...contenderNames]),
  kind: z.enum(['fast', 'delay50']).default('fast'),
  /** `on`: throughput table then accuracy section; `only`: accuracy alone; `off`: table alone. */
  accuracy: z.enum(['on', 'only', 'off']).default('on'),
  curlChunk: z.coerce.number().int().min(1).max(100_000).default(1000),
  /** Another build of the engine runner, e.g. to compare a branch; relative to the repo root. */
  engineScript: z.string().min(1).default('dist-bench/bench/engine/run-engine.js'),
  ...runOptionsShape,
});
export type BenchOptions = Readonly<z.infer<typeof BenchOptions>>;

// Which argv flag and which environment variable feed each option; named in error messages.
const sources = {
  ...runOptionSources,
  peers: ['peers', 'PEERS'],
  kind: ['kind', 'KIND'],
  accuracy: ['accuracy', 'ACCURACY'],
  curlChunk: ['curl-chunk', 'CURL_CHUNK'],
  engineScript: ['engine-script', 'ENGINE_SCRIPT'],
} as const satisfies Record<keyof z.infer<typeof BenchOptions>, readonly [string, string]>;

export const usage = `usage: npm run bench -- [--n N] [--c C] [--reps R] [--peers a,b]
       [--kind fast|delay50] [--accuracy | --no-accuracy] [--settle-s S] [--run-max-s S]
       [--bench-max-s S] [--curl-chunk K] [--engine-script PATH] [--python PATH]
Each option can also come from the environment: N C REPS PEERS KIND ACCURACY(on|only|off)
SETTLE_S RUN_MAX_S BENCH_MAX_S CURL_CHUNK ENGINE_SCRIPT PYTHON. Contenders: ${contenderNames.join(', ')}`;

export function parseBenchOptions(
  argv: string[],
  env: NodeJS.ProcessEnv = process.env,
): BenchOptions {
  const { raw, flags: values } = rawOptions(argv, env, sources, usage, ['accuracy', 'no-accuracy']);
  if (values.accuracy) raw.accuracy = 'only';
  if (values['no-accuracy']) raw.accuracy = 'off';
  return validatedOptions(BenchOptions, raw, sources, usage);
}
