// The service as a user starts it: `npm start` in a child process (build, then listen), driven
// with plain HTTP against a loopback target, then stopped with SIGTERM.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  normalResponse,
  respondWith,
  type ServerHandle,
  startTcpServer,
} from '../support/servers.js';

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
  base = await new Promise<string>((resolve, reject) => {
    let pending = '';
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (chunk: string) => {
      pending += chunk;
      const lines = pending.split('\n');
      pending = lines.pop()!;
      for (const line of lines) {
        logLines.push(line);
        const match = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(line);
        if (match) resolve(match[1]!);
      }
    });
    child.once('exit', (code) => reject(new Error(`npm start exited with ${code}`)));
  });
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
