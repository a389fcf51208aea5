// The findings-cost bench's knobs: argv first, then environment, then defaults, validated once
// by zod into a frozen object. The only file of this bench that reads process.env.
import { z } from 'zod';
import { parseBenchFlags } from '../shared/bench-env.js';
import { hostCount, runOptionSources, runOptionsShape } from '../shared/run-options.js';

export const findingsCostParts = ['micro', 'engine'] as const;

const PartList = z
  .string()
  .transform((raw) => raw.split(/[\s,]+/).filter(Boolean))
  .pipe(z.array(z.enum(findingsCostParts)).min(1));

const FindingsCostOptions = z.object({
  parts: PartList.default([...findingsCostParts]),
  /** Rounds of the in-process part; each analyses 10,000 results of every kind. */
  rounds: z.coerce.number().int().min(1).max(100).default(9),
  n: hostCount(10_000),
  ...runOptionsShape,
});
export type FindingsCostOptions = Readonly<z.infer<typeof FindingsCostOptions>>;

const sources = {
  ...runOptionSources,
  parts: ['parts', 'PARTS'],
  rounds: ['rounds', 'ROUNDS'],
} as const satisfies Record<keyof z.infer<typeof FindingsCostOptions>, readonly [string, string]>;

export const usage = `usage: npm run bench:findings -- [--parts micro,engine] [--rounds R] [--n N]
       [--c C] [--reps R] [--settle-s S] [--run-max-s S] [--bench-max-s S] [--python PATH]
Each option can also come from the environment: PARTS ROUNDS N C REPS SETTLE_S RUN_MAX_S
BENCH_MAX_S PYTHON.`;

export function parseFindingsCostOptions(
  argv: string[],
  env: NodeJS.ProcessEnv = process.env,
): FindingsCostOptions {
  return parseBenchFlags(FindingsCostOptions, argv, env, sources, usage);
}
