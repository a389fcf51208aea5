// The peers of both benchmarks, run the same way (each contender its own process under
// rusage.py) against the same target, plus the engine alone with --waits as context for the
// service's timing accuracy.
import * as path from 'node:path';
import type { ContenderName } from './bench-options.js';
import {
  type ChildSet,
  machineBusySeconds,
  measure,
  processCpuSeconds,
  readNumbers,
  type TargetServer,
} from './bench-processes.js';
import type { RunRecord } from './bench-report.js';
import { type Contender, contenders, type RunInputs, tallyResultLine } from './contenders.js';
import { writeCurlConfigs, writeUrlList } from './url-lists.js';

export interface PeerContext {
  readonly children: ChildSet;
  readonly root: string;
  readonly stateDir: string;
  readonly logsDir: string;
  readonly python: string;
  readonly wrapper: string;
  readonly engineScript: string;
  readonly runMaxS: number;
  readonly log: (line: string) => void;
}

export interface PeerSetup {
  readonly selected: readonly Contender[];
  readonly skipped: readonly string[];
  readonly urlsFile: string;
  readonly curlChunkFiles: readonly string[];
}

/** Writes the URL list and curl configs and picks the peers that can run here. */
export async function preparePeers(
  ctx: PeerContext,
  wanted: readonly ContenderName[],
  n: number,
  target: TargetServer,
  curlChunk: number,
): Promise<PeerSetup> {
  const urlsFile = path.join(ctx.stateDir, 'urls.txt');
  await writeUrlList(urlsFile, n, target.port);
  const curlChunkFiles = await writeCurlConfigs(
    ctx.stateDir,
    'curl.chunk',
    n,
    target.port,
    curlChunk,
  );
  const selected: Contender[] = [];
  const skipped: string[] = [];
  for (const contender of contenders) {
    if (!wanted.includes(contender.name)) continue;
    const reason = contender.unavailable({ python: ctx.python, engineScript: ctx.engineScript });
    if (reason === undefined) selected.push(contender);
    else {
      skipped.push(`skipped: ${contender.name}: ${reason}`);
      ctx.log(skipped.at(-1)!);
    }
  }
  return { selected, skipped, urlsFile, curlChunkFiles };
}

/** One run of one peer, measured like engine.ts measures it. */
export async function runPeer(
  ctx: PeerContext,
  setup: PeerSetup,
  contender: Contender,
  rep: number,
  concurrency: number,
  target: TargetServer,
): Promise<RunRecord> {
  const outPrefix = path.join(ctx.logsDir, `${contender.name}.${rep}`);
  const inputs: RunInputs = {
    root: ctx.root,
    urlsFile: setup.urlsFile,
    curlChunkFiles: setup.curlChunkFiles,
    concurrency,
    python: ctx.python,
    engineScript: ctx.engineScript,
    outPrefix,
  };
  const targetBefore = processCpuSeconds(target.pid);
  const machineBefore = machineBusySeconds();
  const cost = await measure(ctx.children, ctx.python, ctx.wrapper, {
    commands: contender.commands(inputs),
    cwd: ctx.root,
    stdoutFile: `${outPrefix}.stdout`,
    stderrFile: `${outPrefix}.stderr`,
    specFile: `${outPrefix}.spec`,
    timeoutS: ctx.runMaxS,
  });
  const targetAfter = processCpuSeconds(target.pid);
  const machineAfter = machineBusySeconds();
  const tally = await contender.tally(inputs, `${outPrefix}.stdout`);
  const targetCpuS =
    targetBefore === undefined || targetAfter === undefined
      ? undefined
      : targetAfter - targetBefore;
  const otherCpuS =
    machineBefore === undefined || machineAfter === undefined || targetCpuS === undefined
      ? undefined
      : Math.max(0, machineAfter - machineBefore - cost.user_s - cost.sys_s - targetCpuS);
  const record: RunRecord = {
    contender: contender.name,
    rep,
    rc: cost.rc,
    timedOut: cost.timed_out,
    ok: tally.ok,
    fail: tally.fail,
    wallS: cost.wall_s,
    inprocS: tally.inprocS,
    userS: cost.user_s,
    sysS: cost.sys_s,
    maxrssKb: cost.maxrss_kb,
    targetCpuS,
    otherCpuS,
    errors: tally.errors,
  };
  ctx.log(
    `${contender.name.padEnd(22)} rep ${rep}  rc=${record.rc} ok=${record.ok} ` +
      `wall=${record.wallS.toFixed(2)}s cpu=${(record.userS + record.sysS).toFixed(2)}s ` +
      `rss=${(record.maxrssKb / 1024).toFixed(0)}MB other_cpu=${otherCpuS?.toFixed(2) ?? '-'}s ` +
      `errors=${record.errors}`,
  );
  return record;
}

export interface EngineWaits {
  ok: number;
  expected: number;
  waits: number[];
  wallS: number;
  errors: string;
}

/** run-engine.js --waits over `count` hosts of `target`: the engine's own wait samples. */
export async function runEngineWaits(
  ctx: PeerContext,
  label: string,
  count: number,
  concurrency: number,
  target: TargetServer,
): Promise<EngineWaits> {
  const urlsFile = path.join(ctx.stateDir, `waits-urls-${count}.txt`);
  await writeUrlList(urlsFile, count, target.port);
  const prefix = path.join(ctx.logsDir, `engine-waits.${label}`);
  const cost = await measure(ctx.children, ctx.python, ctx.wrapper, {
    commands: [
      [
        process.execPath,
        ctx.engineScript,
        '--urls',
        urlsFile,
        '--concurrency',
        String(concurrency),
        '--waits',
        `${prefix}.waits`,
      ],
    ],
    cwd: ctx.root,
    stdoutFile: `${prefix}.stdout`,
    stderrFile: `${prefix}.stderr`,
    specFile: `${prefix}.spec`,
    timeoutS: ctx.runMaxS,
  });
  const tally = await tallyResultLine(`${prefix}.stdout`);
  const waits = await readNumbers(`${prefix}.waits`);
  ctx.log(`engine waits ${label}: ok=${tally.ok}/${count} wall=${cost.wall_s.toFixed(2)}s`);
  return { ok: tally.ok, expected: count, waits, wallS: cost.wall_s, errors: tally.errors };
}
