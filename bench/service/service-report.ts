// Turns the service benchmark's runs into markdown: the throughput table beside the engine and
// the peers with its ratio lines, the scenario table, timing accuracy, API overhead, the names
// scenario, and the project's targets marked met or missed.

import { median, percentile, type RunRecord } from '../shared/bench-report.js';
import type { ContenderName } from '../shared/contenders.js';
import { curlParallelCap } from '../shared/contenders.js';
import type { EngineWaits } from '../shared/peer-runs.js';
import type { DnsWindow } from './dns-server-process.js';
import type { ApiRun } from './service-api.js';
import {
  type NamesLoad,
  type NamesPeerRun,
  type NamesServiceRun,
  nameLoads,
  namesLoads,
  namesWarmup,
} from './service-names.js';
import type { ServiceBenchOptions } from './service-options.js';
import { delayedTargetMs, type ServiceRun } from './service-scenarios.js';

const thousands = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
const serviceRow = 'headprobe-service';

function fixed(value: number | undefined, digits = 2): string {
  return value === undefined || !Number.isFinite(value) ? '-' : value.toFixed(digits);
}

function medianOf(values: readonly (number | undefined)[]): number | undefined {
  const known = values.filter((v): v is number => v !== undefined);
  return known.length === 0 ? undefined : median(known);
}

function wallCell(walls: readonly number[]): string {
  return `${median(walls).toFixed(2)} [${Math.min(...walls).toFixed(2)}–${Math.max(...walls).toFixed(2)}]`;
}

/** Hosts per second as the engine bench computes it: median ok ÷ median wall. */
function rate(oks: readonly number[], walls: readonly number[]): number {
  return median(oks) / median(walls);
}

export interface ThroughputFigures {
  markdown: string;
  serviceHostsPerS: number | undefined;
  engineHostsPerS: number | undefined;
  engineInprocHostsPerS: number | undefined;
  peerHostsPerS: Map<ContenderName, number>;
}

/** As in the engine bench: a quiet machine shows ~0.1 s; a quarter core beyond is someone else. */
function disturbedNote(
  runs: readonly { rep: number; wallS: number; otherCpuS: number | undefined }[],
): string[] {
  const disturbed = runs.filter((r) => (r.otherCpuS ?? 0) > Math.max(0.3, 0.25 * r.wallS));
  if (disturbed.length === 0) return [];
  return [
    `disturbed (other CPU): ${disturbed.map((r) => `rep ${r.rep} ${fixed(r.otherCpuS)} s`).join(', ')}`,
  ];
}

function serviceNotes(runs: readonly ServiceRun[], expected: number, withErrors = true): string[] {
  const notes: string[] = [...disturbedNote(runs)];
  const oks = runs.map((r) => r.ok);
  if (Math.min(...oks) < expected) notes.push(`**FEWER THAN N: per-run ok=[${oks.join(', ')}]**`);
  const problems = [...new Set(runs.flatMap((r) => r.problems))];
  if (problems.length) notes.push(`**${problems.join('; ')}**`);
  const errors = [...new Set(runs.map((r) => r.errors).filter((e) => e !== '-'))];
  if (withErrors && errors.length) notes.push(`errors: ${errors.join('; ')}`);
  if (runs.some((r) => !r.peakRssReset)) notes.push('peak RSS not reset (clear_refs refused)');
  return notes;
}

