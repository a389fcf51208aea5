// Timing accuracy: against a target that holds every answer back delayMs after the request
// head, a client's "request written → first byte" wait should read delayMs plus loopback and
// scheduling noise. Reports (measured wait − delayMs) for the engine at low load and under
// load, for curl at low load as the yardstick, and for curl and the bare node:net reference
// under the same load, so the engine's loaded figure can be told apart from the load's.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import {
  type ChildSet,
  describeTarget,
  measure,
  processCpuSeconds,
  readNumbers,
  type TargetServer,
} from '../shared/bench-processes.js';
import { median, percentile } from '../shared/bench-report.js';
import { curlParallelCap, tallyResultLine } from '../shared/contenders.js';
import { hostUrls, writeCurlConfigs, writeUrlList } from '../shared/url-lists.js';

interface Load {
  readonly label: 'low' | 'loaded';
  readonly hosts: number;
  readonly concurrency: number;
}
export const lowLoad: Load = { label: 'low', hosts: 50, concurrency: 1 };
export const loaded: Load = { label: 'loaded', hosts: 5000, concurrency: 500 };

export interface AccuracyContext {
  children: ChildSet;
  root: string;
  stateDir: string;
  logsDir: string;
  python: string;
  wrapper: string;
  engineScript: string;
  target: TargetServer;
  runMaxS: number;
  curlChunk: number;
}

interface AccuracyRow {
  client: string;
  load: string;
  expected: number;
  /** Measured wait minus the server delay, in ms. */
  excessMs: number[];
  wallS: number;
  /** Target-server CPU time ÷ wall: near 100 means the target, not the client, was late. */
  targetCpuPct: number | undefined;
  notes: string[];
}

interface Sampled {
  excessMs: number[];
  ok: number;
  notes: string[];
}

async function measureRow(
  ctx: AccuracyContext,
  client: string,
  load: Load,
  loadText: string,
  commands: (prefix: string, urlsFile: string, curlConfigs: string[]) => string[][],
  sample: (prefix: string) => Promise<Sampled>,
): Promise<AccuracyRow> {
  const urlsFile = path.join(ctx.stateDir, `accuracy-urls-${load.hosts}.txt`);
  const urls = hostUrls(load.hosts, ctx.target.port);
  await writeUrlList(urlsFile, urls);
  const curlConfigs = await writeCurlConfigs(
    ctx.stateDir,
    `accuracy-curl-${load.hosts}`,
    urls,
    ctx.curlChunk,
  );
  const prefix = path.join(ctx.logsDir, `accuracy.${client}.${load.label}`);
  const before = processCpuSeconds(ctx.target.pid);
  const cost = await measure(ctx.children, ctx.python, ctx.wrapper, {
    commands: commands(prefix, urlsFile, curlConfigs),
    cwd: ctx.root,
    stdoutFile: `${prefix}.stdout`,
    stderrFile: `${prefix}.stderr`,
    specFile: `${prefix}.spec`,
    timeoutS: ctx.runMaxS,
  });
  const after = processCpuSeconds(ctx.target.pid);
  const sampled = await sample(prefix);
  const notes = [`ok=${sampled.ok}/${load.hosts}`, ...sampled.notes];
  if (cost.rc !== 0) notes.push(`exit code ${cost.rc}`);
  if (cost.timed_out) notes.push('**hit the run timeout**');
  return {
    client,
    load: loadText,
    expected: load.hosts,
    excessMs: sampled.excessMs,
    wallS: cost.wall_s,
    targetCpuPct:
      before === undefined || after === undefined
        ? undefined
        : (100 * (after - before)) / cost.wall_s,
    notes,
  };
}

type WaitsCommand = (urlsFile: string, concurrency: number, waitsFile: string) => string[];

/** A script with the RESULT-line contract that also writes one wait (ms) per ok target. */
function waitsFileRow(ctx: AccuracyContext, client: string, load: Load, command: WaitsCommand) {
  return measureRow(
    ctx,
    client,
    load,
    `${load.hosts} hosts, C=${load.concurrency}`,
    (prefix, urlsFile) => [command(urlsFile, load.concurrency, `${prefix}.waits`)],
    async (prefix) => {
      const tally = await tallyResultLine(`${prefix}.stdout`);
      const waits = await readNumbers(`${prefix}.waits`);
      const notes: string[] = [];
      if (tally.errors !== '-') notes.push(`errors: ${tally.errors}`);
      if (waits.length !== tally.ok) notes.push(`**${waits.length} waits for ${tally.ok} ok**`);
      return { excessMs: waits.map((w) => w - ctx.target.delayMs), ok: tally.ok, notes };
    },
  );
}

