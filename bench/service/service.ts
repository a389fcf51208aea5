import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import {
  builtBenchScript,
  findRoot,
  log,
  machineLine,
  openFileLimit,
  publishReport,
  runBench,
} from '../shared/bench-env.js';
import {
  describeTarget,
  startDelayedTarget,
  startTargetServer,
  superviseChildren,
} from '../shared/bench-processes.js';
import type { RunRecord } from '../shared/bench-report.js';
import {
  type EngineWaits,
  type PeerContext,
  preparePeers,
  runEngineWaits,
  runPeer,
} from '../shared/peer-runs.js';
import { serviceNodeFlags } from '../shared/service-process.js';
import { runInBenchNamespace } from './bench-netns.js';
import { describeDnsServer } from './dns-server-process.js';
import { type ApiRun, refusedTarget, runApiRep } from './service-api.js';
import {
  type NamesPeerRun,
  type NamesServiceRun,
  prepareNames,
  runNamesRep,
} from './service-names.js';
import { parseServiceBenchOptions, type ServiceBenchOptions } from './service-options.js';
import {
  type AccuracyLine,
  accuracyRowsFromEngine,
  renderAccuracy,
  renderApi,
  renderNames,
  renderScenarios,
  renderTargets,
  renderThroughput,
  type ThroughputFigures,
} from './service-report.js';
import {
  delayedTargetMs,
  lowLoad,
  runBigRep,
  runLatencyRep,
  runMultiRep,
  runThroughputRep,
  type ServiceBenchContext,
  type ServiceRun,
} from './service-scenarios.js';

function serviceSettings(options: ServiceBenchOptions): string {
  return (
    `service: node ${serviceNodeFlags().join(' ')} dist/src/server.js, ` +
    `HEADPROBE_CONCURRENCY=${options.c}, LOG_LEVEL=warn, ` +
    'loopback allowed, rate limit, queue caps and event-loop back-pressure off, no inline ' +
    `results; a fresh process per rep, warmed up with a ${options.warmup}-target job (deleted) ` +
    'and its peak RSS reset (clear_refs) before the measured part.'
  );
}

interface Collected {
  throughput: ServiceRun[];
  peers: RunRecord[];
  multi: ServiceRun[];
  latency: ServiceRun[];
  low: ServiceRun[];
  engineLow: EngineWaits[];
  engineLoaded: EngineWaits[];
  api: ApiRun[];
  big: ServiceRun[];
  namesService: NamesServiceRun[];
  namesPeers: NamesPeerRun[];
}

