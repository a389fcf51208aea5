// Hostile callers against the service, as issue 10 measured them, on this build and (with
// --baseline DIR, a built checkout of an older revision) on another in the same run. Figures,
// not pass/fail: slow bodies still open past the request deadline, what a trickled body costs
// in memory, a connection flood at a low open-file limit, another caller's small job behind a
// slow one, and what one request may make the service send.
//
//   npm run bench:hostile -- [--baseline DIR] [--slow N] [--trickle-s S] [--flood N]
import { once } from 'node:events';
import { mkdirSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { findRoot } from '../shared/bench-env.js';
import { ChildSet } from '../shared/bench-processes.js';
import {
  peakRssKb,
  type ServiceProcess,
  serviceEnvironment,
  startService,
  stopService,
} from '../shared/service-process.js';

const { values: args } = parseArgs({
  options: {
    baseline: { type: 'string' },
    slow: { type: 'string', default: '2000' },
    'trickle-s': { type: 'string', default: '10' },
    flood: { type: 'string', default: '2100' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (args.help) {
  process.stdout.write(
    'usage: npm run bench:hostile -- [--baseline DIR] [--slow N] [--trickle-s S] [--flood N]\n' +
      'DIR: a checkout of another revision with its production build (dist/src/server.js).\n',
  );
  process.exit(0);
}

const ROOT = findRoot(path.dirname(fileURLToPath(import.meta.url)));
const RESULTS = path.join(
  ROOT,
  'bench',
  'results',
  `${new Date().toISOString().replaceAll(':', '-')}-hostile`,
);
const KEY_A = 'bench-key-a-0123456789abcdef';
const KEY_B = 'bench-key-b-0123456789abcdef';

/** Clients spread over 127.0.0.0/8 source addresses, as many clients would be. */
function sourceAddress(i: number): string {
  return `127.0.${1 + Math.floor(i / 250)}.${1 + (i % 250)}`;
}

function dial(port: number, i: number): Promise<Socket | null> {
  const socket = connect({ port, host: '127.0.0.1', localAddress: sourceAddress(i) });
  socket.setNoDelay(true);
  socket.on('error', () => {});
  const timer = setTimeout(() => socket.destroy(), 5_000);
  return Promise.race([
    once(socket, 'connect').then(() => socket),
    once(socket, 'close').then(() => null),
  ]).finally(() => clearTimeout(timer));
}

const JOB_HEAD =
  'POST /v1/jobs HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\nContent-Length: 1000000\r\n\r\n{"targets":["';

async function answers(port: number, path_: string, init: RequestInit = {}): Promise<number> {
  try {
    const response = await fetch(`http://127.0.0.1:${port}${path_}`, {
      ...init,
      signal: AbortSignal.timeout(2_000),
    });
    await response.arrayBuffer();
    return response.status;
  } catch {
    return 0;
  }
}

/** Listeners that accept and never answer, one destination each (each capped at 6 by default). */
async function silentServers(count: number): Promise<{ servers: Server[]; addresses: string[] }> {
  const held: Socket[] = [];
  const servers: Server[] = [];
  const addresses: string[] = [];
  for (let i = 0; i < count; i++) {
    const server = createServer((socket) => {
      held.push(socket);
      socket.on('error', () => {});
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    server.on('close', () => {
      for (const socket of held.splice(0)) socket.destroy();
    });
    servers.push(server);
    addresses.push(`127.0.0.1:${(server.address() as { port: number }).port}`);
  }
  return { servers, addresses };
}

/** The service's own default per-caller share: fairness between callers is under test. */
function callerDefaults(env: NodeJS.ProcessEnv): Record<string, string> {
  const { HEADPROBE_CONCURRENCY_PER_CALLER: _whole, ...rest } = env;
  return rest as Record<string, string>;
}

interface Subject {
  readonly label: string;
  /** For log file names. */
  readonly file: string;
  readonly root: string;
}

type Row = Record<string, string | number>;

async function withService<T>(
  subject: Subject,
  name: string,
  env: Record<string, string>,
  run: (service: ServiceProcess) => Promise<T>,
  fileLimit?: number,
): Promise<T> {
  const children = new ChildSet();
  try {
    const service = await startService(
      children,
      subject.root,
      callerDefaults({ ...process.env, ...serviceEnvironment(500), LOG_LEVEL: 'warn', ...env }),
      path.join(RESULTS, `${subject.file}-${name}`),
      fileLimit,
    );
    try {
      return await run(service);
    } finally {
      await stopService(service.child);
    }
  } finally {
    await children.close();
  }
}

/** N connections send a body one byte a second; how many are still open past the deadline. */
async function slowBodies(subject: Subject, count: number): Promise<Row> {
  return withService(subject, 'slow', {}, async (service) => {
    const sockets = (
      await Promise.all(Array.from({ length: count }, (_, i) => dial(service.port, i)))
    ).filter((socket): socket is Socket => socket !== null);
    const closedAt: number[] = [];
    // Times count from when the heads went out.
    const started = performance.now();
    for (const socket of sockets) {
      socket.write(JOB_HEAD);
      socket.once('close', () => closedAt.push(performance.now() - started));
    }
    const drip = setInterval(() => {
      for (const socket of sockets) if (socket.writable) socket.write('a');
    }, 1_000);
    // The default request deadline is 30 s, checked every second: look at 33 s, then wait
    // (up to 45 s) for the last one.
    await sleep(33_000);
    const open = sockets.filter((socket) => !socket.destroyed).length;
    while (closedAt.length < sockets.length && performance.now() - started < 45_000) {
      await sleep(250);
    }
    clearInterval(drip);
    for (const socket of sockets) socket.destroy();
    closedAt.sort((a, b) => a - b);
    return {
      connected: sockets.length,
      'open 33 s after the heads': open,
      'open 45 s after': sockets.length - closedAt.length,
      'first closed s': closedAt.length ? (closedAt[0]! / 1000).toFixed(1) : '-',
      'last closed s': closedAt.length ? (closedAt.at(-1)! / 1000).toFixed(1) : '-',
    };
  });
}

/** 20 connections send bodies one byte per TCP segment; the service's RSS growth per byte. */
async function trickle(subject: Subject, seconds: number): Promise<Row> {
  return withService(
    subject,
    'trickle',
    { HEADPROBE_MAX_PENDING_BODY_MB: '1000' },
    async (service) => {
      const sockets = (
        await Promise.all(Array.from({ length: 20 }, (_, i) => dial(service.port, i)))
      ).filter((socket): socket is Socket => socket !== null);
      for (const socket of sockets) socket.write(JOB_HEAD);
      await sleep(500);
      const baseKb = (await peakRssKb(service.pid)) ?? 0;
      let sent = 0;
      const until = performance.now() + seconds * 1000;
      await Promise.all(
        sockets.map(async (socket) => {
          while (performance.now() < until && socket.writable) {
            await new Promise<void>((resolve) => socket.write('a', () => resolve()));
            sent++;
          }
        }),
      );
      const peakKb = (await peakRssKb(service.pid)) ?? 0;
      const alive = (await answers(service.port, '/livez')) === 200;
      for (const socket of sockets) socket.destroy();
      return {
        'bytes sent': sent,
        'RSS growth MB': ((peakKb - baseKb) / 1024).toFixed(1),
        'RSS bytes per body byte': (((peakKb - baseKb) * 1024) / Math.max(1, sent)).toFixed(1),
        'alive after': alive ? 'yes' : 'no',
      };
    },
  );
}

/** Connections held at `ulimit -n 2048`; then whether the service serves and runs a job. */
async function flood(subject: Subject, count: number, target: string): Promise<Row> {
  return withService(
    subject,
    'flood',
    { HEADPROBE_MAX_RSS_MB: '100000' },
    async (service) => {
      const sockets = await Promise.all(
        Array.from({ length: count }, (_, i) => dial(service.port, i)),
      );
      // Held for 10 s: load is sampled every second, and the old monitor threw on a sample.
      await sleep(10_000);
      const aliveDuring = service.child.exitCode === null;
      for (const socket of sockets) socket?.destroy();
      const released = performance.now();
      let ready = 0;
      while (performance.now() - released < 20_000 && ready !== 200) {
        ready = await answers(service.port, '/readyz');
        if (ready !== 200) await sleep(250);
      }
      const job = await answers(service.port, '/v1/jobs', {
        method: 'POST',
        headers: { 'content-type': 'application/json', prefer: 'wait=10' },
        body: JSON.stringify({ targets: [target] }),
      });
      const exitedEarly = service.child.exitCode;
      const exited = once(service.child, 'exit') as Promise<[number | null]>;
      service.child.kill('SIGTERM');
      const [code] = await Promise.race([exited, sleep(60_000).then(() => [null] as [null])]);
      return {
        held: sockets.filter(Boolean).length,
        'alive 10 s into the flood': aliveDuring ? 'yes' : 'no',
        'ready again after s':
          ready === 200 ? ((performance.now() - released) / 1000).toFixed(1) : 'never (20 s)',
        'job after the flood': job === 0 ? 'no answer' : String(job),
        'exit code on SIGTERM':
          exitedEarly !== null ? `already exited ${exitedEarly}` : String(code),
      };
    },
    2048,
  );
}

/** Caller A's slow job wants every slot; how long caller B's 5-target job takes. */
async function fairShare(subject: Subject, silent: string[], answering: string): Promise<Row> {
  return withService(
    subject,
    'fair',
    { HEADPROBE_API_KEYS: `${KEY_A},${KEY_B}` },
    async (service) => {
      const post = (key: string, body: unknown, prefer?: string) =>
        fetch(`http://127.0.0.1:${service.port}/v1/jobs`, {
          method: 'POST',
          headers: {
            authorization: `Bearer ${key}`,
            'content-type': 'application/json',
            ...(prefer ? { prefer } : {}),
          },
          body: JSON.stringify(body),
        });
      const slow = await post(KEY_A, {
        targets: Array.from({ length: 2_000 }, (_, i) => silent[i % silent.length]),
        options: { timeoutMs: 10_000 },
      });
      await slow.arrayBuffer();
      await sleep(200);
      const started = performance.now();
      const small = await post(KEY_B, { targets: Array(5).fill(answering) }, 'wait=30');
      const body = (await small.json()) as { status?: string };
      return {
        'A: silent targets, destinations, timeout': `2,000, ${silent.length}, 10 s`,
        'B: 5 targets, status': `${small.status} ${body.status ?? ''}`,
        'B waited s': ((performance.now() - started) / 1000).toFixed(2),
      };
    },
  );
}

/** What one request may make the service send: 64 headers of 8,192 characters, 10,000 targets. */
async function amplification(subject: Subject): Promise<Row> {
  return withService(subject, 'amplification', {}, async (service) => {
    const headers: Record<string, string> = {};
    for (let i = 0; i < 64; i++) headers[`X-H${i}`] = 'a'.repeat(8_192);
    const targets = Array(10_000).fill('127.0.0.1:9');
    const body = JSON.stringify({ targets, options: { headers } });
    const response = await fetch(`http://127.0.0.1:${service.port}/v1/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    const answer = (await response.json()) as { id?: string; code?: string };
    if (answer.id !== undefined) {
      await fetch(`http://127.0.0.1:${service.port}/v1/jobs/${answer.id}/cancel`, {
        method: 'POST',
      });
    }
    const perRequest = Object.entries(headers).reduce(
      (sum, [k, v]) => sum + k.length + v.length + 4,
      0,
    );
    return {
      'request KB': (body.length / 1024).toFixed(0),
      answer: `${response.status} ${answer.code ?? 'accepted'}`,
      'would send GB':
        response.status === 202 ? ((perRequest * targets.length) / 1e9).toFixed(2) : '0',
    };
  });
}

function table(title: string, rows: Array<[string, Row]>): string {
  const columns = [...new Set(rows.flatMap(([, row]) => Object.keys(row)))];
  const lines = [
    `### ${title}`,
    '',
    `| build | ${columns.join(' | ')} |`,
    `|---|${columns.map(() => '---:').join('|')}|`,
    ...rows.map(
      ([label, row]) => `| ${label} | ${columns.map((c) => row[c] ?? '-').join(' | ')} |`,
    ),
    '',
  ];
  return lines.join('\n');
}

async function main(): Promise<void> {
  mkdirSync(RESULTS, { recursive: true });
  const subjects: Subject[] = [{ label: 'this build', file: 'this', root: ROOT }];
  if (args.baseline)
    subjects.push({
      label: `baseline (${args.baseline})`,
      file: 'baseline',
      root: path.resolve(args.baseline),
    });
  // 100 destinations × 6 per destination: enough for A's job to want every one of 500 slots.
  const silent = await silentServers(100);
  const answering = createServer((socket) => {
    socket.on('error', () => {});
    socket.once('data', () => socket.end('HTTP/1.1 204 No Content\r\nServer: bench\r\n\r\n'));
  });
  await new Promise<void>((resolve) => answering.listen(0, '127.0.0.1', resolve));
  const answeringAddress = `127.0.0.1:${(answering.address() as { port: number }).port}`;
  const sections: Array<[string, (s: Subject) => Promise<Row>]> = [
    [
      `${args.slow} connections sending a POST body one byte a second`,
      (s) => slowBodies(s, Number(args.slow)),
    ],
    [
      '20 connections sending bodies one byte per TCP segment',
      (s) => trickle(s, Number(args['trickle-s'])),
    ],
    [
      `${args.flood} connections held at ulimit -n 2048`,
      (s) => flood(s, Number(args.flood), answeringAddress),
    ],
    ['another caller behind a slow job', (s) => fairShare(s, silent.addresses, answeringAddress)],
    ['amplification', amplification],
  ];
  const out: string[] = [`## Hostile callers (${new Date().toISOString()})`, ''];
  for (const [title, run] of sections) {
    const rows: Array<[string, Row]> = [];
    for (const subject of subjects) {
      try {
        rows.push([subject.label, await run(subject)]);
      } catch (error) {
        rows.push([subject.label, { error: String(error) }]);
      }
    }
    const text = table(title, rows);
    console.log(text);
    out.push(text);
  }
  for (const server of silent.servers) server.close();
  answering.close();
  writeFileSync(path.join(RESULTS, 'report.md'), out.join('\n'));
  console.log(`results: ${path.relative(ROOT, RESULTS)}`);
}

await main();
