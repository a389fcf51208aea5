import { appendFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import {
  builtBenchScript,
  findRoot,
  firstLine,
  log,
  machineLine,
  publishReport,
  runBench,
} from '../shared/bench-env.js';
import { superviseChildren } from '../shared/bench-processes.js';
import { median } from '../shared/bench-report.js';
import { curlParallelCap } from '../shared/contenders.js';
import {
  type H2TargetCounts,
  makeSelfSignedCertificate,
  startH2Target,
} from '../shared/h2-target-process.js';
import { type MeasuredRunRecord, measuredRunContext, measureRun } from '../shared/measured-run.js';
import { requireBuilt, requireOpenFiles } from '../shared/run-options.js';
import { hostAddress, writeCurlConfigs, writeUrlList } from '../shared/url-lists.js';
import { type Http2ContenderName, parseHttp2BenchOptions } from './http2-options.js';

const subject: Http2ContenderName = 'headprobe-engine h2';

interface RunFiles {
  readonly urlsFile: string;
  readonly curlChunkFiles: readonly string[];
  readonly engineScript: string;
  readonly concurrency: number;
}

/** What a run's own output says: 200s, other outcomes, and the versions of the 200s. */
interface VersionTally {
  ok: number;
  fail: number;
  versions: Map<string, number>;
  errors: Map<string, number>;
}

interface Http2Contender {
  readonly name: Http2ContenderName;
  /** The HTTP version every result must have: `2` or `1.1`. */
  readonly claims: string;
  commands(files: RunFiles): string[][];
  tally(stdoutFile: string): Promise<VersionTally>;
}

function countsOf(list: string): Map<string, number> {
  const counts = new Map<string, number>();
  if (list === '-' || list === '') return counts;
  for (const entry of list.split(',')) {
    const at = entry.lastIndexOf(':');
    counts.set(entry.slice(0, at), Number(entry.slice(at + 1)));
  }
  return counts;
}

const engineResult = /^RESULT ok=(\d+) fail=(\d+) versions=(\S+) elapsed=[\d.]+ errors=(\S*)/m;

async function tallyEngine(stdoutFile: string): Promise<VersionTally> {
  const text = await readFile(stdoutFile, 'utf8').catch(() => '');
  const match = engineResult.exec(text);
  if (!match) {
    return { ok: 0, fail: 0, versions: new Map(), errors: new Map([['no-RESULT-line', 1]]) };
  }
  return {
    ok: Number(match[1]),
    fail: Number(match[2]),
    versions: countsOf(match[3]!),
    errors: countsOf(match[4]!),
  };
}

/** One `-w '%{http_code} %{http_version}'` line per transfer, all chunks in one file. */
async function tallyCurl(stdoutFile: string): Promise<VersionTally> {
  const text = await readFile(stdoutFile, 'utf8').catch(() => '');
  const tally: VersionTally = { ok: 0, fail: 0, versions: new Map(), errors: new Map() };
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const [code, version = '?'] = line.split(' ');
    if (code === '200') {
      tally.ok++;
      tally.versions.set(version, (tally.versions.get(version) ?? 0) + 1);
    } else {
      tally.fail++;
      tally.errors.set(`code${code}`, (tally.errors.get(`code${code}`) ?? 0) + 1);
    }
  }
  return tally;
}

function engineContender(
  name: Http2ContenderName,
  httpVersion: string,
  claims: string,
): Http2Contender {
  return {
    name,
    claims,
    commands: (files) => [
      [
        process.execPath,
        files.engineScript,
        '--urls',
        files.urlsFile,
        '--concurrency',
        String(files.concurrency),
        '--http-version',
        httpVersion,
        // The certificate is self-signed; curl gets -k.
        '--tls-verify',
        'off',
      ],
    ],
    tally: tallyEngine,
  };
}

function curlContender(name: Http2ContenderName, versionFlag: string, claims: string) {
  return {
    name,
    claims,
    commands: (files: RunFiles) =>
      files.curlChunkFiles.map((cfg) => [
        'curl',
        '--silent',
        '--show-error',
        '--max-time',
        '30',
        '--insecure',
        versionFlag,
        '--parallel',
        '--parallel-max',
        String(files.concurrency),
        '-K',
        cfg,
        '-w',
        '%{http_code} %{http_version}\\n',
      ]),
    tally: tallyCurl,
  } satisfies Http2Contender;
}

const contenders: readonly Http2Contender[] = [
  engineContender('headprobe-engine h2', 'auto', '2'),
  engineContender('headprobe-engine h1.1', '1.1', '1.1'),
  curlContender('curl h2', '--http2', '2'),
  curlContender('curl h1.1', '--http1.1', '1.1'),
];

interface Http2Record extends MeasuredRunRecord {
  readonly tally: VersionTally;
  readonly served: H2TargetCounts;
}

const thousands = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

function listOf(counts: ReadonlyMap<string, number>): string {
  return [...counts].map(([key, count]) => `${key}: ${count}`).join(', ') || '–';
}

