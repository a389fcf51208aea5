// The knobs every bench that runs contenders against a target shares (the engine bench, the
// HTTP/2 bench, the findings cost), with their flags and variables, and the checks each makes
// before it starts: one definition, so a default or a bound means the same everywhere.
import { existsSync } from 'node:fs';
import { z } from 'zod';
import { openFileLimit } from './bench-env.js';

/** N distinct loopback addresses 127.A.B.C: at most 254 × 254. */
export function hostCount(defaultN: number) {
  return z.coerce
    .number()
    .int()
    .min(1)
    .max(254 * 254)
    .default(defaultN);
}

export const runOptionsShape = {
  c: z.coerce.number().int().min(1).max(10_000).default(500),
  reps: z.coerce.number().int().min(1).max(20).default(3),
  settleS: z.coerce.number().min(0).max(30).default(1),
  runMaxS: z.coerce.number().positive().max(1800).default(120),
  benchMaxS: z.coerce.number().positive().max(7200).default(900),
  python: z
    .string()
    .min(1)
    .default(() => (existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3')),
};

export const runOptionSources = {
  n: ['n', 'N'],
  c: ['c', 'C'],
  reps: ['reps', 'REPS'],
  settleS: ['settle-s', 'SETTLE_S'],
  runMaxS: ['run-max-s', 'RUN_MAX_S'],
  benchMaxS: ['bench-max-s', 'BENCH_MAX_S'],
  python: ['python', 'PYTHON'],
} as const;

/** Throws unless every script has been built (`npm run build:bench`). */
export function requireBuilt(...scripts: string[]): void {
  for (const script of scripts) {
    if (!existsSync(script)) throw new Error(`${script} missing: run \`npm run build:bench\``);
  }
}

/** Throws unless `ulimit -n` leaves room for `inFlight` sockets and the bench's own files. */
export function requireOpenFiles(inFlight: number, label = `C=${inFlight}`): void {
  const needed = inFlight + 64;
  if (openFileLimit() < needed) {
    throw new Error(`ulimit -n is ${openFileLimit()}; ${label} needs at least ${needed}`);
  }
}