async function runAll(
  ctx: ServiceBenchContext,
  peerCtx: PeerContext,
  collected: Collected,
): Promise<{ sections: string[]; throughput: ThroughputFigures | undefined }> {
  const { options } = ctx;
  const settle = () => sleep(options.settleS * 1000);
  const has = (name: (typeof options.scenarios)[number]) => options.scenarios.includes(name);
  const sections: string[] = [];
  let throughput: ThroughputFigures | undefined;

  if (has('throughput')) {
    const setup = await preparePeers(
      peerCtx,
      options.peers,
      options.n,
      ctx.fast,
      options.curlChunk,
    );
    // Interleaved like the engine bench: the service once, every peer once, then again.
    for (let rep = 1; rep <= options.reps; rep++) {
      await settle();
      collected.throughput.push(await runThroughputRep(ctx, rep));
      for (const contender of setup.selected) {
        await settle();
        collected.peers.push(await runPeer(peerCtx, setup, contender, rep, options.c, ctx.fast));
      }
    }
    throughput = renderThroughput(
      options,
      collected.throughput,
      collected.peers,
      setup.selected.map((c) => c.name),
    );
    sections.push(throughput.markdown, ...(setup.skipped.length ? ['', ...setup.skipped] : []));
  }
  if (has('multi')) {
    for (let rep = 1; rep <= options.reps; rep++) {
      await settle();
      collected.multi.push(await runMultiRep(ctx, rep));
    }
  }
  if (has('latency')) {
    for (let rep = 1; rep <= options.reps; rep++) {
      await settle();
      const { low, loaded } = await runLatencyRep(ctx, rep);
      collected.low.push(low);
      collected.latency.push(loaded);
      await writeFile(
        path.join(ctx.logsDir, `service-waits.low.${rep}`),
        `${low.waits.join('\n')}\n`,
      );
      await writeFile(
        path.join(ctx.logsDir, `service-waits.loaded.${rep}`),
        `${loaded.waits.join('\n')}\n`,
      );
    }
    for (let rep = 1; rep <= options.reps; rep++) {
      await settle();
      collected.engineLow.push(
        await runEngineWaits(
          peerCtx,
          `low.${rep}`,
          lowLoad.targets,
          lowLoad.concurrency,
          ctx.delayed,
        ),
      );
      await settle();
      collected.engineLoaded.push(
        await runEngineWaits(peerCtx, `loaded.${rep}`, options.delayN, options.c, ctx.delayed),
      );
    }
  }
  if (has('api')) {
    for (let rep = 1; rep <= options.reps; rep++) {
      await settle();
      collected.api.push(...(await runApiRep(ctx, rep)));
    }
  }
  if (has('big')) {
    for (let rep = 1; rep <= options.reps; rep++) {
      await settle();
      collected.big.push(await runBigRep(ctx, rep));
    }
  }

  let namesSection: string[] = [];
  if (has('names')) {
    const setup = await prepareNames(ctx, peerCtx);
    for (let rep = 1; rep <= options.namesReps; rep++) {
      const { service, peers } = await runNamesRep(ctx, peerCtx, setup, rep, settle);
      collected.namesService.push(...service);
      collected.namesPeers.push(...peers);
    }
    namesSection = [
      '',
      renderNames(
        options,
        collected.namesService,
        collected.namesPeers,
        setup.peers.selected.map((c) => c.name),
        describeDnsServer(setup.dns),
      ),
      ...(setup.peers.skipped.length ? ['', ...setup.peers.skipped] : []),
    ];
  }

  const ideal = (options.delayN / options.c) * (delayedTargetMs / 1000);
  const scenarioTable = renderScenarios([
    {
      label: '1 throughput',
      what: 'one job, fast target',
      shape: `1 × ${options.n}`,
      concurrency: options.c,
      runs: collected.throughput,
    },
    {
      label: '2 many jobs',
      what: 'submitted at once, all followed concurrently',
      shape: `${options.multiJobs} × ${options.multiSize}`,
      concurrency: options.c,
      runs: collected.multi,
    },
    {
      label: '3 latency-bound',
      what: `target answers after ${delayedTargetMs} ms`,
      shape: `1 × ${options.delayN}`,
      concurrency: options.c,
      runs: collected.latency,
      extraNotes: [`ideal wall N/C × delay = ${ideal.toFixed(2)} s`],
    },
    {
      label: '6 big job',
      what: 'fast target; addresses repeat past 64,516',
      shape: `1 × ${options.bigN}`,
      concurrency: options.c,
      runs: collected.big,
    },
  ]);
  if (
    collected.throughput.length +
      collected.multi.length +
      collected.latency.length +
      collected.big.length >
    0
  ) {
    sections.push(
      '',
      `### Service scenarios, median of ${options.reps} runs (wall = first submit → last NDJSON line)`,
      '',
      scenarioTable,
      '',
      'first line s = first submit → first NDJSON line. client CPU s = this bench process (HTTP',
      'client, NDJSON tally), which shares the two cores with the service and the target.',
      'other CPU s = busy CPU on the machine beyond service, target and client (loopback softirq',
      'work, anything else running).',
    );
  }
  if (collected.latency.length > 0) {
    const rows: AccuracyLine[] = [
      {
        client: 'headprobe-service',
        load: `${lowLoad.targets} targets, job concurrency ${lowLoad.concurrency}`,
        expected: collected.low.reduce((sum, r) => sum + r.expected, 0),
        waits: collected.low.flatMap((r) => r.waits),
        notes: [`${collected.low.length} runs pooled`],
      },
      {
        client: 'headprobe-service',
        load: `${options.delayN} targets, C=${options.c} (scenario 3)`,
        expected: collected.latency.reduce((sum, r) => sum + r.expected, 0),
        waits: collected.latency.flatMap((r) => r.waits),
        notes: [`${collected.latency.length} runs pooled`],
      },
    ];
    if (collected.engineLow.length > 0) {
      rows.push(
        accuracyRowsFromEngine(
          'headprobe-engine alone (context)',
          `${lowLoad.targets} hosts, C=${lowLoad.concurrency}`,
          collected.engineLow,
        ),
        accuracyRowsFromEngine(
          'headprobe-engine alone (context)',
          `${options.delayN} hosts, C=${options.c}`,
          collected.engineLoaded,
        ),
      );
    }
    sections.push(
      '',
      `### 4. Timing accuracy: timing.phases.wait − ${delayedTargetMs} ms server delay`,
      '',
      renderAccuracy(rows),
      '',
      `${describeTarget(ctx.delayed)}, the delayed target of scenarios 3 and 4.`,
      'The target never answers before the delay, so the excess is loopback, the target’s own',
      'lateness and the prober’s event-loop lag (a read is stamped when its callback runs).',
      'The engine rows run run-engine.js --waits on the same target, so the service’s extra',
      'lag (HTTP, NDJSON, the job store) shows as the gap between the pairs.',
    );
  }
  if (collected.api.length > 0) {
    sections.push(
      '',
      `### 5. API overhead on an idle service (POST body: one target, ${refusedTarget}, refused at once)`,
      '',
      renderApi(collected.api, options.apiDurationS),
    );
  }
  sections.push(...namesSection);
  return { sections, throughput };
}