export function renderThroughput(
  options: ServiceBenchOptions,
  service: readonly ServiceRun[],
  peers: readonly RunRecord[],
  order: readonly ContenderName[],
): ThroughputFigures {
  const lines = [
    '| contender | N ok | wall s [min–max] | hosts/s | CPU s | peak RSS MB | target CPU % | other CPU s | notes |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---|',
  ];
  let serviceHostsPerS: number | undefined;
  if (service.length > 0) {
    const walls = service.map((r) => r.wallS);
    const oks = service.map((r) => r.ok);
    serviceHostsPerS = rate(oks, walls);
    const targetPct = medianOf(
      service.map((r) => (r.targetCpuS === undefined ? undefined : (100 * r.targetCpuS) / r.wallS)),
    );
    const notes = [
      'submit → last NDJSON line; CPU and RSS of the service process',
      `this client ${fixed(medianOf(service.map((r) => r.clientCpuS)))} CPU s`,
      ...serviceNotes(service, options.n),
    ];
    lines.push(
      `| ${serviceRow} | ${median(oks).toFixed(0)} | ${wallCell(walls)} | ` +
        `**${thousands.format(serviceHostsPerS)}** | ${fixed(medianOf(service.map((r) => r.serviceCpuS)))} | ` +
        `${fixed(medianOf(service.map((r) => (r.peakRssKb ?? Number.NaN) / 1024)), 0)} | ` +
        `${fixed(targetPct, 0)} | ${fixed(medianOf(service.map((r) => r.otherCpuS)))} | ${notes.join('; ')} |`,
    );
  }
  const peerHostsPerS = new Map<ContenderName, number>();
  let engineInprocHostsPerS: number | undefined;
  for (const name of order) {
    const runs = peers.filter((r) => r.contender === name);
    if (runs.length === 0) continue;
    const walls = runs.map((r) => r.wallS);
    const oks = runs.map((r) => r.ok);
    const hostsPerS = rate(oks, walls);
    peerHostsPerS.set(name, hostsPerS);
    const notes: string[] = ['process wall, start-up included'];
    const inproc = medianOf(runs.map((r) => r.inprocS));
    if (name === 'headprobe-engine' && inproc !== undefined) {
      engineInprocHostsPerS = median(oks) / inproc;
      notes.push(
        `in-proc ${inproc.toFixed(2)} s = ${thousands.format(engineInprocHostsPerS)} hosts/s`,
      );
    }
    if (name === 'curl-chunked') {
      notes.push(`${options.curlChunk}-URL chunks`);
      if (options.c > curlParallelCap) notes.push(`runs at ${curlParallelCap}, not C=${options.c}`);
    }
    if (Math.min(...oks) < options.n) {
      notes.unshift(`**FEWER THAN N: per-run ok=[${oks.join(', ')}]**`);
    }
    if (runs.some((r) => r.rc !== 0)) notes.push(`exit codes [${runs.map((r) => r.rc)}]`);
    if (runs.some((r) => r.timedOut)) notes.push('**hit the run timeout**');
    notes.push(...disturbedNote(runs));
    const errors = [...new Set(runs.map((r) => r.errors).filter((e) => e !== '-'))];
    if (errors.length) notes.push(`errors: ${errors.join('; ')}`);
    const targetPct = medianOf(
      runs.map((r) => (r.targetCpuS === undefined ? undefined : (100 * r.targetCpuS) / r.wallS)),
    );
    lines.push(
      `| ${name} | ${median(oks).toFixed(0)} | ${wallCell(walls)} | ${thousands.format(hostsPerS)} | ` +
        `${fixed(median(runs.map((r) => r.userS + r.sysS)))} | ` +
        `${fixed(median(runs.map((r) => r.maxrssKb / 1024)), 0)} | ${fixed(targetPct, 0)} | ` +
        `${fixed(medianOf(runs.map((r) => r.otherCpuS)))} | ${notes.join('; ')} |`,
    );
  }

  const ratios: string[] = [];
  const engine = peerHostsPerS.get('headprobe-engine');
  if (serviceHostsPerS !== undefined) {
    if (engine !== undefined) {
      ratios.push(
        `service ÷ engine: ×${(serviceHostsPerS / engine).toFixed(2)} against the engine's ` +
          'process wall' +
          (engineInprocHostsPerS === undefined
            ? ''
            : `, ×${(serviceHostsPerS / engineInprocHostsPerS).toFixed(2)} against its ` +
              'in-process time (start-up excluded, as the service’s wall excludes it)') +
          ' (target ≥ 0.90).',
      );
    }
    const others = [...peerHostsPerS].filter(([name]) => name !== 'headprobe-engine');
    if (others.length > 0) {
      ratios.push(
        `service ÷ peer: ${others
          .map(([name, hostsPerS]) => `${name} ×${(serviceHostsPerS! / hostsPerS).toFixed(2)}`)
          .join(', ')} (above 1: the service is faster).`,
      );
    }
  }
  const markdown = [
    `### 1. Throughput: N=${options.n}, C=${options.c}, fast target, median of ${options.reps} runs`,
    '',
    ...lines,
    '',
    ...ratios,
  ].join('\n');
  return {
    markdown,
    serviceHostsPerS,
    engineHostsPerS: engine,
    engineInprocHostsPerS,
    peerHostsPerS,
  };
}

