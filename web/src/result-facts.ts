// Facts the page reads off a result, as the command's table and CSV do (src/exports/result-row.ts).
import type { JobResult } from './api';

const DAY_MS = 86_400_000;

export const PHASES = ['dns', 'tcp', 'tls', 'request', 'wait', 'transfer'] as const;
export type Phase = (typeof PHASES)[number];

/** The first value of header `name` (case-insensitive), or null. */
export function headerValue(result: JobResult, name: string): string | null {
  const wanted = name.toLowerCase();
  return result.headers.find(([key]) => key.toLowerCase() === wanted)?.[1] ?? null;
}

/** Whole days to the certificate's end (negative once expired), or null. */
export function certDaysLeft(result: JobResult, now = Date.now()): number | null {
  const validTo = result.tls?.certificate?.validTo;
  return validTo === undefined ? null : Math.floor((Date.parse(validTo) - now) / DAY_MS);
}

export function phaseMs(result: JobResult, phase: Phase): number | null {
  return result.timing.phases[phase];
}