function stamp(): string {
  return `${new Date().toISOString().replace(/[:]/g, '-').replace(/\..*/, '')}-service`;
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  let options = parseServiceBenchOptions(argv);
  let namesSkipped: string | undefined;
  if (options.scenarios.includes('names') && options.netns === undefined) {
    // The names scenario needs its own resolver, so the whole bench runs again inside a fresh
    // network namespace; this process only makes and removes it.
    const outcome = await runInBenchNamespace(
      fileURLToPath(import.meta.url),
      argv,
      options.benchMaxS,
      log,
    );
    if ('exitCode' in outcome) {
      process.exitCode = outcome.exitCode;
      return;
    }
    namesSkipped = `skipped: names scenario: ${outcome.skipped}`;
    log(namesSkipped);
    options = Object.freeze({
      ...options,
      scenarios: options.scenarios.filter((name) => name !== 'names'),
    });
  }
  const root = findRoot(path.dirname(fileURLToPath(import.meta.url)));
  // The service from the production build, as `npm start` runs it; the rest from the bench build.
  const targetScript = builtBenchScript(root, 'shared/target-server.js');
  const engineScript = builtBenchScript(root, 'engine/run-engine.js');
  const needs: Array<[file: string, command: string]> = [
    [path.join(root, 'dist', 'src', 'server.js'), 'npm run build'],
    [targetScript, 'npm run build:bench'],
    [engineScript, 'npm run build:bench'],
  ];
  for (const [built, command] of needs) {
    if (!existsSync(built)) {
      throw new Error(`${path.relative(root, built)} missing: run \`${command}\``);
    }
  }
  const needed = options.c + options.apiConnections + 256;
  if (openFileLimit() < needed) {
    throw new Error(`ulimit -n is ${openFileLimit()}; C=${options.c} needs at least ${needed}`);
  }
  const resultsDir = path.join(root, 'bench', 'results', stamp());
  const stateDir = path.join(resultsDir, 'state');
  const logsDir = path.join(resultsDir, 'logs');
  await mkdir(stateDir, { recursive: true });
  await mkdir(logsDir, { recursive: true });

  const { children, hardStop } = superviseChildren(options.benchMaxS, log);

  const started = performance.now();
  const collected: Collected = {
    throughput: [],
    peers: [],
    multi: [],
    latency: [],
    low: [],
    engineLow: [],
    engineLoaded: [],
    api: [],
    big: [],
    namesService: [],
    namesPeers: [],
  };
  const sections = [
    `## headprobe service bench ${path.basename(resultsDir)}`,
    '',
    machineLine(options.python),
    '',
    serviceSettings(options),
    '',
    ...(options.netns === undefined
      ? []
      : [
          `Every scenario ran inside network namespace ${options.netns} (loopback only; ` +
            'its resolv.conf names the DNS server of scenario 7 on 127.0.0.1).',
          '',
        ]),
    ...(namesSkipped === undefined ? [] : [`**${namesSkipped}**`, '']),
  ];
  try {
    const serverMaxS = options.benchMaxS + 30;
    const fast = await startTargetServer(children, targetScript, 0, serverMaxS);
    const delayed = await startDelayedTarget(children, root, stateDir, delayedTargetMs, serverMaxS);
    log(
      `targets: fast pid ${fast.pid} port ${fast.port}; delayed (${delayed.kind}) pid ${delayed.pid} port ${delayed.port}`,
    );
    const ctx: ServiceBenchContext = { options, children, root, logsDir, fast, delayed, log };
    const peerCtx: PeerContext = {
      children,
      root,
      stateDir,
      logsDir,
      python: options.python,
      wrapper: path.join(root, 'bench', 'shared', 'rusage.py'),
      engineScript,
      runMaxS: options.runMaxS,
      log,
    };
    const { sections: body, throughput } = await runAll(ctx, peerCtx, collected);
    const targets = renderTargets({
      throughput,
      loadedWaits: collected.latency.length ? collected.latency.flatMap((r) => r.waits) : undefined,
      bigRuns: collected.big,
      bigN: options.bigN,
      concurrency: options.c,
    });
    sections.push(...(targets ? [targets, ''] : []), ...body);
  } finally {
    await children.close();
    clearTimeout(hardStop);
    // Every run but the wait samples, which are in logs/ already.
    const raw = Object.fromEntries(
      Object.entries(collected).map(([key, runs]) => [
        key,
        (runs as object[]).map((run) => ({ ...run, waits: undefined })),
      ]),
    );
    await writeFile(
      path.join(resultsDir, 'raw.json'),
      `${JSON.stringify({ options, ...raw }, null, 1)}\n`,
    );
  }
  sections.push('', `Whole bench: ${((performance.now() - started) / 1000).toFixed(0)} s.`);
  await publishReport(resultsDir, sections);
}

runBench(main, true);