interface ScenarioLine {
  label: string;
  what: string;
  shape: string;
  concurrency: number;
  runs: readonly ServiceRun[];
  extraNotes?: string[];
}

export function renderScenarios(scenarios: readonly ScenarioLine[]): string {
  const lines = [
    '| scenario | jobs × targets | C | N ok | wall s [min–max] | hosts/s | first line s | service CPU s | peak RSS MB | client CPU s | target CPU % | other CPU s | notes |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|',
  ];
  for (const s of scenarios) {
    if (s.runs.length === 0) continue;
    const walls = s.runs.map((r) => r.wallS);
    const oks = s.runs.map((r) => r.ok);
    const expected = s.runs[0]?.expected ?? 0;
    const targetPct = medianOf(
      s.runs.map((r) => (r.targetCpuS === undefined ? undefined : (100 * r.targetCpuS) / r.wallS)),
    );
    const notes = [s.what, ...(s.extraNotes ?? []), ...serviceNotes(s.runs, expected)];
    lines.push(
      `| ${s.label} | ${s.shape} | ${s.concurrency} | ${median(oks).toFixed(0)} | ${wallCell(walls)} | ` +
        `${thousands.format(rate(oks, walls))} | ${fixed(medianOf(s.runs.map((r) => r.firstLineS)))} | ` +
        `${fixed(medianOf(s.runs.map((r) => r.serviceCpuS)))} | ` +
        `${fixed(medianOf(s.runs.map((r) => (r.peakRssKb ?? Number.NaN) / 1024)), 0)} | ` +
        `${fixed(medianOf(s.runs.map((r) => r.clientCpuS)))} | ${fixed(targetPct, 0)} | ` +
        `${fixed(medianOf(s.runs.map((r) => r.otherCpuS)))} | ${notes.join('; ')} |`,
    );
  }
  return lines.join('\n');
}

export interface AccuracyLine {
  client: string;
  load: string;
  expected: number;
  waits: readonly number[];
  notes: string[];
}

export function accuracyStats(waits: readonly number[]): { median: number; p99: number } {
  const excess = waits.map((w) => w - delayedTargetMs);
  return { median: median(excess), p99: percentile(excess, 99) };
}

export function renderAccuracy(rows: readonly AccuracyLine[]): string {
  const lines = [
    `| client | load | samples | median ms | p99 ms | min ms | max ms | notes |`,
    '|---|---|---:|---:|---:|---:|---:|---|',
  ];
  for (const row of rows) {
    const excess = row.waits.map((w) => w - delayedTargetMs);
    const { median: mid, p99 } = accuracyStats(row.waits);
    lines.push(
      `| ${row.client} | ${row.load} | ${excess.length}/${row.expected} | ${fixed(mid)} | ` +
        `${fixed(p99)} | ${fixed(excess.length ? Math.min(...excess) : undefined)} | ` +
        `${fixed(excess.length ? Math.max(...excess) : undefined)} | ${row.notes.join('; ')} |`,
    );
  }
  return lines.join('\n');
}

