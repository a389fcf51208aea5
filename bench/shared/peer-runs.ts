// The peers of both benchmarks, run the same way (each contender its own process under
// rusage.py) against the same target, plus the engine alone with --waits as context for the
// service's timing accuracy.
import * as path from 'node:path';
import { type ChildSet, measure, readNumbers, type TargetServer } from './bench-processes.js';
import type { RunRecord } from './bench-report.js';
import type { ContenderName } from './contenders.js';
import { type Contender, contenders, type RunInputs, tallyResultLine } from './contenders.js';
import { measuredCost } from './measured-run.js';
import { hostUrls, writeCurlConfigs, writeUrlList } from './url-lists.js';

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

/** The files a peer run reads: one URL list, and the same URLs as curl -K chunks. */
export interface PeerInputs {
  readonly urlsFile: string;
  readonly curlChunkFiles: readonly string[];
  /** Tells these runs' logs apart from other loads' (logs/<contender>.<label>.<rep>). */
  readonly label: string | undefined;
}

export interface PeerSelection {
  readonly selected: readonly Contender[];
  readonly skipped: readonly string[];
}

export type PeerSetup = PeerSelection & PeerInputs;

/** The wanted peers that can run here; the others as visible `skipped:` lines. */
export function selectPeers(ctx: PeerContext, wanted: readonly ContenderName[]): PeerSelection {
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
  return { selected, skipped };
}

/**
 * Writes `urls` as state/<label>.txt and as curl chunks state/<label>.curl.NNNN.cfg; without a
 * label as state/urls.* (scenario 1's list, whose logs carry no label).
 */
export async function writePeerInputs(
  ctx: PeerContext,
  urls: readonly string[],
  curlChunk: number,
  label?: string,
): Promise<PeerInputs> {
  const stem = label ?? 'urls';
  const urlsFile = path.join(ctx.stateDir, `${stem}.txt`);
  await writeUrlList(urlsFile, urls);
  const curlChunkFiles = await writeCurlConfigs(ctx.stateDir, `${stem}.curl`, urls, curlChunk);
  return { urlsFile, curlChunkFiles, label };
}

/** The IP-literal list of N hosts and the peers that can run here. */
export async function preparePeers(
  ctx: PeerContext,
  wanted: readonly ContenderName[],
  n: number,
  target: TargetServer,
  curlChunk: number,
): Promise<PeerSetup> {
  const inputs = await writePeerInputs(ctx, hostUrls(n, target.port), curlChunk);
  return { ...selectPeers(ctx, wanted), ...inputs };
}

/** One run of one peer, measured like engine.ts measures it. */
export async function runPeer(
  ctx: PeerContext,
  setup: PeerInputs,
  contender: Contender,
  rep: number,
  concurrency: number,
  target: TargetServer,
): Promise<RunRecord> {
  const runName = setup.label === undefined ? contender.name : `${contender.name}.${setup.label}`;
  const outPrefix = path.join(ctx.logsDir, `${runName}.${rep}`);
  const inputs: RunInputs = {
    root: ctx.root,
    urlsFile: setup.urlsFile,
    curlChunkFiles: setup.curlChunkFiles,
    concurrency,
    python: ctx.python,
    engineScript: ctx.engineScript,
    outPrefix,
  };
  const { cost, targetCpuS, otherCpuS } = await measuredCost(
    ctx,
    contender.commands(inputs),
    outPrefix,
    target.pid,
  );
  const tally = await contender.tally(inputs, `${outPrefix}.stdout`);
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
    `${runName.padEnd(22)} rep ${rep}  rc=${record.rc} ok=${record.ok} ` +
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
  await writeUrlList(urlsFile, hostUrls(count, target.port));
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
