// Scale-out: the same job (N distinct loopback hosts, the fast target) through the embedded
// process and through 1 API + W workers on Redis, in one run, interleaved rep by rep. Prints
// hosts/s end to end (submit → last NDJSON line), CPU seconds per 10,000 targets for each
// role and for Redis, peak RSS per process, Redis memory per 10,000 results, and what the
// per-role costs predict for W workers on W cores (this machine has two, shared by the
// target, Redis, the API and the workers, so the measured hosts/s of W = 2 cannot show it).
//   npm run bench:scale -- [--n 20000] [--concurrency 500] [--workers 1,2] [--reps 2] [--no-kill]
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import * as http from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { emptyTally, ServiceClient } from '../service/service-client.js';
import { jobOptions, targetsFor } from '../service/service-scenarios.js';
import { builtBenchScript, findRoot, log, machineLine } from '../shared/bench-env.js';
import {
  type ChildSet,
  processCpuSeconds,
  startTargetServer,
  superviseChildren,
} from '../shared/bench-processes.js';
import { median } from '../shared/bench-report.js';
import {
  peakRssKb,
  type ServiceProcess,
  serviceEnvironment,
  startService,
  stopService,
} from '../shared/service-process.js';

const { values } = parseArgs({
  allowNegative: true,
  options: {
    n: { type: 'string', default: '20000' },
    concurrency: { type: 'string', default: '500' },
    workers: { type: 'string', default: '1,2' },
    reps: { type: 'string', default: '2' },
    kill: { type: 'boolean', default: true },
    python: { type: 'string', default: 'python3' },
  },
});
const N = Number(values.n);
const C = Number(values.concurrency);
const workerCounts = values.workers.split(',').map(Number);
const reps = Number(values.reps);
const WARMUP = 1000;
const REQUEST_TIMEOUT_MS = 600_000;

type Mode = 'embedded' | `W=${number}`;

interface Run {
  mode: Mode;
  hostsPerS: number;
  ok: number;
  /** CPU seconds per 10,000 targets. */
  apiCpu: number;
  /** All workers together (the embedded process is its own worker): what a target costs them. */
  workerCpu: number;
  redisCpu: number;
  apiRssMb: number;
  workerRssMb: number;
  redisMbPer10k: number;
}

