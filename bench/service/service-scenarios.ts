// The service scenarios: each rep starts a fresh service, warms it up with one small job
// (deleted again), resets its peak RSS and then measures one scenario end to end through the
// HTTP API: wall from the first submit to the last NDJSON line, the service's CPU seconds and
// peak RSS from /proc, and the target's, this client's and the rest of the machine's CPU.
import * as path from 'node:path';
import {
  type ChildSet,
  machineBusySeconds,
  processCpuSeconds,
  type TargetServer,
} from '../shared/bench-processes.js';
import {
  peakRssKb,
  resetPeakRss,
  type ServiceProcess,
  serviceEnvironment,
  startService,
  stopService,
} from '../shared/service-process.js';
import { maxHosts } from '../shared/url-lists.js';
import {
  emptyTally,
  errorText,
  hostTarget,
  type JobState,
  type ResultTally,
  ServiceClient,
} from './service-client.js';
import type { ServiceBenchOptions } from './service-options.js';

export const delayedTargetMs = 50;
/** The per-target deadline every bench job asks for. */
const probeTimeoutMs = 30_000;
export const lowLoad = { targets: 50, concurrency: 1 } as const;

export interface ServiceBenchContext {
  readonly options: ServiceBenchOptions;
  readonly children: ChildSet;
  readonly root: string;
  readonly logsDir: string;
  readonly fast: TargetServer;
  readonly delayed: TargetServer;
  readonly log: (line: string) => void;
}

/** One measured rep of one scenario. */
export interface ServiceRun {
  scenario: string;
  rep: number;
  jobs: number;
  expected: number;
  lines: number;
  ok: number;
  wallS: number;
  /** Submit → first NDJSON line. */
  firstLineS: number | undefined;
  serviceCpuS: number | undefined;
  peakRssKb: number | undefined;
  peakRssReset: boolean;
  targetCpuS: number | undefined;
  clientCpuS: number;
  otherCpuS: number | undefined;
  errors: string;
  /** Problems with the run itself: a job not succeeded, a count that does not add up. */
  problems: string[];
  waits: number[];
}

export function targetsFor(count: number, port: number, offset = 0): string[] {
  return Array.from({ length: count }, (_, i) => hostTarget((offset + i) % maxHosts, port));
}

export function jobOptions(concurrency: number): Record<string, unknown> {
  return { concurrency, timeoutMs: probeTimeoutMs };
}

function jobProblems(states: readonly JobState[], expectedPerJob: number[]): string[] {
  const problems: string[] = [];
  states.forEach((state, i) => {
    if (state.status !== 'succeeded') problems.push(`job ${i} ${state.status}`);
    if (state.progress.done !== expectedPerJob[i]) {
      problems.push(`job ${i} done=${state.progress.done}/${expectedPerJob[i]}`);
    }
  });
  return problems;
}

export interface Running {
  readonly service: ServiceProcess;
  readonly client: ServiceClient;
  readonly peakRssReset: boolean;
}

/**
 * A fresh service for one rep, warmed up and with its peak RSS reset; always stopped. The
 * warm-up job is `options.warmup` IP literals unless the scenario passes its own targets.
 */
export async function withService<T>(
  ctx: ServiceBenchContext,
  label: string,
  run: (running: Running) => Promise<T>,
  warmupTargets?: readonly string[],
): Promise<T> {
  const { options } = ctx;
  const service = await startService(
    ctx.children,
    ctx.root,
    serviceEnvironment(options.c),
    path.join(ctx.logsDir, `service.${label}`),
  );
  const client = new ServiceClient(service.port, options.runMaxS * 1000);
  try {
    const warmup = warmupTargets ?? targetsFor(options.warmup, ctx.fast.port);
    if (warmup.length > 0) {
      // JIT-warm code paths, as in a running service. IP targets leave nothing cached; the
      // names scenario's own warm-up caches only names its loads never ask for.
      const warm = await client.runJob(warmup, jobOptions(options.c), emptyTally());
      await client.delete(warm.id);
    }
    const peakRssReset = await resetPeakRss(service.pid);
    return await run({ service, client, peakRssReset });
  } finally {
    client.close();
    await stopService(service.child);
  }
}

