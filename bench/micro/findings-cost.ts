import { mkdir } from 'node:fs/promises';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { analyseHead } from '../../src/findings/index.js';
import { addHeadAnalysis } from '../../src/probe/head-analysis.js';
import { createDnsResolver, probeTarget } from '../../src/probe/index.js';
import { ProbeOptions } from '../../src/schemas/probe-options.js';
import type { ProbeResult } from '../../src/schemas/probe-result.js';
import {
  builtBenchScript,
  findRoot,
  log,
  machineLine,
  publishReport,
  runBench,
} from '../shared/bench-env.js';
import { startTargetServer, superviseChildren } from '../shared/bench-processes.js';
import { median } from '../shared/bench-report.js';
import { tallyResultLine } from '../shared/contenders.js';
import { type MeasuredRunRecord, measuredRunContext, measureRun } from '../shared/measured-run.js';
import { requireBuilt, requireOpenFiles } from '../shared/run-options.js';
import { hostUrls, writeUrlList } from '../shared/url-lists.js';
import { type FindingsCostOptions, parseFindingsCostOptions } from './findings-cost-options.js';
import { httpsResult, plainHttpResult } from './typical-results.js';

const resultsPerRound = 10_000;
const findingsOn = ProbeOptions.parse({ findings: true });
const findingsOff = ProbeOptions.parse({ findings: false });
const thousands = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

/** Keeps the measured calls' outputs alive, so none of them is optimised away. */
let sink = 0;

/** CPU ms (user + sys of this process) that `run` takes. */
function cpuMs(run: () => void): number {
  const before = process.cpuUsage();
  run();
  const spent = process.cpuUsage(before);
  return (spent.user + spent.system) / 1000;
}

function bytesOf(result: ProbeResult): number {
  return Buffer.byteLength(JSON.stringify(result));
}

function mean(values: readonly number[]): number {
  return values.reduce((sum, value) => sum + value, 0) / values.length;
}

/** `median [min–max]` of CPU ms per 10,000 results. */
function spread(samples: readonly number[]): string {
  return `${median(samples).toFixed(1)} [${Math.min(...samples).toFixed(1)}–${Math.max(...samples).toFixed(1)}]`;
}

function analysedCopy(result: ProbeResult, findings: boolean): ProbeResult {
  return addHeadAnalysis(structuredClone(result), findings ? findingsOn : findingsOff);
}

function runMicro(rounds: number): string {
  const kinds: Array<[string, (i: number) => ProbeResult]> = [
    ['plain http, CDN, 17 headers', plainHttpResult],
    ['https, TLS facts, CSP, 3 cookies, 17 headers', httpsResult],
  ];
  const rows: string[] = [];
  const byteRows: string[] = [];
  for (const [kind, build] of kinds) {
    const inputs = Array.from({ length: resultsPerRound }, (_, i) => build(i));
    const withFindings = inputs.map((result) => analysedCopy(result, true));
    const without = inputs.map((result) => analysedCopy(result, false));
    const variants: Array<[string, () => void]> = [
      [
        'analyseHead',
        () => {
          for (const result of inputs) {
            sink += analyseHead(result, { certificateExpiryDays: 30 }).findings.length;
          }
        },
      ],
      [
        'addHeadAnalysis, findings on',
        () => {
          for (const result of inputs) sink += addHeadAnalysis(result, findingsOn).findings.length;
        },
      ],
      [
        'addHeadAnalysis, findings off',
        () => {
          for (const result of inputs) sink += addHeadAnalysis(result, findingsOff).headers.length;
        },
      ],
      [
        'JSON.stringify, findings on',
        () => {
          for (const result of withFindings) sink += JSON.stringify(result).length;
        },
      ],
      [
        'JSON.stringify, findings off',
        () => {
          for (const result of without) sink += JSON.stringify(result).length;
        },
      ],
    ];
    const samples = new Map<string, number[]>(variants.map(([name]) => [name, []]));
    for (const [, run] of variants) run(); // warm-up
    // Interleaved round by round, so drift on the shared cores hits every variant alike.
    for (let round = 0; round < rounds; round++) {
      for (const [name, run] of variants) samples.get(name)!.push(cpuMs(run));
    }
    const at = (name: string) => median(samples.get(name)!);
    for (const [name] of variants) {
      rows.push(
        `| ${kind} | ${name} | ${spread(samples.get(name)!)} | ` +
          `${((1000 * at(name)) / resultsPerRound).toFixed(2)} |`,
      );
    }
    const onOff = at('addHeadAnalysis, findings on') - at('addHeadAnalysis, findings off');
    const jsonOnOff = at('JSON.stringify, findings on') - at('JSON.stringify, findings off');
    rows.push(
      `| ${kind} | **findings on − off**: analysis + JSON | ` +
        `${(onOff + jsonOnOff).toFixed(1)} | ${((1000 * (onOff + jsonOnOff)) / resultsPerRound).toFixed(2)} |`,
    );
    const sample = withFindings[0]!;
    const on = mean(withFindings.map(bytesOf));
    const off = mean(without.map(bytesOf));
    byteRows.push(
      `| ${kind} | ${sample.findings.length} | ${sample.score ?? '–'} ${sample.grade ?? ''} | ` +
        `${sample.technologies.map((t) => t.name).join(', ') || '–'} | ${thousands.format(off)} | ` +
        `${thousands.format(on)} | ${(on / off).toFixed(2)} |`,
    );
  }
  return [
    `### In-process: CPU ms per ${thousands.format(resultsPerRound)} results, median of ${rounds} rounds [min–max]`,
    '',
    '| result | measured | CPU ms / 10,000 | µs / result |',
    '|---|---|---:|---:|',
    ...rows,
    '',
    'addHeadAnalysis is what the probe calls on every finished result (src/probe/head-analysis.ts):',
    'Alt-Svc always, analyseHead only with findings on. JSON.stringify is of the whole result.',
    '',
    'JSON bytes per result (mean over the 10,000; the findings of result 0):',
    '',
    '| result | findings | score grade | technologies | bytes, findings off | bytes, findings on | on ÷ off |',
    '|---|---:|---|---|---:|---:|---:|',
    ...byteRows,
  ].join('\n');
}

