// One run of one contender under rusage.py, as peer-runs.ts measures the shared peers, for
// benches whose contenders are variants (options, protocols) rather than the named peers:
// its cost, the target's CPU over the same window, and the machine's CPU beyond both.
import * as path from 'node:path';
import {
  type ChildSet,
  machineBusySeconds,
  measure,
  processCpuSeconds,
} from './bench-processes.js';

export interface MeasuredRunContext {
  readonly children: ChildSet;
  readonly root: string;
  readonly logsDir: string;
  readonly python: string;
  /** bench/shared/rusage.py */
  readonly wrapper: string;
  readonly runMaxS: number;
}

export interface MeasuredRunRecord {
  readonly name: string;
  readonly rep: number;
  readonly rc: number;
  readonly timedOut: boolean;
  readonly wallS: number;
  /** user + sys of every process of the run. */
  readonly cpuS: number;
  readonly maxrssKb: number;
  readonly targetCpuS: number | undefined;
  /** Busy CPU on the whole machine beyond the run and the target: noise from elsewhere. */
  readonly otherCpuS: number | undefined;
  /** logs/<name>.<rep>: .stdout, .stderr, .spec, and whatever the contender adds. */
  readonly outPrefix: string;
}

/** The context of a bench's measured runs: rusage.py of the repo at `root`. */
export function measuredRunContext(
  children: ChildSet,
  root: string,
  logsDir: string,
  options: { readonly python: string; readonly runMaxS: number },
): MeasuredRunContext {
  return {
    children,
    root,
    logsDir,
    python: options.python,
    wrapper: path.join(root, 'bench', 'shared', 'rusage.py'),
    runMaxS: options.runMaxS,
  };
}

/** A name safe in a file name: `curl --http2` → `curl-http2`. */
function fileStem(name: string): string {
  return name
    .replace(/[^A-Za-z0-9.+]+/g, '-')
    .replace(/^-|-$/g, '')
    .toLowerCase();
}

export function outPrefixFor(ctx: MeasuredRunContext, name: string, rep: number): string {
  return path.join(ctx.logsDir, `${fileStem(name)}.${rep}`);
}

export interface MeasuredCost {
  readonly cost: Awaited<ReturnType<typeof measure>>;
  readonly targetCpuS: number | undefined;
  readonly otherCpuS: number | undefined;
}

/**
 * Runs `commands` under rusage.py with their output in `outPrefix`.*, and reads the target's
 * CPU and the machine's over the same window: the measurement every contender run shares.
 */
export async function measuredCost(
  ctx: Omit<MeasuredRunContext, 'logsDir'>,
  commands: string[][],
  outPrefix: string,
  targetPid: number,
): Promise<MeasuredCost> {
  const targetBefore = processCpuSeconds(targetPid);
  const machineBefore = machineBusySeconds();
  const cost = await measure(ctx.children, ctx.python, ctx.wrapper, {
    commands,
    cwd: ctx.root,
    stdoutFile: `${outPrefix}.stdout`,
    stderrFile: `${outPrefix}.stderr`,
    specFile: `${outPrefix}.spec`,
    timeoutS: ctx.runMaxS,
  });
  const targetAfter = processCpuSeconds(targetPid);
  const machineAfter = machineBusySeconds();
  const targetCpuS =
    targetBefore === undefined || targetAfter === undefined
      ? undefined
      : targetAfter - targetBefore;
  const otherCpuS =
    machineBefore === undefined || machineAfter === undefined || targetCpuS === undefined
      ? undefined
      : Math.max(0, machineAfter - machineBefore - cost.user_s - cost.sys_s - targetCpuS);
  return { cost, targetCpuS, otherCpuS };
}

/** Runs `commands` (one after another) as one measured contender run. */
export async function measureRun(
  ctx: MeasuredRunContext,
  name: string,
  rep: number,
  commands: string[][],
  targetPid: number,
): Promise<MeasuredRunRecord> {
  const outPrefix = outPrefixFor(ctx, name, rep);
  const { cost, targetCpuS, otherCpuS } = await measuredCost(ctx, commands, outPrefix, targetPid);
  const cpuS = cost.user_s + cost.sys_s;
  return {
    name,
    rep,
    rc: cost.rc,
    timedOut: cost.timed_out,
    wallS: cost.wall_s,
    cpuS,
    maxrssKb: cost.maxrss_kb,
    targetCpuS,
    otherCpuS,
    outPrefix,
  };
}