/** A Redis of the bench's own on a free port: no persistence, noeviction, ended with the bench. */
async function startRedis(children: ChildSet, dir: string): Promise<{ url: string; pid: number }> {
  // redis-server does not take port 0: ask the kernel for a free port first.
  const probe = createServer().listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const port = (probe.address() as { port: number }).port;
  probe.close();
  await once(probe, 'close');
  const server = children.spawn(
    'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--maxmemory-policy',
      'noeviction',
      '--dir',
      dir,
    ],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  const url = `redis://127.0.0.1:${port}`;
  for (let tries = 0; tries < 100; tries++) {
    const client = new Redis(url, { lazyConnect: true, retryStrategy: () => null });
    client.on('error', () => {});
    const up = await client
      .connect()
      .then(() => client.ping())
      .then(
        () => true,
        () => false,
      );
    client.disconnect();
    if (up) return { url, pid: server.pid! };
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error('redis-server did not answer');
}

async function redisUsedMemory(url: string): Promise<number> {
  const client = new Redis(url);
  const info = await client.info('memory');
  client.disconnect();
  return Number(/used_memory:(\d+)/.exec(info)?.[1] ?? 0);
}

async function flushRedis(url: string): Promise<void> {
  const client = new Redis(url);
  await client.flushall();
  client.disconnect();
}

async function followJob(client: ServiceClient, targets: readonly string[]): Promise<number> {
  const id = await client.submit(targets, jobOptions(C));
  const tally = emptyTally();
  await client.follow(id, tally, false);
  return tally.ok;
}

async function runMode(
  children: ChildSet,
  root: string,
  stateDir: string,
  redis: { url: string; pid: number },
  mode: Mode,
  targets: readonly string[],
  warmup: readonly string[],
): Promise<Run> {
  const base = serviceEnvironment(C);
  const processes: { api: ServiceProcess; workers: ServiceProcess[] } = { api: null!, workers: [] };
  const logs = path.join(stateDir, mode);
  if (mode === 'embedded') {
    processes.api = await startService(children, root, base, `${logs}-embedded`);
  } else {
    await flushRedis(redis.url);
    const shared = { ...base, HEADPROBE_REDIS_URL: redis.url };
    processes.api = await startService(
      children,
      root,
      { ...shared, HEADPROBE_ROLE: 'api' },
      `${logs}-api`,
    );
    const count = Number(mode.slice(2));
    for (let w = 0; w < count; w++) {
      processes.workers.push(
        await startService(
          children,
          root,
          { ...shared, HEADPROBE_ROLE: 'worker' },
          `${logs}-w${w}`,
        ),
      );
    }
  }
  try {
    const client = new ServiceClient(processes.api.port, REQUEST_TIMEOUT_MS);
    await followJob(client, warmup);
    const all = [processes.api, ...processes.workers];
    const cpuBefore = all.map((p) => processCpuSeconds(p.pid) ?? 0);
    const redisCpuBefore = processCpuSeconds(redis.pid) ?? 0;
    const memoryBefore = mode === 'embedded' ? 0 : await redisUsedMemory(redis.url);
    const start = performance.now();
    const ok = await followJob(client, targets);
    const wallS = (performance.now() - start) / 1000;
    const cpu = all.map((p, i) => (processCpuSeconds(p.pid) ?? 0) - cpuBefore[i]!);
    const redisCpu = mode === 'embedded' ? 0 : (processCpuSeconds(redis.pid) ?? 0) - redisCpuBefore;
    const memoryAfter = mode === 'embedded' ? 0 : await redisUsedMemory(redis.url);
    const rss = await Promise.all(all.map(async (p) => ((await peakRssKb(p.pid)) ?? 0) / 1024));
    const per10k = (seconds: number) => (seconds * 10_000) / N;
    const workers = processes.workers.length === 0 ? [0] : processes.workers.map((_, i) => i + 1);
    return {
      mode,
      hostsPerS: N / wallS,
      ok,
      apiCpu: mode === 'embedded' ? 0 : per10k(cpu[0]!),
      workerCpu: per10k(workers.reduce((sum, i) => sum + cpu[i]!, 0)),
      redisCpu: per10k(redisCpu),
      apiRssMb: mode === 'embedded' ? 0 : rss[0]!,
      workerRssMb: median(workers.map((i) => rss[i]!)),
      redisMbPer10k: ((memoryAfter - memoryBefore) / 1024 / 1024 / N) * 10_000,
    };
  } finally {
    await Promise.all([processes.api, ...processes.workers].map((p) => stopService(p.child)));
  }
}

/** Follows a job's NDJSON and counts each index; `onLine` hears the running line count. */
function followIndices(port: number, id: string, onLine: (lines: number) => void) {
  return new Promise<Uint16Array>((resolve, reject) => {
    const seen = new Uint16Array(N);
    let lines = 0;
    const request = http.get(
      {
        host: '127.0.0.1',
        port,
        path: `/v1/jobs/${id}/results`,
        headers: { accept: 'application/x-ndjson' },
      },
      (response) => {
        let partial = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => {
          const split = (partial + chunk).split('\n');
          partial = split.pop() ?? '';
          for (const line of split) {
            if (line === '') continue;
            const index = Number(/^\{"index":(\d+)/.exec(line)?.[1] ?? -1);
            if (index >= 0 && index < N) seen[index]!++;
            onLine(++lines);
          }
        });
        response.on('end', () => resolve(seen));
        response.on('error', reject);
      },
    );
    request.on('error', reject);
  });
}

/**
 * The SIGKILL run: 1 API + 2 workers (chunk locks of 5 s, so the dead worker's chunks move on
 * within seconds rather than the default 30), the first worker killed a third of the way in.
 * Every index must arrive exactly once.
 */
async function killRun(
  children: ChildSet,
  root: string,
  stateDir: string,
  redis: { url: string; pid: number },
  targets: readonly string[],
): Promise<string> {
  await flushRedis(redis.url);
  const shared = {
    ...serviceEnvironment(C),
    HEADPROBE_REDIS_URL: redis.url,
    HEADPROBE_CHUNK_LOCK_MS: '5000',
  };
  const logs = path.join(stateDir, 'kill');
  const api = await startService(
    children,
    root,
    { ...shared, HEADPROBE_ROLE: 'api' },
    `${logs}-api`,
  );
  const workers = [
    await startService(children, root, { ...shared, HEADPROBE_ROLE: 'worker' }, `${logs}-w0`),
    await startService(children, root, { ...shared, HEADPROBE_ROLE: 'worker' }, `${logs}-w1`),
  ];
  try {
    const client = new ServiceClient(api.port, REQUEST_TIMEOUT_MS);
    const id = await client.submit(targets, jobOptions(C));
    const start = performance.now();
    let killedAt = 0;
    const seen = await followIndices(api.port, id, (lines) => {
      if (killedAt === 0 && lines === Math.floor(N / 3)) {
        killedAt = lines;
        workers[0]!.child.kill('SIGKILL');
      }
    });
    const wallS = (performance.now() - start) / 1000;
    const state = await client.job(id);
    const once = seen.filter((count) => count === 1).length;
    const lost = seen.filter((count) => count === 0).length;
    const repeated = seen.filter((count) => count > 1).length;
    return (
      `SIGKILL run (1 API + 2 workers, HEADPROBE_CHUNK_LOCK_MS=5000, the first worker killed ` +
      `after ${killedAt} of ${N} results): ${once} indices exactly once, ${lost} lost, ` +
      `${repeated} more than once; job ${state.status}, done ${state.progress.done}; ` +
      `${wallS.toFixed(1)} s`
    );
  } finally {
    await Promise.all([api, ...workers].map((p) => stopService(p.child)));
  }
}

async function main(): Promise<void> {
  const root = findRoot(path.dirname(new URL(import.meta.url).pathname));
  const stateDir = mkdtempSync(path.join(tmpdir(), 'headprobe-scale-'));
  const { children, hardStop } = superviseChildren(3600, log);
  try {
    const target = await startTargetServer(
      children,
      builtBenchScript(root, 'shared/target-server.js'),
      0,
      3600,
    );
    const redis = await startRedis(children, stateDir);
    const targets = targetsFor(N, target.port);
    const warmup = targetsFor(WARMUP, target.port, N);
    const modes: Mode[] = ['embedded', ...workerCounts.map((w) => `W=${w}` as const)];
    const runs = new Map<Mode, Run[]>(modes.map((mode) => [mode, []]));
    for (let rep = 1; rep <= reps; rep++) {
      for (const mode of modes) {
        const run = await runMode(children, root, stateDir, redis, mode, targets, warmup);
        runs.get(mode)!.push(run);
        log(`rep ${rep} ${mode}: ${run.hostsPerS.toFixed(0)} hosts/s, ok ${run.ok}/${N}`);
      }
    }
    print(runs);
    if (values.kill) console.log(`\n${await killRun(children, root, stateDir, redis, targets)}`);
    console.log(`\n${machineLine(values.python)}`);
  } finally {
    clearTimeout(hardStop);
    await children.close();
    rmSync(stateDir, { recursive: true, force: true });
  }
}

function print(runs: Map<Mode, Run[]>): void {
  const m = (list: Run[], pick: (run: Run) => number) => median(list.map(pick));
  console.log(
    `\n### Scale-out: N=${N} distinct loopback hosts, fast target, C=${C} per worker, ` +
      `median of ${reps} reps\n`,
  );
  console.log(
    '| mode | hosts/s | ok | API CPU s / 10k | workers CPU s / 10k (all) | Redis CPU s / 10k | ' +
      'API peak RSS MB | worker peak RSS MB | Redis MB / 10k results |',
  );
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const [mode, list] of runs) {
    const cells = [
      m(list, (r) => r.hostsPerS).toFixed(0),
      String(m(list, (r) => r.ok)),
      mode === 'embedded' ? '-' : m(list, (r) => r.apiCpu).toFixed(2),
      m(list, (r) => r.workerCpu).toFixed(2),
      mode === 'embedded' ? '-' : m(list, (r) => r.redisCpu).toFixed(2),
      mode === 'embedded' ? '-' : m(list, (r) => r.apiRssMb).toFixed(0),
      m(list, (r) => r.workerRssMb).toFixed(0),
      mode === 'embedded' ? '-' : m(list, (r) => r.redisMbPer10k).toFixed(1),
    ];
    console.log(`| ${mode} | ${cells.join(' | ')} |`);
  }
  const embedded = runs.get('embedded')!;
  const embeddedCpu = m(embedded, (r) => r.workerCpu);
  console.log('');
  for (const [mode, list] of runs) {
    if (mode === 'embedded') continue;
    const worker = m(list, (r) => r.workerCpu);
    const feed = m(list, (r) => r.apiCpu + r.redisCpu);
    const w = Number(mode.slice(2));
    // One core each: workers in parallel, API and Redis each on a core of their own.
    const predicted = Math.min(
      (w * 10_000) / worker,
      10_000 / m(list, (r) => r.apiCpu),
      10_000 / m(list, (r) => r.redisCpu),
    );
    console.log(
      `${mode}: worker CPU per target ×${(worker / embeddedCpu).toFixed(2)} of the embedded ` +
        `process's; API + Redis CPU per result ×${(feed / worker).toFixed(2)} of a worker's; ` +
        `on ${w} cores for workers (and one each for API and Redis) ~${predicted.toFixed(0)} hosts/s.`,
    );
  }
}

await main();