export function accuracyRowsFromEngine(
  label: string,
  load: string,
  runs: readonly EngineWaits[],
): AccuracyLine {
  const errors = [...new Set(runs.map((r) => r.errors).filter((e) => e !== '-'))];
  return {
    client: label,
    load,
    expected: runs.reduce((sum, r) => sum + r.expected, 0),
    waits: runs.flatMap((r) => r.waits),
    notes: [
      `${runs.length} runs pooled`,
      `wall ${fixed(medianOf(runs.map((r) => r.wallS)))} s`,
      ...(errors.length ? [`errors: ${errors.join('; ')}`] : []),
    ],
  };
}

export function renderApi(runs: readonly ApiRun[], durationS: number): string {
  const lines = [
    '| endpoint | connections | requests/s [min–max] | p50 ms | p99 ms | mean ms | service CPU s | non-2xx | errors |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const endpoint of [...new Set(runs.map((r) => r.endpoint))]) {
    const mine = runs.filter((r) => r.endpoint === endpoint);
    const rates = mine.map((r) => r.reqPerS);
    lines.push(
      `| \`${endpoint}\` | ${mine[0]?.connections} | ${thousands.format(median(rates))} ` +
        `[${thousands.format(Math.min(...rates))}–${thousands.format(Math.max(...rates))}] | ` +
        `${fixed(median(mine.map((r) => r.p50Ms)), 1)} | ${fixed(median(mine.map((r) => r.p99Ms)), 1)} | ` +
        `${fixed(median(mine.map((r) => r.meanMs)))} | ${fixed(medianOf(mine.map((r) => r.serviceCpuS)))} | ` +
        `${mine.map((r) => r.non2xx).join('/')} | ${mine.map((r) => r.errors).join('/')} |`,
    );
  }
  lines.push(
    '',
    `autocannon, ${durationS} s per run after a 1 s warm-up, median of the runs; non-2xx and ` +
      'errors list each run. Autocannon shares the two cores with the service.',
  );
  return lines.join('\n');
}

export interface TargetFigures {
  throughput: ThroughputFigures | undefined;
  loadedWaits: readonly number[] | undefined;
  bigRuns: readonly ServiceRun[];
  bigN: number;
  concurrency: number;
}

function verdict(met: boolean): string {
  return met ? 'met' : '**missed**';
}

export function renderTargets(figures: TargetFigures): string {
  const lines: string[] = [];
  const t = figures.throughput;
  if (t?.serviceHostsPerS !== undefined && t.engineHostsPerS !== undefined) {
    const ratio = t.serviceHostsPerS / t.engineHostsPerS;
    const inproc =
      t.engineInprocHostsPerS === undefined
        ? ''
        : ` (×${(t.serviceHostsPerS / t.engineInprocHostsPerS).toFixed(2)} against its in-process time)`;
    lines.push(
      `- service ≥ 0.90 × engine hosts/s: ×${ratio.toFixed(2)}${inproc} — ${verdict(ratio >= 0.9)}`,
    );
  }
  if (t?.serviceHostsPerS !== undefined) {
    const others = [...t.peerHostsPerS].filter(([name]) => name !== 'headprobe-engine');
    if (others.length > 0) {
      const behind = others.filter(([, hostsPerS]) => t.serviceHostsPerS! <= hostsPerS);
      lines.push(
        `- service ahead of every peer: ${verdict(behind.length === 0)}` +
          (behind.length ? ` (behind ${behind.map(([name]) => name).join(', ')})` : ''),
      );
    }
  }
  if (figures.loadedWaits !== undefined && figures.loadedWaits.length > 0) {
    const { median: mid, p99 } = accuracyStats(figures.loadedWaits);
    lines.push(
      `- wait error with ${figures.concurrency} in flight: median ${fixed(mid)} ms (< 2: ${verdict(mid < 2)}), ` +
        `p99 ${fixed(p99)} ms (< 10: ${verdict(p99 < 10)})`,
    );
  }
  if (figures.bigRuns.length > 0) {
    const peakMb = medianOf(figures.bigRuns.map((r) => (r.peakRssKb ?? Number.NaN) / 1024));
    const scale = figures.bigN === 100_000 ? '' : ` (N=${figures.bigN}, not 100,000)`;
    lines.push(
      `- ${thousands.format(figures.bigN)}-target job < 400 MB peak RSS: ${fixed(peakMb, 0)} MB — ` +
        `${verdict(peakMb !== undefined && peakMb < 400)}${scale}`,
    );
  }
  return lines.length ? ['### Targets', '', ...lines].join('\n') : '';
}