/** Every run's outcome, spoken versions and target counts agree with the contender's claim. */
function protocolProblems(contender: Http2Contender, run: Http2Record, n: number): string[] {
  const problems: string[] = [];
  const spokeOther = [...run.tally.versions].filter(([version]) => version !== contender.claims);
  if (spokeOther.length > 0) {
    problems.push(`rep ${run.rep} results spoke ${listOf(new Map(spokeOther))}`);
  }
  const served = contender.claims === '2' ? run.served.h2Requests : run.served.h1Requests;
  const other = contender.claims === '2' ? run.served.h1Requests : run.served.h2Requests;
  if (served < n || other > 0) {
    problems.push(
      `rep ${run.rep} target served h2 ${run.served.h2Requests}, h1 ${run.served.h1Requests}`,
    );
  }
  return problems;
}

function renderReport(
  n: number,
  c: number,
  reps: number,
  records: readonly Http2Record[],
  order: readonly Http2Contender[],
): string {
  const lines = [
    '| contender | spoke (its results) | target served (h2 streams / h1 requests / TLS connections) | N ok | fail | wall s [min–max] | hosts/s | CPU user+sys s | peak RSS MB | target CPU % | other CPU s | notes |',
    '|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|',
  ];
  const summary = new Map<string, { hostsPerS: number; cpuS: number }>();
  for (const contender of order) {
    const runs = records.filter((r) => r.name === contender.name);
    if (runs.length === 0) continue;
    const oks = runs.map((r) => r.tally.ok);
    const walls = runs.map((r) => r.wallS);
    const hostsPerS = median(oks) / median(walls);
    const cpuS = median(runs.map((r) => r.cpuS));
    summary.set(contender.name, { hostsPerS, cpuS });
    const spoken = new Map<string, number>();
    for (const run of runs) {
      for (const [version, count] of run.tally.versions) {
        spoken.set(version, (spoken.get(version) ?? 0) + count);
      }
    }
    const pick = (key: keyof H2TargetCounts) => median(runs.map((r) => r.served[key]));
    const notes = runs.flatMap((run) => protocolProblems(contender, run, n)).map((p) => `**${p}**`);
    if (Math.min(...oks) < n) notes.unshift(`**FEWER THAN N: per-run ok=[${oks.join(', ')}]**`);
    if (runs.some((r) => r.rc !== 0)) notes.push(`exit codes [${runs.map((r) => r.rc)}]`);
    if (runs.some((r) => r.timedOut)) notes.push('**hit the run timeout**');
    const errors = new Map<string, number>();
    for (const run of runs) {
      for (const [code, count] of run.tally.errors)
        errors.set(code, (errors.get(code) ?? 0) + count);
    }
    if (errors.size > 0) notes.push(`errors over all runs: ${listOf(errors)}`);
    if (contender.name.startsWith('curl') && c > curlParallelCap) {
      notes.push(`--parallel-max clamped to ${curlParallelCap}`);
    }
    const targetShare = runs.flatMap((r) =>
      r.targetCpuS === undefined ? [] : [(100 * r.targetCpuS) / r.wallS],
    );
    const other = runs.flatMap((r) => (r.otherCpuS === undefined ? [] : [r.otherCpuS]));
    lines.push(
      `| ${contender.name} | ${listOf(spoken)} | ${pick('h2Requests')} / ${pick('h1Requests')} / ` +
        `${pick('tlsConnections')} | ${median(oks).toFixed(0)} | ` +
        `${median(runs.map((r) => r.tally.fail)).toFixed(0)} | ${median(walls).toFixed(2)} ` +
        `[${Math.min(...walls).toFixed(2)}–${Math.max(...walls).toFixed(2)}] | ` +
        `${thousands.format(hostsPerS)} | ${cpuS.toFixed(2)} | ` +
        `${median(runs.map((r) => r.maxrssKb / 1024)).toFixed(0)} | ` +
        `${targetShare.length ? median(targetShare).toFixed(0) : '-'} | ` +
        `${other.length ? median(other).toFixed(2) : '-'} | ${notes.join('; ')} |`,
    );
  }
  const own = summary.get(subject);
  const ratios =
    own === undefined
      ? [`No ratio line: ${subject} did not run.`]
      : [
          `${subject} hosts/s ÷ each contender's: ` +
            [...summary]
              .filter(([name]) => name !== subject)
              .map(([name, s]) => `${name} ×${(own.hostsPerS / s.hostsPerS).toFixed(2)}`)
              .join(', '),
          `each contender's CPU s ÷ ${subject}'s: ` +
            [...summary]
              .filter(([name]) => name !== subject)
              .map(([name, s]) => `${name} ×${(s.cpuS / own.cpuS).toFixed(2)}`)
              .join(', '),
        ];
  return [
    `Medians of ${reps} runs, interleaved. "spoke" sums the HTTP versions of every 200 over all`,
    'runs (headprobe: result.httpVersion; curl: %{http_version}); the target counts are per run.',
    '',
    ...lines,
    '',
    ...ratios,
  ].join('\n');
}