interface EngineRecord extends MeasuredRunRecord {
  readonly ok: number;
  readonly errors: string;
}

/** The mean JSON bytes of `count` results of the engine's own probes, findings on and off. */
async function loopbackBytes(urls: readonly string[]): Promise<{ on: number; off: number }> {
  const resolver = createDnsResolver();
  const sizes = { on: [] as number[], off: [] as number[] };
  for (const [key, options] of [
    ['on', findingsOn],
    ['off', findingsOff],
  ] as const) {
    const results = await Promise.all(urls.map((url) => probeTarget(url, options, { resolver })));
    for (const result of results) if (result.ok) sizes[key].push(bytesOf(result));
  }
  return { on: mean(sizes.on), off: mean(sizes.off) };
}

async function runEngine(options: FindingsCostOptions, root: string, resultsDir: string) {
  const stateDir = path.join(resultsDir, 'state');
  const logsDir = path.join(resultsDir, 'logs');
  await mkdir(stateDir, { recursive: true });
  await mkdir(logsDir, { recursive: true });
  const targetScript = builtBenchScript(root, 'shared/target-server.js');
  const engineScript = builtBenchScript(root, 'engine/run-engine.js');
  requireBuilt(targetScript, engineScript);
  requireOpenFiles(options.c);
  const { children, hardStop } = superviseChildren(options.benchMaxS, log);
  try {
    const target = await startTargetServer(children, targetScript, 0, options.benchMaxS + 30);
    log(`target server pid ${target.pid} on port ${target.port}`);
    const urls = hostUrls(options.n, target.port);
    const urlsFile = path.join(stateDir, 'urls.txt');
    await writeUrlList(urlsFile, urls);
    const ctx = measuredRunContext(children, root, logsDir, options);
    const records: EngineRecord[] = [];
    for (let rep = 1; rep <= options.reps; rep++) {
      // On first in odd reps, off first in even ones: neither always runs after a pause.
      const order = rep % 2 === 1 ? (['on', 'off'] as const) : (['off', 'on'] as const);
      for (const findings of order) {
        await sleep(options.settleS * 1000);
        const name = `findings ${findings}`;
        const command = [
          process.execPath,
          engineScript,
          '--urls',
          urlsFile,
          '--concurrency',
          String(options.c),
          '--findings',
          findings,
        ];
        const run = await measureRun(ctx, name, rep, [command], target.pid);
        const tally = await tallyResultLine(`${run.outPrefix}.stdout`);
        records.push({ ...run, ok: tally.ok, errors: tally.errors });
        log(
          `${name.padEnd(13)} rep ${rep}  rc=${run.rc} ok=${tally.ok} wall=${run.wallS.toFixed(2)}s ` +
            `cpu=${run.cpuS.toFixed(2)}s other_cpu=${run.otherCpuS?.toFixed(2) ?? '-'}s ` +
            `errors=${tally.errors}`,
        );
      }
    }
    const bytes = await loopbackBytes(urls.slice(0, 200));
    return renderEngine(options, records, bytes);
  } finally {
    await children.close();
    clearTimeout(hardStop);
  }
}