const loadText: Record<NamesLoad, (options: ServiceBenchOptions) => string> = {
  ip: () => 'IP literals',
  distinct: () => 'distinct names',
  spread: (options) => `${options.namesSpread} names`,
};

/** `code a/b/c` per key, one count per run (0 where a run had none). */
function perRunCounts(runs: readonly Record<string, number>[]): string {
  const keys = [...new Set(runs.flatMap((r) => Object.keys(r)))].sort();
  if (keys.length === 0) return '-';
  return keys.map((key) => `${key} ${runs.map((r) => r[key] ?? 0).join('/')}`).join('; ');
}

/** A peer's `code:count,...` errors string as a record. */
function peerErrors(record: RunRecord): Record<string, number> {
  if (record.errors === '-') return {};
  return Object.fromEntries(
    record.errors.split(',').map((entry) => {
      const at = entry.lastIndexOf(':');
      return [entry.slice(0, at), Number(entry.slice(at + 1))];
    }),
  );
}

function queriesCell(windows: readonly DnsWindow[]): string {
  const types = [...new Set(windows.flatMap((w) => Object.keys(w.byType)))].sort();
  const byType = types.map(
    (type) => `${type} ${thousands.format(median(windows.map((w) => w.byType[type] ?? 0)))}`,
  );
  return (
    thousands.format(median(windows.map((w) => w.queries))) +
    (byType.length ? ` (${byType.join(', ')})` : '')
  );
}

function lostNote(windows: readonly DnsWindow[]): string[] {
  const lost = windows.map((w) => w.lost);
  const notes: string[] = [];
  if (lost.some((l) => l === undefined)) notes.push('DNS drops unknown (/proc/net/snmp unread)');
  if (lost.some((l) => (l ?? 0) > 0)) notes.push(`**DNS queries unanswered: ${lost.join('/')}**`);
  if (windows.some((w) => w.early > 0)) notes.push('**DNS answers sent early (ring full)**');
  return notes;
}

/** Queries per name of the spread load: names asked of the K, and min–max (median) each. */
function perNameText(windows: readonly DnsWindow[], spread: number): string {
  const stats = windows.flatMap((w) => {
    const counts = Object.values(w.byName ?? {});
    return counts.length === 0
      ? []
      : [
          {
            names: counts.length,
            min: Math.min(...counts),
            max: Math.max(...counts),
            mid: median(counts),
          },
        ];
  });
  if (stats.length === 0) return 'no name asked';
  const mid = (pick: (s: (typeof stats)[number]) => number) => fixed(median(stats.map(pick)), 0);
  return (
    `${mid((s) => s.names)}/${spread} names, ${mid((s) => s.min)}–${mid((s) => s.max)} ` +
    `queries each (median ${mid((s) => s.mid)})`
  );
}

function namelookupCell(runs: readonly NamesServiceRun[]): string {
  const mid = medianOf(runs.map((r) => r.namelookup.medianMs));
  const p99 = medianOf(runs.map((r) => r.namelookup.p99Ms));
  return `${fixed(mid, 1)} / ${fixed(p99, 1)}`;
}

/** Distinct zone names asked in a run and the most queries one got; other names apart. */
function askedCell(dns: DnsWindow): string {
  if (dns.namesAsked === 0 && dns.otherNames === 0) return '-';
  return (
    `${thousands.format(dns.namesAsked)} (${dns.maxPerName})` +
    (dns.otherNames === 0 ? '' : `, other ${dns.otherNames}`)
  );
}

/** A ratio to two decimals, or two significant digits below 0.1 (×0.0049, not ×0.00). */
function times(ratio: number): string {
  return `×${ratio >= 0.1 ? ratio.toFixed(2) : ratio.toPrecision(2)}`;
}