/** curl's own phase clock: wait = time_starttransfer − time_pretransfer. */
function curlRow(ctx: AccuracyContext, load: Load) {
  const parallel = load.concurrency > 1;
  const loadText = parallel
    ? `${load.hosts} hosts, C=${Math.min(load.concurrency, curlParallelCap)}, ${ctx.curlChunk}-URL chunks`
    : `${load.hosts} hosts, sequential`;
  return measureRow(
    ctx,
    'curl',
    load,
    loadText,
    (_prefix, _urlsFile, configs) =>
      configs.map((config) => [
        'curl',
        '--silent',
        '--no-progress-meter',
        '--max-time',
        '10',
        // Without --parallel, curl runs the -K list one transfer at a time.
        ...(parallel ? ['--parallel', '--parallel-max', String(load.concurrency)] : []),
        '-K',
        config,
        '-w',
        '%{http_code} %{time_pretransfer} %{time_starttransfer}\\n',
      ]),
    async (prefix) => {
      const text = await readFile(`${prefix}.stdout`, 'utf8').catch(() => '');
      const excessMs: number[] = [];
      for (const line of text.split('\n')) {
        const [code, pretransfer, starttransfer] = line.trim().split(' ');
        if (code !== '200') continue;
        excessMs.push((Number(starttransfer) - Number(pretransfer)) * 1000 - ctx.target.delayMs);
      }
      return { excessMs, ok: excessMs.length, notes: [] };
    },
  );
}

function ms(value: number): string {
  return Number.isFinite(value) ? value.toFixed(2) : '-';
}

/** Runs the accuracy cases one after another and returns the markdown section. */
export async function runTimingAccuracy(
  ctx: AccuracyContext,
  log: (line: string) => void,
): Promise<string> {
  const rows: AccuracyRow[] = [];
  const skipped: string[] = [];
  const engine = existsSync(ctx.engineScript);
  if (!engine) skipped.push(`skipped: headprobe-engine accuracy: ${ctx.engineScript} not found`);
  const nodeRef: WaitsCommand = (urls, concurrency, waits) => [
    process.execPath,
    path.join(ctx.root, 'bench/peers/node_net_ref.mjs'),
    urls,
    String(concurrency),
    '--waits',
    waits,
  ];
  const cases: [string, Load, () => Promise<AccuracyRow>][] = [
    ['curl', lowLoad, () => curlRow(ctx, lowLoad)],
    ['curl (context)', loaded, () => curlRow(ctx, loaded)],
    ['node-net-ref (context)', loaded, () => waitsFileRow(ctx, 'node-net-ref', loaded, nodeRef)],
  ];
  if (engine) {
    const script: WaitsCommand = (urls, concurrency, waits) => [
      process.execPath,
      ctx.engineScript,
      '--urls',
      urls,
      '--concurrency',
      String(concurrency),
      '--waits',
      waits,
    ];
    cases.unshift(
      ['headprobe-engine', lowLoad, () => waitsFileRow(ctx, 'headprobe-engine', lowLoad, script)],
      ['headprobe-engine', loaded, () => waitsFileRow(ctx, 'headprobe-engine', loaded, script)],
    );
  }
  for (const [name, load, run] of cases) {
    log(`accuracy: ${name}, ${load.hosts} hosts at C=${load.concurrency}`);
    rows.push(await run());
  }

  const d = ctx.target.delayMs;
  const lines = [
    `### Timing accuracy: wait (request written → first byte) − ${d} ms server delay`,
    '',
    '| client | load | samples | median ms | p99 ms | min ms | max ms | wall s | target CPU % | notes |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|---|',
    ...rows.map(
      (r) =>
        `| ${r.client} | ${r.load} | ${r.excessMs.length}/${r.expected} | ${ms(median(r.excessMs))} | ` +
        `${ms(percentile(r.excessMs, 99))} | ${ms(Math.min(...r.excessMs))} | ` +
        `${ms(Math.max(...r.excessMs))} | ${r.wallS.toFixed(2)} | ` +
        `${r.targetCpuPct?.toFixed(0) ?? '-'} | ${r.notes.join('; ')} |`,
    ),
    '',
    ...skipped,
    `${describeTarget(ctx.target)}.`,
    'The target answers no earlier than the delay after it read the request head, so a',
    'negative value means the client stamped "written" late (after write() returned). Positive',
    'values add loopback, the target’s timer lateness and the client’s own event-loop lag;',
    'curl at low load shows the floor. Under load (ideal wall ' +
      `${((loaded.hosts / loaded.concurrency) * d) / 1000} s) client and target are CPU-bound;`,
    'the curl and node-net-ref rows show how much of the loaded lag the load itself causes.',
  ];
  return lines.join('\n');
}
