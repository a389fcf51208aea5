// The service as a user starts it: `npm start` in a child process (build, then listen), driven
// with plain HTTP against a loopback target, then stopped with SIGTERM.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  normalResponse,
  respondWith,
  type ServerHandle,
  startTcpServer,
} from '../support/servers.js';
import { listeningPort } from '../support/service-process.js';

let child: ChildProcess;
let base = '';
let target: ServerHandle;
const logLines: string[] = [];

beforeAll(async () => {
  target = await startTcpServer(respondWith(normalResponse));
  child = spawn('npm', ['start'], {
    cwd: new URL('../..', import.meta.url).pathname,
    env: {
      ...process.env,
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      HEADPROBE_ALLOW_CIDRS: '127.0.0.0/8',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
    // Its own process group, so SIGTERM reaches node behind npm.
    detached: true,
  });
  // Fastify logs "Server listening at http://127.0.0.1:PORT" once it accepts connections.
  base = `http://127.0.0.1:${await listeningPort(child, logLines, 'npm start')}`;
}, 120_000);

afterAll(async () => {
  if (child.exitCode === null && child.signalCode === null) {
    const exited = once(child, 'exit');
    process.kill(-child.pid!, 'SIGTERM');
    await exited;
  }
  await target.close();
});

function jsonLogs(): Array<Record<string, unknown>> {
  return logLines.filter((line) => line.startsWith('{')).map((line) => JSON.parse(line));
}

describe('the service started with npm start', () => {
  it('probes a batch over plain HTTP and logs one line per request with the job id', async () => {
    const live = await fetch(`${base}/livez`);
    expect(await live.json()).toEqual({ status: 'ok' });

    const submitted = await fetch(`${base}/v1/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', prefer: 'wait=10' },
      body: JSON.stringify({ targets: [`127.0.0.1:${target.port}`, 'ftp://x'] }),
    });
    expect(submitted.status).toBe(200);
    const job = (await submitted.json()) as { id: string };
    expect(job).toMatchObject({
      status: 'succeeded',
      results: [{ ok: true, status: 200 }, { ok: false }],
    });

    const ndjson = await fetch(`${base}/v1/jobs/${job.id}/results`, {
      headers: { accept: 'application/x-ndjson' },
    });
    expect((await ndjson.text()).trim().split('\n')).toHaveLength(2);

    expect((await fetch(`${base}/docs/`)).status).toBe(200);

    const requestLines = jsonLogs().filter((entry) => entry.msg === 'request');
    expect(requestLines.find((entry) => entry.url === '/v1/jobs')).toMatchObject({
      method: 'POST',
      statusCode: 200,
      jobId: job.id,
    });
  });

  it('stops on SIGTERM with exit code 0 (and so does npm around it)', async () => {
    // Signal the node process itself, as a container runtime would; pino logs its pid.
    const serverPid = jsonLogs()[0]?.pid as number;
    expect(serverPid).not.toBe(child.pid);
    const exited = once(child, 'exit');
    process.kill(serverPid, 'SIGTERM');
    const [code] = await exited;
    expect(code).toBe(0);
    expect(jsonLogs().some((entry) => entry.msg === 'closing' && entry.signal === 'SIGTERM')).toBe(
      true,
    );
  });
});

/** Starts the built server (`npm start` above built it) and resolves with its base URL. */
async function startServer(env: NodeJS.ProcessEnv) {
  const server = spawn(process.execPath, ['dist/src/server.js'], {
    cwd: new URL('../..', import.meta.url).pathname,
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    let pending = '';
    server.stdout!.setEncoding('utf8');
    server.stdout!.on('data', (chunk: string) => {
      pending += chunk;
      const match = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(pending);
      if (match) resolve(match[1]!);
    });
    server.once('exit', (code) => reject(new Error(`server exited with ${code}`)));
  });
  return { server, url };
}

async function ndjsonResults(
  url: string,
): Promise<Array<{ ok: boolean; error: { code: string } | null }>> {
  const response = await fetch(url, { headers: { accept: 'application/x-ndjson' } });
  const text = await response.text();
  return text
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line));
}

describe('graceful shutdown of the server process', () => {
  it('under load: refuses new jobs, lets running ones finish within the grace, cancels the rest, exits 0', async () => {
    let release!: () => void;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    const gated = await startTcpServer((socket) => {
      socket.once('data', () => void released.then(() => socket.end(normalResponse)));
    });
    const silent = await startTcpServer(() => {});
    const { server, url } = await startServer({
      HEADPROBE_ALLOW_CIDRS: '127.0.0.0/8',
      HEADPROBE_SHUTDOWN_GRACE_S: '1',
    });
    try {
      const submit = async (targets: string[], options: object) => {
        const response = await fetch(`${url}/v1/jobs`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ targets, options }),
        });
        return ((await response.json()) as { id: string }).id;
      };
      const finishing = await submit(Array(3).fill(`127.0.0.1:${gated.port}`), {});
      const stuck = await submit(Array(200).fill(`127.0.0.1:${silent.port}`), {
        concurrency: 50,
        timeoutMs: 60_000,
      });
      const finishingResults = ndjsonResults(`${url}/v1/jobs/${finishing}/results`);
      const stuckResults = ndjsonResults(`${url}/v1/jobs/${stuck}/results`);
      const exited = once(server, 'exit');

      server.kill('SIGTERM');
      // Draining starts at once: not ready, no new jobs.
      await vi.waitFor(async () => expect((await fetch(`${url}/readyz`)).status).toBe(503), {
        timeout: 5000,
        interval: 10,
      });
      const refused = await fetch(`${url}/v1/jobs`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ targets: [`127.0.0.1:${gated.port}`] }),
      });
      expect(refused.status).toBe(503);
      expect(refused.headers.get('retry-after')).toBe('5');
      expect(((await refused.json()) as { code: string }).code).toBe('shutting_down');

      release(); // the running job finishes inside the grace period
      const done = await finishingResults;
      expect(done.map((r) => r.ok)).toEqual([true, true, true]);
      const cancelled = await stuckResults;
      expect(cancelled).toHaveLength(200);
      expect(cancelled.every((r) => r.error?.code === 'cancelled')).toBe(true);
      const [code] = await exited;
      expect(code).toBe(0);
    } finally {
      if (server.exitCode === null) server.kill('SIGKILL');
      await Promise.all([gated.close(), silent.close()]);
    }
  }, 60_000);

  it('exits at once on a second signal', async () => {
    const silent = await startTcpServer(() => {});
    const { server, url } = await startServer({
      HEADPROBE_ALLOW_CIDRS: '127.0.0.0/8',
      HEADPROBE_SHUTDOWN_GRACE_S: '600',
    });
    try {
      await fetch(`${url}/v1/jobs`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          targets: [`127.0.0.1:${silent.port}`],
          options: { timeoutMs: 60_000 },
        }),
      });
      const exited = once(server, 'exit');
      server.kill('SIGTERM');
      await vi.waitFor(async () => expect((await fetch(`${url}/readyz`)).status).toBe(503), {
        timeout: 5000,
        interval: 10,
      });
      server.kill('SIGTERM');
      const [code] = await exited;
      expect(code).toBe(1);
    } finally {
      if (server.exitCode === null) server.kill('SIGKILL');
      await silent.close();
    }
  }, 60_000);
});
