// `headprobe --server URL`: the command as a child process, its list run as jobs on a service
// started here, against loopback targets: the same output as a local run, a stream cut
// mid-job by a proxy and resumed with Last-Event-ID (every index once), Ctrl-C cancelling the
// job on the service, API keys, and a service that refuses.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { startApp } from '../helper.js';
import { onCleanup, track } from '../support/cleanup.js';
import { runCommand, startCommand } from '../support/command.js';
import { cuttingProxy } from '../support/cutting-proxy.js';
import {
  normalResponse,
  respondWith,
  type ServerHandle,
  startDelayServer,
  startTcpServer,
} from '../support/servers.js';

async function service(
  env: NodeJS.ProcessEnv = {},
): Promise<{ app: FastifyInstance; url: string }> {
  const app = await startApp(env);
  await app.listen({ port: 0, host: '127.0.0.1' });
  return { app, url: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}` };
}

interface Line {
  index: number;
  target: string;
  ok: boolean;
  status: number | null;
  error: { code: string; phase: string } | null;
}

const linesOf = (text: string) =>
  text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as Line)
    .sort((a, b) => a.index - b.index);

describe('headprobe --server', () => {
  it('prints what a local run prints, index for index, across jobs of --job-size', async () => {
    const { url } = await service();
    const target: ServerHandle = await track(startTcpServer(respondWith(normalResponse)));
    const up = `127.0.0.1:${target.port}`;
    const list = [up, `http://${up}/a`, '127.0.0.1:1', 'not a target', up].join('\n');

    const local = await runCommand(['-s'], { stdin: list });
    const remote = await runCommand(['-s', '--server', url, '--job-size', '2'], { stdin: list });
    expect(remote.code).toBe(0);
    expect(remote.stderr).toBe('');
    const [ours, theirs] = [linesOf(remote.stdout), linesOf(local.stdout)];
    expect(ours.map((line) => Object.keys(line))).toEqual(theirs.map((line) => Object.keys(line)));
    const gist = (line: Line) => [line.index, line.target, line.ok, line.status, line.error?.code];
    expect(ours.map(gist)).toEqual(theirs.map(gist));
    expect(ours.map((line) => line.index)).toEqual([0, 1, 2, 3, 4]);
  });

  it('reports a line the service would refuse as an invalid target, as a local run does', async () => {
    const { url } = await service();
    const target = await track(startTcpServer(respondWith(normalResponse)));
    const long = `http://127.0.0.1:${target.port}/${'a'.repeat(2100)}`;
    const list = [`127.0.0.1:${target.port}`, long, `127.0.0.1:${target.port}`].join('\n');
    const run = await runCommand(['-s', '--server', url], { stdin: list });
    expect(run.code).toBe(0);
    expect(linesOf(run.stdout).map((line) => [line.index, line.status, line.error?.code])).toEqual([
      [0, 200, undefined],
      [1, null, 'invalid_target'],
      [2, 200, undefined],
    ]);
  });

  it('stops with exit 1 when its job is cancelled on the service by someone else', async () => {
    const { app, url } = await service();
    let arrived: () => void = () => {};
    const silent = await track(startTcpServer(() => arrived()));
    const { done } = startCommand(['-s', '--server', url, '-m', '60'], {
      stdin: Array(3).fill(`127.0.0.1:${silent.port}`).join('\n'),
    });
    await new Promise<void>((resolve) => {
      arrived = resolve;
    });
    const jobs = await request(app.server).get('/v1/jobs').expect(200);
    await request(app.server).post(`/v1/jobs/${jobs.body.jobs[0].id}/cancel`).expect(200);
    const run = await done;
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/ended cancelled on the service/);
  });

  it('resumes a stream cut mid-job with Last-Event-ID: every result once, none missed', async () => {
    const { url } = await service();
    const target = await track(startDelayServer(30));
    const proxy = await track(cuttingProxy(Number(new URL(url).port), 3));
    const targets = Array.from({ length: 24 }, (_, i) => `http://127.0.0.1:${target.port}/${i}`);

    const run = await runCommand(['--server', proxy.url, '-c', '3'], {
      stdin: targets.join('\n'),
    });
    expect(run.code).toBe(0);
    expect(proxy.wasCut()).toBe(true);
    const streams = proxy.heads.filter((head) => head.includes('/events'));
    expect(streams.length).toBeGreaterThanOrEqual(2);
    expect(streams[1]).toMatch(/last-event-id: \d+/i);
    expect(run.stderr).toContain('was cut; resuming');
    const lines = linesOf(run.stdout);
    expect(lines.map((line) => line.index)).toEqual(targets.map((_, i) => i));
    expect(lines.every((line) => line.status === 200)).toBe(true);
  });

  it('cancels the job on the service on Ctrl-C: exit 130, running targets cancelled', async () => {
    const { app, url } = await service();
    const arrivals: Socket[] = [];
    let arrived: () => void = () => {};
    const silent = await track(
      startTcpServer((socket) => {
        arrivals.push(socket);
        if (arrivals.length === 2) arrived();
      }),
    );
    const targets = Array(10).fill(`127.0.0.1:${silent.port}`).join('\n');
    const { child, done } = startCommand(['-s', '--server', url, '-c', '2', '-m', '60'], {
      stdin: targets,
    });
    await new Promise<void>((resolve) => {
      arrived = resolve;
      if (arrivals.length >= 2) resolve();
    });
    child.kill('SIGINT');
    const run = await done;
    expect(run.code).toBe(130);
    // The two that ran end cancelled; the eight that never started are not printed.
    const lines = linesOf(run.stdout);
    expect(lines).toHaveLength(2);
    expect(lines.every((line) => line.error?.code === 'cancelled')).toBe(true);
    const jobs = await request(app.server).get('/v1/jobs').expect(200);
    expect(jobs.body.jobs.map((job: { status: string }) => job.status)).toEqual(['cancelled']);
  });

  it('sends HEADPROBE_API_KEY as a bearer key; without one it stops with one line, exit 1', async () => {
    const key = 'a-key-for-the-command-line';
    const { url } = await service({ HEADPROBE_API_KEYS: key });
    const target = await track(startTcpServer(respondWith(normalResponse)));
    const up = `127.0.0.1:${target.port}`;

    const refused = await runCommand(['-s', '--server', url, up]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(
      /^headprobe: the service refused the job: 401 unauthorized: .+\n$/,
    );
    expect(refused.stdout).toBe('');

    const allowed = await runCommand(['-s', '--server', url, up], {
      env: { HEADPROBE_API_KEY: key },
    });
    expect(allowed.code).toBe(0);
    expect(linesOf(allowed.stdout).map((line) => line.status)).toEqual([200]);
  });

  it('refuses local-only flags and a bad URL with exit 2, and an unreachable service with exit 1', async () => {
    // Refused before -O opens its file: an earlier run's output is not emptied.
    const dir = mkdtempSync(join(tmpdir(), 'headprobe-o-'));
    onCleanup(async () => rmSync(dir, { recursive: true, force: true }));
    const kept = join(dir, 'out.jsonl');
    writeFileSync(kept, '{"index":0}\n');
    const typo = await runCommand(['--server', 'ftp://x', '-O', kept, '127.0.0.1:1']);
    expect(typo.code).toBe(2);
    expect(readFileSync(kept, 'utf8')).toBe('{"index":0}\n');
    const bad = await runCommand(['--server', 'ftp://example', '127.0.0.1:1']);
    expect([bad.code, bad.stderr]).toEqual([
      2,
      'headprobe: --server ftp://example: expected an http(s) URL\n',
    ]);
    const local = await runCommand(['--server', 'http://127.0.0.1:9', '--dns-server', '127.0.0.1']);
    expect(local.code).toBe(2);
    expect(local.stderr).toContain('--dns-server applies to a local run');
    const closed = await track(startTcpServer(() => {}));
    const port = closed.port;
    await closed.close();
    const gone = await runCommand(['-s', '--server', `http://127.0.0.1:${port}`, '127.0.0.1:1']);
    expect([gone.code, gone.stderr]).toEqual([
      1,
      `headprobe: cannot reach http://127.0.0.1:${port}: ECONNREFUSED\n`,
    ]);
  });
});
