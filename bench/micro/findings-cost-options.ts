// The findings-cost bench's knobs: argv first, then environment, then defaults, validated once
// by zod into a frozen object. The only file of this bench that reads process.env.
import { existsSync } from 'node:fs';
import { z } from 'zod';
import { parseBenchFlags } from '../shared/bench-env.js';

export const findingsCostParts = ['micro', 'engine'] as const;

const PartList = z
  .string()
  .transform((raw) => raw.split(/[\s,]+/).filter(Boolean))
  .pipe(z.array(z.enum(findingsCostParts)).min(1));

const FindingsCostOptions = z.object({
  parts: PartList.default([...findingsCostParts]),
  /** Rounds of the in-process part; each analyses 10,000 results of every kind. */
  rounds: z.coerce.number().int().min(1).max(100).default(9),
  n: z.coerce
    .number()
    .int()
    .min(1)
    .max(254 * 254)
    .default(10_000),
  c: z.coerce.number().int().min(1).max(10_000).default(500),
  reps: z.coerce.number().int().min(1).max(20).default(3),
  settleS: z.coerce.number().min(0).max(30).default(1),
  runMaxS: z.coerce.number().positive().max(1800).default(120),
  benchMaxS: z.coerce.number().positive().max(7200).default(900),
  python: z
    .string()
    .min(1)
    .default(() => (existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3')),
});
export type FindingsCostOptions = Readonly<z.infer<typeof FindingsCostOptions>>;

const sources = {
  parts: ['parts', 'PARTS'],
  rounds: ['rounds', 'ROUNDS'],
  n: ['n', 'N'],
  c: ['c', 'C'],
  reps: ['reps', 'REPS'],
  settleS: ['settle-s', 'SETTLE_S'],
  runMaxS: ['run-max-s', 'RUN_MAX_S'],
  benchMaxS: ['bench-max-s', 'BENCH_MAX_S'],
  python: ['python', 'PYTHON'],
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
