// Scenario 5, API overhead: autocannon (its own process, ended by PID) against an otherwise
// idle service, on a cheap read (GET of a finished job) and on job submission (POST of one
// target that is refused at once, so each job ends within milliseconds).
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { z } from 'zod';
import { processCpuSeconds } from '../shared/bench-processes.js';
import { emptyTally } from './service-client.js';
import {
  jobOptions,
  type Running,
  type ServiceBenchContext,
  targetsFor,
  withService,
} from './service-scenarios.js';

/** Port 9 (discard) on loopback has no listener: the probe fails with connection_refused. */
export const refusedTarget = '127.0.0.1:9';
const warmupS = 1;
const killGraceMs = 3000;

const AutocannonReport = z.object({
  duration: z.number(),
  errors: z.number(),
  timeouts: z.number(),
  non2xx: z.number(),
  '2xx': z.number(),
  latency: z.object({ p50: z.number(), p99: z.number(), average: z.number() }),
  requests: z.object({ total: z.number(), average: z.number() }),
});

export interface ApiRun {
  endpoint: string;
  rep: number;
  connections: number;
  requests: number;
  reqPerS: number;
  p50Ms: number;
  p99Ms: number;
  meanMs: number;
  non2xx: number;
  errors: number;
  serviceCpuS: number | undefined;
}

export function autocannonScript(root: string): string {
  return path.join(root, 'node_modules', 'autocannon', 'autocannon.js');
}

async function autocannon(
  ctx: ServiceBenchContext,
  args: string[],
  logPrefix: string,
): Promise<z.infer<typeof AutocannonReport>> {
  const { apiConnections, apiDurationS } = ctx.options;
  const argv = [
    autocannonScript(ctx.root),
    '--json',
    '--connections',
    String(apiConnections),
    '--duration',
    String(apiDurationS),
    '--warmup',
    '[',
    '-c',
    String(apiConnections),
    '-d',
    String(warmupS),
    ']',
    ...args,
  ];
  await writeFile(`${logPrefix}.spec`, `${JSON.stringify(argv)}\n`);
  const child = ctx.children.spawn(process.execPath, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  let escalate: NodeJS.Timeout | undefined;
  const deadline = setTimeout(
    () => {
      child.kill('SIGTERM');
      escalate = setTimeout(() => child.kill('SIGKILL'), killGraceMs);
    },
    (apiDurationS + warmupS + 20) * 1000,
  );
  const [code] = (await once(child, 'exit')) as [number | null];
  clearTimeout(deadline);
  clearTimeout(escalate);
  await writeFile(`${logPrefix}.stdout`, stdout);
  await writeFile(`${logPrefix}.stderr`, stderr);
  const line = stdout.trim().split('\n').pop() ?? '';
  try {
    return AutocannonReport.parse(JSON.parse(line));
  } catch {
    throw new Error(`autocannon exited ${code} without a JSON report (see ${logPrefix}.stderr)`);
  }
}

async function measureEndpoint(
  ctx: ServiceBenchContext,
  running: Running,
  endpoint: string,
  rep: number,
  args: string[],
): Promise<ApiRun> {
  const slug = endpoint.replace(/[^a-z0-9]+/gi, '-').replace(/^-|-$/g, '');
  const before = processCpuSeconds(running.service.pid);
  const report = await autocannon(ctx, args, path.join(ctx.logsDir, `api.${slug}.${rep}`));
  const after = processCpuSeconds(running.service.pid);
  const run: ApiRun = {
    endpoint,
    rep,
    connections: ctx.options.apiConnections,
    requests: report.requests.total,
    reqPerS: report.requests.total / report.duration,
    p50Ms: report.latency.p50,
    p99Ms: report.latency.p99,
    meanMs: report.latency.average,
    non2xx: report.non2xx,
    errors: report.errors + report.timeouts,
    serviceCpuS: before === undefined || after === undefined ? undefined : after - before,
  };
  ctx.log(
    `api ${endpoint.padEnd(22)} rep ${rep}  ${run.reqPerS.toFixed(0)} req/s ` +
      `p50=${run.p50Ms}ms p99=${run.p99Ms}ms non2xx=${run.non2xx} errors=${run.errors}`,
  );
  return run;
}

/** One rep: a fresh idle service, then GET of a finished job, then POST of a refused target. */
export function runApiRep(ctx: ServiceBenchContext, rep: number): Promise<ApiRun[]> {
  if (!existsSync(autocannonScript(ctx.root))) {
    throw new Error(`${autocannonScript(ctx.root)} missing: run \`npm install\``);
  }
  return withService(ctx, `api.${rep}`, async (running) => {
    const small = await running.client.runJob(
      targetsFor(10, ctx.fast.port),
      jobOptions(ctx.options.c),
      emptyTally(),
    );
    const base = running.client.baseUrl;
    const get = await measureEndpoint(ctx, running, 'GET /v1/jobs/{id}', rep, [
      `${base}/v1/jobs/${small.id}`,
    ]);
    // Every POST names the same destination: at the default politeness cap (6 in flight per
    // host:port) the jobs would queue for it, and this would measure the cap, not the API.
    const options = { ...jobOptions(1), concurrencyPerDestination: 100 };
    const post = await measureEndpoint(ctx, running, 'POST /v1/jobs (1 target)', rep, [
      '--method',
      'POST',
      '--headers',
      'content-type=application/json',
      '--body',
      JSON.stringify({ targets: [refusedTarget], options }),
      `${base}/v1/jobs`,
    ]);
    return [get, post];
  });
}