function renderEngine(
  options: FindingsCostOptions,
  records: readonly EngineRecord[],
  bytes: { on: number; off: number },
): string {
  const rows: string[] = [];
  const summary = new Map<string, { hostsPerS: number; cpuS: number }>();
  for (const name of ['findings on', 'findings off']) {
    const runs = records.filter((r) => r.name === name);
    const oks = runs.map((r) => r.ok);
    const walls = runs.map((r) => r.wallS);
    const cpus = runs.map((r) => r.cpuS);
    const hostsPerS = median(oks) / median(walls);
    summary.set(name, { hostsPerS, cpuS: median(cpus) });
    const notes: string[] = [];
    if (Math.min(...oks) < options.n) notes.push(`**FEWER THAN N: ok=[${oks.join(', ')}]**`);
    const errors = [...new Set(runs.map((r) => r.errors).filter((e) => e !== '-'))];
    if (errors.length > 0) notes.push(`errors: ${errors.join('; ')}`);
    const targetShare = runs.flatMap((r) =>
      r.targetCpuS === undefined ? [] : [(100 * r.targetCpuS) / r.wallS],
    );
    const other = runs.flatMap((r) => (r.otherCpuS === undefined ? [] : [r.otherCpuS]));
    rows.push(
      `| ${name} | ${median(oks).toFixed(0)} | ${median(walls).toFixed(2)} ` +
        `[${Math.min(...walls).toFixed(2)}–${Math.max(...walls).toFixed(2)}] | ` +
        `${thousands.format(hostsPerS)} | ${median(cpus).toFixed(2)} ` +
        `[${Math.min(...cpus).toFixed(2)}–${Math.max(...cpus).toFixed(2)}] | ` +
        `${median(runs.map((r) => r.maxrssKb / 1024)).toFixed(0)} | ` +
        `${targetShare.length ? median(targetShare).toFixed(0) : '-'} | ` +
        `${other.length ? median(other).toFixed(2) : '-'} | ${notes.join('; ')} |`,
    );
  }
  const on = summary.get('findings on')!;
  const off = summary.get('findings off')!;
  const perTenThousand = ((on.cpuS - off.cpuS) * 10_000) / options.n;
  return [
    `### End to end: run-engine.js --findings on|off, N=${options.n} C=${options.c}, ` +
      `plain-http target, median of ${options.reps} (order alternating by rep)`,
    '',
    '| variant | N ok | wall s [min–max] | hosts/s | CPU user+sys s [min–max] | peak RSS MB | target CPU % | other CPU s | notes |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---|',
    ...rows,
    '',
    `findings on ÷ off: hosts/s ×${(on.hostsPerS / off.hostsPerS).toFixed(2)}, CPU s ` +
      `×${(on.cpuS / off.cpuS).toFixed(2)} (${perTenThousand >= 0 ? '+' : ''}` +
      `${perTenThousand.toFixed(2)} s per 10,000 results).`,
    `JSON bytes per result of this target (mean of 200 in-process probes): findings off ` +
      `${thousands.format(bytes.off)}, on ${thousands.format(bytes.on)} ` +
      `(×${(bytes.on / bytes.off).toFixed(2)}, +${thousands.format(bytes.on - bytes.off)} bytes).`,
  ].join('\n');
}

async function main(): Promise<void> {
  const options = parseFindingsCostOptions(process.argv.slice(2));
  const root = findRoot(path.dirname(fileURLToPath(import.meta.url)));
  const time = new Date().toISOString().replace(/[:]/g, '-').replace(/\..*/, '');
  const resultsDir = path.join(root, 'bench', 'results', `${time}-findings`);
  await mkdir(resultsDir, { recursive: true });
  const sections = [
    `## headprobe findings cost ${path.basename(resultsDir)}`,
    '',
    machineLine(options.python),
  ];
  if (options.parts.includes('micro')) sections.push('', runMicro(options.rounds));
  if (options.parts.includes('engine')) {
    sections.push('', await runEngine(options, root, resultsDir));
  }
  await publishReport(resultsDir, sections, ` (sink ${sink % 10})`);
}

runBench(main);
