// Turns per-run measurements into the printed markdown: medians per contender (as the shared
// peer harness's summary does), the FEWER THAN N flags and the ratio line.
import type { ContenderName } from './contenders.js';

export interface RunRecord {
  contender: ContenderName;
  rep: number;
  rc: number;
  timedOut: boolean;
  ok: number;
  fail: number | undefined;
  wallS: number;
  inprocS: number | undefined;
  userS: number;
  sysS: number;
  maxrssKb: number;
  /** CPU seconds the target server spent during this run, when /proc shows it. */
  targetCpuS: number | undefined;
  /** Busy CPU seconds on the whole machine beyond contender and target: noise from elsewhere. */
  otherCpuS: number | undefined;
  errors: string;
}

const tsvColumns = [
  'contender',
  'rep',
  'rc',
  'timed_out',
  'ok',
  'fail',
  'wall_s',
  'inproc_s',
  'user_s',
  'sys_s',
  'maxrss_kb',
  'target_cpu_s',
  'other_cpu_s',
  'errors',
] as const;

export const tsvHeader = `${tsvColumns.join('\t')}\n`;

export function tsvRow(r: RunRecord): string {
  const cells = [
    r.contender,
    r.rep,
    r.rc,
    r.timedOut ? 1 : 0,
    r.ok,
    r.fail ?? '-',
    r.wallS.toFixed(3),
    r.inprocS?.toFixed(3) ?? '-',
    r.userS.toFixed(3),
    r.sysS.toFixed(3),
    r.maxrssKb,
    r.targetCpuS?.toFixed(2) ?? '-',
    r.otherCpuS?.toFixed(2) ?? '-',
    r.errors,
  ];
  return `${cells.join('\t')}\n`;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Nearest-rank percentile (p in 0..100). */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1]!;
}

/** Undisturbed runs here show ~0.1 s of other CPU; a quarter core beyond that is someone else. */
function disturbedOtherCpuS(wallS: number): number {
  return Math.max(0.3, 0.25 * wallS);
}

const thousands = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

export interface Summary {
  contender: ContenderName;
  hostsPerS: number;
}

export interface TableInput {
  n: number;
  records: readonly RunRecord[];
  order: readonly ContenderName[];
  notesFor: (name: ContenderName) => string[];
}

export function renderTable(input: TableInput): { markdown: string; summaries: Summary[] } {
  const lines = [
    '| contender | N ok | wall s [min–max] | hosts/s | in-proc s | CPU user+sys s | peak RSS MB | target CPU % | other CPU s | notes |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---|',
  ];
  const summaries: Summary[] = [];
  const short: string[] = [];
  for (const name of input.order) {
    const runs = input.records.filter((r) => r.contender === name);
    if (runs.length === 0) continue;
    const oks = runs.map((r) => r.ok);
    const walls = runs.map((r) => r.wallS);
    const okMedian = median(oks);
    const wallMedian = median(walls);
    const hostsPerS = okMedian / wallMedian;
    summaries.push({ contender: name, hostsPerS });
    const inproc = runs.flatMap((r) => (r.inprocS === undefined ? [] : [r.inprocS]));
    const targetShare = runs.flatMap((r) =>
      r.targetCpuS === undefined ? [] : [(100 * r.targetCpuS) / r.wallS],
    );
    const other = runs.flatMap((r) => (r.otherCpuS === undefined ? [] : [r.otherCpuS]));
    const notes = [...input.notesFor(name)];
    if (Math.min(...oks) < input.n) {
      notes.unshift(`**FEWER THAN N: per-run ok=[${oks.join(', ')}]**`);
      short.push(name);
    }
    const codes = [...new Set(runs.map((r) => r.rc))];
    if (codes.some((rc) => rc !== 0)) notes.push(`exit codes [${codes.join(', ')}]`);
    if (runs.some((r) => r.timedOut)) notes.push('**hit the run timeout**');
    const disturbed = runs.filter((r) => (r.otherCpuS ?? 0) > disturbedOtherCpuS(r.wallS));
    if (disturbed.length > 0) {
      const which = disturbed.map((r) => `rep ${r.rep} ${r.otherCpuS?.toFixed(2)} s`);
      notes.push(`disturbed (other CPU): ${which.join(', ')}`);
    }
    const errors = [...new Set(runs.map((r) => r.errors).filter((e) => e !== '-'))];
    if (errors.length > 0) notes.push(`errors: ${errors.join('; ')}`);
    lines.push(
      `| ${name} | ${okMedian.toFixed(0)} | ${wallMedian.toFixed(2)} ` +
        `[${Math.min(...walls).toFixed(2)}–${Math.max(...walls).toFixed(2)}] | ` +
        `${thousands.format(hostsPerS)} | ${inproc.length ? median(inproc).toFixed(2) : '-'} | ` +
        `${median(runs.map((r) => r.userS + r.sysS)).toFixed(2)} | ` +
        `${median(runs.map((r) => r.maxrssKb / 1024)).toFixed(0)} | ` +
        `${targetShare.length ? median(targetShare).toFixed(0) : '-'} | ` +
        `${other.length ? median(other).toFixed(2) : '-'} | ${notes.join('; ')} |`,
    );
  }
  lines.push('');
  lines.push(
    summaries.length === 0
      ? '**No contender ran.**'
      : short.length
        ? `**Contenders with fewer than N=${input.n} header sets in some run: ${short.join(', ')}**`
        : `Every contender got all N=${input.n} header sets in every run.`,
  );
  return { markdown: lines.join('\n'), summaries };
}

export function renderRatios(summaries: readonly Summary[], subject: ContenderName): string {
  const own = summaries.find((s) => s.contender === subject);
  if (!own) return `No ratio line: ${subject} did not run.`;
  const others = summaries.filter((s) => s.contender !== subject);
  if (others.length === 0) return `No ratio line: no peer ran beside ${subject}.`;
  const parts = others.map((s) => `${s.contender} ×${(own.hostsPerS / s.hostsPerS).toFixed(2)}`);
  return `${subject} hosts/s ÷ peer hosts/s: ${parts.join(', ')}`;
}