/** Measures `work` (which submits and follows jobs into `tally`) against one service. */
async function measureWindow(
  ctx: ServiceBenchContext,
  running: Running,
  target: TargetServer,
  base: Pick<ServiceRun, 'scenario' | 'rep' | 'jobs' | 'expected'>,
  tally: ResultTally,
  work: () => Promise<string[]>,
): Promise<ServiceRun> {
  const pid = running.service.pid;
  const serviceBefore = processCpuSeconds(pid);
  const targetBefore = processCpuSeconds(target.pid);
  const machineBefore = machineBusySeconds();
  const clientBefore = process.cpuUsage();
  const start = performance.now();
  const problems = await work();
  const end = tally.lastLineAt ?? performance.now();
  const clientUsage = process.cpuUsage(clientBefore);
  const serviceAfter = processCpuSeconds(pid);
  const targetAfter = processCpuSeconds(target.pid);
  const machineAfter = machineBusySeconds();
  const peak = await peakRssKb(pid);
  const delta = (a: number | undefined, b: number | undefined) =>
    a === undefined || b === undefined ? undefined : b - a;
  const serviceCpuS = delta(serviceBefore, serviceAfter);
  const targetCpuS = delta(targetBefore, targetAfter);
  const clientCpuS = (clientUsage.user + clientUsage.system) / 1e6;
  const machineS = delta(machineBefore, machineAfter);
  const otherCpuS =
    machineS === undefined || serviceCpuS === undefined || targetCpuS === undefined
      ? undefined
      : Math.max(0, machineS - serviceCpuS - targetCpuS - clientCpuS);
  if (tally.lines !== base.expected) problems.push(`${tally.lines} lines for ${base.expected}`);
  const run: ServiceRun = {
    ...base,
    lines: tally.lines,
    ok: tally.ok,
    wallS: (end - start) / 1000,
    firstLineS: tally.firstLineAt === undefined ? undefined : (tally.firstLineAt - start) / 1000,
    serviceCpuS,
    peakRssKb: peak,
    peakRssReset: running.peakRssReset,
    targetCpuS,
    clientCpuS,
    otherCpuS,
    errors: errorText(tally.errors),
    problems,
    waits: tally.waits,
  };
  ctx.log(
    `${run.scenario.padEnd(22)} rep ${run.rep}  ok=${run.ok}/${run.expected} ` +
      `wall=${run.wallS.toFixed(2)}s service_cpu=${run.serviceCpuS?.toFixed(2) ?? '-'}s ` +
      `rss=${((run.peakRssKb ?? 0) / 1024).toFixed(0)}MB client_cpu=${clientCpuS.toFixed(2)}s ` +
      `other_cpu=${otherCpuS?.toFixed(2) ?? '-'}s errors=${run.errors}` +
      (problems.length ? ` PROBLEMS: ${problems.join('; ')}` : ''),
  );
  return run;
}

/** One job of `targets` at concurrency `concurrency`, followed to its last line into `tally`. */
export function singleJob(
  ctx: ServiceBenchContext,
  running: Running,
  target: TargetServer,
  scenario: string,
  rep: number,
  targets: readonly string[],
  concurrency: number,
  wantWaits: boolean,
  tally: ResultTally = emptyTally(),
): Promise<ServiceRun> {
  return measureWindow(
    ctx,
    running,
    target,
    { scenario, rep, jobs: 1, expected: targets.length },
    tally,
    async () => {
      const { state } = await running.client.runJob(
        targets,
        jobOptions(concurrency),
        tally,
        wantWaits,
      );
      return jobProblems([state], [targets.length]);
    },
  );
}

/** Scenario 1: one job of N fast targets at C. */
export function runThroughputRep(ctx: ServiceBenchContext, rep: number): Promise<ServiceRun> {
  const { n, c } = ctx.options;
  return withService(ctx, `throughput.${rep}`, (running) =>
    singleJob(ctx, running, ctx.fast, 'throughput', rep, targetsFor(n, ctx.fast.port), c, false),
  );
}

/** Scenario 2: J jobs of S targets submitted at once, all followed concurrently. */
export function runMultiRep(ctx: ServiceBenchContext, rep: number): Promise<ServiceRun> {
  const { multiJobs, multiSize, c } = ctx.options;
  return withService(ctx, `multi.${rep}`, (running) => {
    const tally = emptyTally();
    const lists = Array.from({ length: multiJobs }, (_, j) =>
      targetsFor(multiSize, ctx.fast.port, j * multiSize),
    );
    return measureWindow(
      ctx,
      running,
      ctx.fast,
      { scenario: 'multi', rep, jobs: multiJobs, expected: multiJobs * multiSize },
      tally,
      async () => {
        const ended = await Promise.all(
          lists.map((targets) => running.client.runJob(targets, jobOptions(c), tally)),
        );
        return jobProblems(
          ended.map((e) => e.state),
          lists.map((l) => l.length),
        );
      },
    );
  });
}

/**
 * Scenarios 3 and 4 on one service: first the low-load accuracy job (50 targets, concurrency
 * 1), then the latency-bound job (delayN targets at C) whose waits are the loaded accuracy.
 */
export function runLatencyRep(
  ctx: ServiceBenchContext,
  rep: number,
): Promise<{ low: ServiceRun; loaded: ServiceRun }> {
  const { delayN, c } = ctx.options;
  return withService(ctx, `latency.${rep}`, async (running) => {
    const low = await singleJob(
      ctx,
      running,
      ctx.delayed,
      'accuracy-low',
      rep,
      targetsFor(lowLoad.targets, ctx.delayed.port),
      lowLoad.concurrency,
      true,
    );
    await resetPeakRss(running.service.pid);
    const loaded = await singleJob(
      ctx,
      running,
      ctx.delayed,
      'latency',
      rep,
      targetsFor(delayN, ctx.delayed.port),
      c,
      true,
    );
    return { low, loaded };
  });
}

/** Scenario 6: one job of bigN targets (addresses repeat past 64,516), for its peak RSS. */
export function runBigRep(ctx: ServiceBenchContext, rep: number): Promise<ServiceRun> {
  const { bigN, c } = ctx.options;
  return withService(ctx, `big.${rep}`, (running) =>
    singleJob(ctx, running, ctx.fast, 'big', rep, targetsFor(bigN, ctx.fast.port), c, false),
  );
}