function tsvRow(record: Http2Record): string {
  return `${[
    record.name,
    record.rep,
    record.rc,
    record.timedOut ? 1 : 0,
    record.tally.ok,
    record.tally.fail,
    listOf(record.tally.versions),
    record.served.h2Requests,
    record.served.h1Requests,
    record.served.tlsConnections,
    record.served.tlsErrors,
    record.wallS.toFixed(3),
    record.cpuS.toFixed(3),
    record.maxrssKb,
    record.targetCpuS?.toFixed(2) ?? '-',
    record.otherCpuS?.toFixed(2) ?? '-',
    listOf(record.tally.errors),
  ].join('\t')}\n`;
}

const tsvHeader =
  'contender\trep\trc\ttimed_out\tok\tfail\tversions\th2_requests\th1_requests\t' +
  'tls_connections\ttls_errors\twall_s\tcpu_s\tmaxrss_kb\ttarget_cpu_s\tother_cpu_s\terrors\n';

async function main(): Promise<void> {
  const options = parseHttp2BenchOptions(process.argv.slice(2));
  const root = findRoot(path.dirname(fileURLToPath(import.meta.url)));
  const time = new Date().toISOString().replace(/[:]/g, '-').replace(/\..*/, '');
  const resultsDir = path.join(root, 'bench', 'results', `${time}-h2-N${options.n}-C${options.c}`);
  const stateDir = path.join(resultsDir, 'state');
  const logsDir = path.join(resultsDir, 'logs');
  const targetScript = builtBenchScript(root, 'shared/h2-target-server.js');
  const engineScript = builtBenchScript(root, 'engine/run-engine.js');
  requireBuilt(targetScript, engineScript);
  requireOpenFiles(options.c);
  await mkdir(stateDir, { recursive: true });
  await mkdir(logsDir, { recursive: true });

  const { children, hardStop } = superviseChildren(options.benchMaxS, log);
  const sections = [
    `## headprobe HTTP/2 bench ${path.basename(resultsDir)}`,
    '',
    machineLine(options.python),
    `${firstLine('openssl', ['version'])}; target: node:http2 createSecureServer({ allowHTTP1: true }), ` +
      'self-signed P-256 certificate, one process',
  ];
  try {
    const certificate = makeSelfSignedCertificate(stateDir);
    const target = await startH2Target(children, targetScript, certificate, options.benchMaxS + 30);
    log(`h2 target pid ${target.pid} on port ${target.port}`);
    const urls = Array.from(
      { length: options.n },
      (_, index) => `https://${hostAddress(index)}:${target.port}/`,
    );
    const urlsFile = path.join(stateDir, 'urls.txt');
    await writeUrlList(urlsFile, urls);
    const files: RunFiles = {
      urlsFile,
      curlChunkFiles: await writeCurlConfigs(stateDir, 'urls.curl', urls, options.curlChunk),
      engineScript,
      concurrency: options.c,
    };
    const ctx = measuredRunContext(children, root, logsDir, options);
    const selected = contenders.filter((c) => options.contenders.includes(c.name));
    const rawFile = path.join(resultsDir, 'raw.tsv');
    await writeFile(rawFile, tsvHeader);
    const records: Http2Record[] = [];
    // Interleaved (every contender once, then again) so drift hits all alike.
    for (let rep = 1; rep <= options.reps; rep++) {
      for (const contender of selected) {
        await sleep(options.settleS * 1000);
        const { result: run, served } = await target.during(() =>
          measureRun(ctx, contender.name, rep, contender.commands(files), target.pid),
        );
        const record: Http2Record = {
          ...run,
          tally: await contender.tally(`${run.outPrefix}.stdout`),
          served,
        };
        records.push(record);
        await appendFile(rawFile, tsvRow(record));
        log(
          `${contender.name.padEnd(22)} rep ${rep}  rc=${record.rc} ok=${record.tally.ok} ` +
            `fail=${record.tally.fail} versions=${listOf(record.tally.versions)} ` +
            `served h2=${served.h2Requests} h1=${served.h1Requests} ` +
            `wall=${record.wallS.toFixed(2)}s cpu=${record.cpuS.toFixed(2)}s ` +
            `target_cpu=${record.targetCpuS?.toFixed(2) ?? '-'}s ` +
            `other_cpu=${record.otherCpuS?.toFixed(2) ?? '-'}s`,
        );
      }
    }
    sections.push(
      '',
      `### N=${options.n} distinct https://127.0.A.B:${target.port}/ C=${options.c}, ` +
        `curl in ${options.curlChunk}-URL chunks`,
      '',
      renderReport(options.n, options.c, options.reps, records, selected),
    );
  } finally {
    await children.close();
    clearTimeout(hardStop);
  }
  await publishReport(resultsDir, sections);
}

runBench(main);