export function renderNames(
  options: ServiceBenchOptions,
  service: readonly NamesServiceRun[],
  peers: readonly NamesPeerRun[],
  order: readonly ContenderName[],
  dnsServerLine: string,
): string {
  const lines = [
    '| contender | load | N ok | wall s [min–max] | hosts/s | CPU s | DNS queries | DNS server CPU s | namelookup median / p99 ms | dns.source (per run) | errors (per run) | notes |',
    '|---|---|---:|---:|---:|---:|---|---:|---:|---|---|---|',
  ];
  const serviceRate = new Map<NamesLoad, number>();
  const peerRate = new Map<string, number>();
  for (const load of namesLoads) {
    const mine = service.filter((r) => r.load === load);
    if (mine.length === 0) continue;
    const runs = mine.map((r) => r.run);
    const walls = runs.map((r) => r.wallS);
    const oks = runs.map((r) => r.ok);
    const hostsPerS = rate(oks, walls);
    serviceRate.set(load, hostsPerS);
    const notes = [
      `this client ${fixed(medianOf(runs.map((r) => r.clientCpuS)))} CPU s`,
      ...serviceNotes(runs, options.n, false),
      ...lostNote(mine.map((r) => r.dns)),
    ];
    lines.push(
      `| ${serviceRow} | ${loadText[load](options)} | ${median(oks).toFixed(0)} | ${wallCell(walls)} | ` +
        `**${thousands.format(hostsPerS)}** | ${fixed(medianOf(runs.map((r) => r.serviceCpuS)))} | ` +
        `${queriesCell(mine.map((r) => r.dns))} | ${fixed(medianOf(mine.map((r) => r.dns.cpuS)))} | ` +
        `${namelookupCell(mine)} | ${perRunCounts(mine.map((r) => r.sources))} | ` +
        `${perRunCounts(mine.map((r) => r.errorCodes))} | ${notes.join('; ')} |`,
    );
  }
  for (const name of order) {
    for (const load of nameLoads) {
      const mine = peers.filter((r) => r.record.contender === name && r.load === load);
      if (mine.length === 0) continue;
      const records = mine.map((r) => r.record);
      const walls = records.map((r) => r.wallS);
      const oks = records.map((r) => r.ok);
      const hostsPerS = rate(oks, walls);
      peerRate.set(`${name}/${load}`, hostsPerS);
      const notes: string[] = ['process wall, start-up included'];
      if (name === 'curl-chunked') {
        notes.push(`${options.curlChunk}-URL chunks, a DNS cache per chunk`);
        if (options.c > curlParallelCap)
          notes.push(`runs at ${curlParallelCap}, not C=${options.c}`);
      }
      if (Math.min(...oks) < options.n) {
        notes.unshift(`**FEWER THAN N: per-run ok=[${oks.join(', ')}]**`);
      }
      if (records.some((r) => r.timedOut)) notes.push('**hit the run timeout**');
      notes.push(...disturbedNote(records), ...lostNote(mine.map((r) => r.dns)));
      lines.push(
        `| ${name} | ${loadText[load](options)} | ${median(oks).toFixed(0)} | ${wallCell(walls)} | ` +
          `${thousands.format(hostsPerS)} | ${fixed(median(records.map((r) => r.userS + r.sysS)))} | ` +
          `${queriesCell(mine.map((r) => r.dns))} | ${fixed(medianOf(mine.map((r) => r.dns.cpuS)))} | ` +
          `- | - | ${perRunCounts(records.map(peerErrors))} | ${notes.join('; ')} |`,
      );
    }
  }

  const ratios: string[] = [];
  const ip = serviceRate.get('ip');
  if (ip !== undefined) {
    const parts = nameLoads.flatMap((load) => {
      const r = serviceRate.get(load);
      return r === undefined ? [] : [`${loadText[load](options)} ${times(r / ip)}`];
    });
    if (parts.length)
      ratios.push(`service on names ÷ service on IP literals: ${parts.join(', ')}.`);
  }
  for (const load of nameLoads) {
    const own = serviceRate.get(load);
    const parts = order.flatMap((name) => {
      const theirs = peerRate.get(`${name}/${load}`);
      return own === undefined || theirs === undefined ? [] : [`${name} ${times(own / theirs)}`];
    });
    if (parts.length) {
      ratios.push(
        `service ÷ peer, ${loadText[load](options)}: ${parts.join(', ')} (above 1: the service is faster).`,
      );
    }
  }
  const spreadWindows = [
    { name: serviceRow, runs: service.filter((r) => r.load === 'spread') },
    ...order.map((name) => ({
      name,
      runs: peers.filter((r) => r.record.contender === name && r.load === 'spread'),
    })),
  ].filter((client) => client.runs.length > 0);
  const perName = spreadWindows.map(
    ({ name, runs }) =>
      `${name} ${perNameText(
        runs.map((r) => r.dns),
        options.namesSpread,
      )}`,
  );

  const perRun = [
    '| contender | load | rep | N ok | wall s | hosts/s | DNS queries | names asked (max queries each) | lost | DNS server CPU s | namelookup median / p99 ms | dns.source | errors |',
    '|---|---|---:|---:|---:|---:|---|---:|---:|---:|---:|---|---|',
  ];
  for (const r of [...service].sort((a, b) => a.rep - b.rep)) {
    perRun.push(
      `| ${serviceRow} | ${loadText[r.load](options)} | ${r.rep} | ${r.run.ok} | ${fixed(r.run.wallS)} | ` +
        `${thousands.format(r.run.ok / r.run.wallS)} | ${queriesCell([r.dns])} | ${askedCell(r.dns)} | ` +
        `${r.dns.lost ?? '-'} | ${fixed(r.dns.cpuS)} | ${fixed(r.namelookup.medianMs, 1)} / ` +
        `${fixed(r.namelookup.p99Ms, 1)} | ${perRunCounts([r.sources])} | ${perRunCounts([r.errorCodes])} |`,
    );
  }
  for (const r of [...peers].sort((a, b) => a.rep - b.rep)) {
    perRun.push(
      `| ${r.record.contender} | ${loadText[r.load](options)} | ${r.rep} | ${r.record.ok} | ` +
        `${fixed(r.record.wallS)} | ${thousands.format(r.record.ok / r.record.wallS)} | ` +
        `${queriesCell([r.dns])} | ${askedCell(r.dns)} | ${r.dns.lost ?? '-'} | ${fixed(r.dns.cpuS)} | ` +
        `- | - | ${perRunCounts([peerErrors(r.record)])} |`,
    );
  }

  const warmup = namesWarmup(options.warmup, options.n);
  return [
    `### 7. Names: N=${options.n}, C=${options.c}, the system resolver against a DNS server ` +
      `answering after ${options.dnsDelayMs} ms, median of ${options.namesReps} runs`,
    '',
    ...lines,
    '',
    ...ratios,
    ...(perName.length
      ? ['', `Queries per name, ${options.namesSpread}-name load: ${perName.join('; ')}.`]
      : []),
    '',
    `${dnsServerLine}; A for hN/wN.example (TTL 300), AAAA NODATA and unknown names NXDOMAIN ` +
      '(SOA minimum 300). Loads: IP literals = scenario 1’s job (127.0.A.B); distinct names = ' +
      `hN.example:PORT, N < ${options.n}; ${options.namesSpread} names = ` +
      `http://wK.example:PORT/pathN, K = N mod ${options.namesSpread}. The service runs with ` +
      `its default DNS settings, a fresh process per load, warmed up (outside the DNS window) ` +
      `with a job of ${warmup.ip} IP literals and ${warmup.names} names no load asks for ` +
      `(hN.example, N ≥ ${options.n}). namelookup = \`timing.namelookup\` of ` +
      'the results that have one; DNS server CPU s = its CPU during the run; lost = queries ' +
      'the namespace dropped or the server failed to send.',
    '',
    'Every run:',
    '',
    ...perRun,
  ].join('\n');
}
