import { existsSync } from 'node:fs';
import { appendFile, mkdir, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import {
  builtBenchScript,
  findRoot,
  log,
  machineLine,
  publishReport,
  runBench,
} from '../shared/bench-env.js';
import {
  type ChildSet,
  startDelayedTarget,
  startTargetServer,
  superviseChildren,
  type TargetServer,
} from '../shared/bench-processes.js';
import {
  type RunRecord,
  renderRatios,
  renderTable,
  tsvHeader,
  tsvRow,
} from '../shared/bench-report.js';
import { type ContenderName, curlParallelCap } from '../shared/contenders.js';
import { type PeerContext, preparePeers, runPeer } from '../shared/peer-runs.js';
import { requireOpenFiles } from '../shared/run-options.js';
import { type BenchOptions, parseBenchOptions } from './engine-options.js';
import { runTimingAccuracy } from './timing-accuracy.js';

const delayedTargetMs = 50;
const subject: ContenderName = 'headprobe-engine';

function stamp(options: BenchOptions): string {
  const time = new Date().toISOString().replace(/[:]/g, '-').replace(/\..*/, '');
  if (options.accuracy === 'only') return `${time}-accuracy`;
  return `${time}-N${options.n}-C${options.c}-${options.kind}`;
}

interface Layout {
  root: string;
  resultsDir: string;
  stateDir: string;
  logsDir: string;
  wrapper: string;
  targetScript: string;
  engineScript: string;
}

function notesFor(options: BenchOptions) {
  return (name: ContenderName): string[] => {
    if (name === 'curl-chunked') {
      const notes = [`${options.curlChunk} URLs per curl invocation`];
      if (options.c > curlParallelCap) notes.push(`runs at ${curlParallelCap}, not C=${options.c}`);
      return notes;
    }
    if (name === 'node-net-ref') return ['reference floor, not a user tool'];
    return [];
  };
}

async function runThroughput(
  options: BenchOptions,
  layout: Layout,
  children: ChildSet,
  target: TargetServer,
): Promise<string> {
  const peers: PeerContext = {
    children,
    root: layout.root,
    stateDir: layout.stateDir,
    logsDir: layout.logsDir,
    python: options.python,
    wrapper: layout.wrapper,
    engineScript: layout.engineScript,
    runMaxS: options.runMaxS,
    log,
  };
  const setup = await preparePeers(peers, options.peers, options.n, target, options.curlChunk);
  const { selected, skipped } = setup;

  const rawFile = path.join(layout.resultsDir, 'raw.tsv');
  await writeFile(rawFile, tsvHeader);
  const records: RunRecord[] = [];
  // Reps are interleaved (every contender once, then again) so drift hits all alike.
  for (let rep = 1; rep <= options.reps; rep++) {
    for (const contender of selected) {
      await sleep(options.settleS * 1000);
      const record = await runPeer(peers, setup, contender, rep, options.c, target);
      records.push(record);
      await appendFile(rawFile, tsvRow(record));
    }
  }

  const { markdown, summaries } = renderTable({
    n: options.n,
    records,
    order: selected.map((c) => c.name),
    notesFor: notesFor(options),
  });
  const sections = [
    `### Throughput: N=${options.n} C=${options.c} target=${options.kind} ` +
      `(port ${target.port}), median of ${options.reps} runs`,
    '',
    markdown,
    '',
    renderRatios(summaries, subject),
  ];
  if (skipped.length > 0) sections.push('', ...skipped);
  if (target.delayMs > 0) {
    const ideal = (options.n / options.c) * (target.delayMs / 1000);
    sections.push(
      '',
      `Ideal wall with a ${target.delayMs} ms server delay at C=${options.c}: ` +
        `N/C × delay = ${ideal.toFixed(2)} s (curl at ${curlParallelCap}: ` +
        `${((options.n / Math.min(options.c, curlParallelCap)) * (target.delayMs / 1000)).toFixed(2)} s).`,
    );
  }
  sections.push(
    '',
    'target CPU % = target-server CPU time ÷ the run’s wall time; near 100 would mean the',
    'target, not the client, set the pace. other CPU s = busy CPU time on the whole machine',
    '(/proc/stat) minus contender and target: loopback softirq work not charged to either, plus',
    'anything else running. Compare it across rows; a row far above the others was disturbed.',
  );
  return sections.join('\n');
}

async function main(): Promise<void> {
  const options = parseBenchOptions(process.argv.slice(2));
  const here = path.dirname(fileURLToPath(import.meta.url));
  const root = findRoot(here);
  const resultsDir = path.join(root, 'bench', 'results', stamp(options));
  const layout: Layout = {
    root,
    resultsDir,
    stateDir: path.join(resultsDir, 'state'),
    logsDir: path.join(resultsDir, 'logs'),
    wrapper: path.join(root, 'bench', 'shared', 'rusage.py'),
    targetScript: builtBenchScript(root, 'shared/target-server.js'),
    engineScript: path.resolve(root, options.engineScript),
  };
  if (!existsSync(layout.targetScript)) {
    throw new Error(`${layout.targetScript} missing: run \`npm run build:bench\` first`);
  }
  // The accuracy part runs at 500 whatever C is.
  requireOpenFiles(Math.max(options.c, 500), `C=${options.c}`);
  await mkdir(layout.stateDir, { recursive: true });
  await mkdir(layout.logsDir, { recursive: true });

  const { children, hardStop } = superviseChildren(options.benchMaxS, log);

  const serverMaxS = options.benchMaxS + 30;
  const sections = [
    `## headprobe engine bench ${path.basename(resultsDir)}`,
    '',
    machineLine(options.python),
  ];
  try {
    let delayed: TargetServer | undefined;
    if (options.accuracy !== 'only') {
      const delayMs = options.kind === 'delay50' ? delayedTargetMs : 0;
      const target = await startTargetServer(children, layout.targetScript, delayMs, serverMaxS);
      if (delayMs > 0) delayed = target;
      log(`target server pid ${target.pid} on port ${target.port}, delay ${delayMs} ms`);
      sections.push('', await runThroughput(options, layout, children, target));
    }
    if (options.accuracy !== 'off') {
      // Accuracy always uses the precise target, even when a Node delayed target ran above.
      delayed = await startDelayedTarget(
        children,
        root,
        layout.stateDir,
        delayedTargetMs,
        serverMaxS,
      );
      log(`delayed target (${delayed.kind}) pid ${delayed.pid} on port ${delayed.port}`);
      await sleep(options.settleS * 1000);
      sections.push(
        '',
        await runTimingAccuracy(
          {
            children,
            root,
            stateDir: layout.stateDir,
            logsDir: layout.logsDir,
            python: options.python,
            wrapper: layout.wrapper,
            engineScript: layout.engineScript,
            target: delayed,
            runMaxS: options.runMaxS,
            curlChunk: options.curlChunk,
          },
          log,
        ),
      );
    }
  } finally {
    await children.close();
    clearTimeout(hardStop);
  }
  await publishReport(resultsDir, sections);
}

runBench(main);
