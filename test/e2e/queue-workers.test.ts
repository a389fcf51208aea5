// API and worker processes on one Redis, as real child processes: a job accepted by the API
// runs on the workers in chunks, and a worker killed with SIGKILL mid-job loses nothing: its
// chunks go to the other worker once their locks run out, which runs only the indices still
// without a result, and a client following the job sees every index exactly once.
import { get } from 'node:http';
import request from 'supertest';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { deletePrefixes, testPrefix, testRedisAvailable, testRedisUrl } from '../support/redis.js';
import { onRequestHead, type ServerHandle, startTcpServer } from '../support/servers.js';
import { type ServiceProcess, startServiceProcess } from '../support/service-process.js';

const available = await testRedisAvailable();

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const ANSWER = 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n';

/** Answers each request after `delayMs`, counting requests (a target may be probed twice). */
async function slowTarget(delayMs: number): Promise<ServerHandle & { requests(): number }> {
  let requests = 0;
  const server = await startTcpServer((socket) => {
    onRequestHead(socket, () => {
      requests++;
      setTimeout(() => socket.end(ANSWER), delayMs);
    });
    socket.on('error', () => {});
  });
  cleanups.push(() => server.close());
  return Object.assign(server, { requests: () => requests });
}

async function cluster(prefix: string, workers: number, apis = 1, extra: NodeJS.ProcessEnv = {}) {
  const env = {
    ...extra,
    HEADPROBE_REDIS_URL: testRedisUrl,
    HEADPROBE_REDIS_PREFIX: prefix,
    HEADPROBE_CHUNK_SIZE: '20',
    HEADPROBE_CHUNK_LOCK_MS: '2000',
    HEADPROBE_CONCURRENCY: '20',
  };
  const start = async (role: string): Promise<ServiceProcess> => {
    const process = await startServiceProcess({ env: { ...env, HEADPROBE_ROLE: role } });
    cleanups.push(() => process.stop('SIGKILL'));
    return process;
  };
  const [api, ...otherApis] = await Promise.all(Array.from({ length: apis }, () => start('api')));
  const started = await Promise.all(Array.from({ length: workers }, () => start('worker')));
  return { api: api!, otherApis, workers: started };
}

/**
 * Reads a job's SSE stream from `port`, resuming with `lastEventId` when given, until `done`
 * or until `stopAfter` result events (then it hangs up, as a dropped connection would).
 * Returns the results' indices and the last event id.
 */
function readSse(
  port: number,
  id: string,
  options: { lastEventId?: string; stopAfter?: number } = {},
): Promise<{ indices: number[]; lastEventId: string | undefined; done: boolean }> {
  return new Promise((resolve, reject) => {
    const indices: number[] = [];
    let lastEventId = options.lastEventId;
    const headers: Record<string, string> = { accept: 'text/event-stream' };
    if (options.lastEventId !== undefined) headers['last-event-id'] = options.lastEventId;
    const req = get(
      { host: '127.0.0.1', port, path: `/v1/jobs/${id}/events`, headers },
      (response) => {
        let pending = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => {
          pending += chunk;
          const messages = pending.split('\n\n');
          pending = messages.pop()!;
          for (const message of messages) {
            const field = (name: string) =>
              message
                .split('\n')
                .find((line) => line.startsWith(`${name}:`))
                ?.slice(name.length + 1)
                .trim();
            const event = field('event');
            if (event === undefined) continue;
            lastEventId = field('id') ?? lastEventId;
            if (event === 'result') indices.push(JSON.parse(field('data')!).index);
            if (event === 'done') return resolve({ indices, lastEventId, done: true });
            if (options.stopAfter !== undefined && indices.length >= options.stopAfter) {
              req.destroy();
              return resolve({ indices, lastEventId, done: false });
            }
          }
        });
        response.on('end', () => resolve({ indices, lastEventId, done: false }));
        response.on('error', () => {});
      },
    );
    req.on('error', (error) => {
      if (!req.destroyed) reject(error);
    });
  });
}

/** Follows a job's NDJSON stream from the API, calling `onLine` per result, to its end. */
function followNdjson(port: number, id: string, onLine: (index: number) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    get(
      {
        host: '127.0.0.1',
        port,
        path: `/v1/jobs/${id}/results`,
        headers: { accept: 'application/x-ndjson' },
      },
      (response) => {
        let pending = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => {
          pending += chunk;
          const lines = pending.split('\n');
          pending = lines.pop()!;
          for (const line of lines) if (line !== '') onLine(JSON.parse(line).index);
        });
        response.on('end', resolve);
        response.on('error', reject);
      },
    ).on('error', reject);
  });
}

/** A prefix of the test's own, its keys deleted after the test (the processes stopped first). */
function ownPrefix(): string {
  const prefix = testPrefix();
  cleanups.push(() => deletePrefixes([prefix]));
  return prefix;
}

const JOB_OPTIONS = { concurrencyPerDestination: 100, timeoutMs: 10_000 };

/** Submits a job of `total` targets, all the target on `targetPort`; its id. */
async function submitSameTarget(apiPort: number, targetPort: number, total: number) {
  const where = `127.0.0.1:${targetPort}`;
  const submitted = await request(`http://127.0.0.1:${apiPort}`)
    .post('/v1/jobs')
    .send({ targets: Array.from({ length: total }, () => where), options: JOB_OPTIONS })
    .expect(202);
  return submitted.body.id as string;
}

describe.skipIf(!available)('API and workers on Redis', () => {
  it('serves a job from another API process when the one that took it is killed, over SSE with Last-Event-ID', {
    timeout: 60_000,
  }, async () => {
    const prefix = ownPrefix();
    const total = 120;
    const target = await slowTarget(100);
    const { api, otherApis, workers } = await cluster(prefix, 1, 2);
    expect(workers).toHaveLength(1);
    const id = await submitSameTarget(api.port, target.port, total);
    api.child.kill('SIGKILL');

    const other = otherApis[0]!.port;
    const first = await readSse(other, id, { stopAfter: 30 });
    expect(first.done).toBe(false);
    const rest = await readSse(other, id, { lastEventId: first.lastEventId });
    expect(rest.done).toBe(true);

    const seen = [...first.indices, ...rest.indices];
    expect(seen).toHaveLength(total);
    expect(new Set(seen).size).toBe(total);
  });

  it('loses no target when a worker is killed mid-job, and shows each index once', {
    timeout: 60_000,
  }, async () => {
    const prefix = ownPrefix();
    const total = 300;
    const target = await slowTarget(150);
    const { api, workers } = await cluster(prefix, 2);
    const id = await submitSameTarget(api.port, target.port, total);

    // An SSE follower too, which drops its connection once and resumes by Last-Event-ID.
    const sse = (async () => {
      const first = await readSse(api.port, id, { stopAfter: 100 });
      const rest = await readSse(api.port, id, { lastEventId: first.lastEventId });
      return { indices: [...first.indices, ...rest.indices], done: rest.done };
    })();
    const seen: number[] = [];
    let killed = false;
    await followNdjson(api.port, id, (index) => {
      seen.push(index);
      // Mid-job, with chunks running on both workers: the first dies without a word.
      if (!killed && seen.length === 60) {
        killed = true;
        workers[0]!.child.kill('SIGKILL');
      }
    });
    const followed = await sse;
    expect(followed.done).toBe(true);
    expect(followed.indices).toHaveLength(total);
    expect(new Set(followed.indices).size).toBe(total);

    expect(killed).toBe(true);
    expect(seen).toHaveLength(total);
    expect(new Set(seen).size).toBe(total);
    const job = await request(`http://127.0.0.1:${api.port}`).get(`/v1/jobs/${id}`).expect(200);
    expect(job.body).toMatchObject({
      status: 'succeeded',
      progress: { total, done: total, ok: total },
    });
    // What was in flight on the killed worker was probed again, and reported once.
    expect(target.requests()).toBeGreaterThan(total);
  });

  it('hands a stopping worker’s chunks back: it exits 0 and another worker ends the job', {
    timeout: 60_000,
  }, async () => {
    const prefix = ownPrefix();
    const total = 200;
    const target = await slowTarget(150);
    // No grace: what runs when SIGTERM comes is handed back at once.
    const { api, workers } = await cluster(prefix, 2, 1, { HEADPROBE_SHUTDOWN_GRACE_S: '0' });
    const id = await submitSameTarget(api.port, target.port, total);

    const seen: number[] = [];
    let stopped: Promise<{ code: number | null }> | null = null;
    await followNdjson(api.port, id, (index) => {
      seen.push(index);
      if (stopped === null && seen.length === 40) stopped = workers[0]!.stop('SIGTERM');
    });

    expect((await stopped!)?.code).toBe(0);
    expect(seen).toHaveLength(total);
    expect(new Set(seen).size).toBe(total);
    const job = await request(`http://127.0.0.1:${api.port}`).get(`/v1/jobs/${id}`).expect(200);
    expect(job.body).toMatchObject({ status: 'succeeded', progress: { done: total, ok: total } });
  });

  it('lets a small job submitted behind a big one through, across workers', {
    timeout: 60_000,
  }, async () => {
    const prefix = ownPrefix();
    const big = 2000;
    const target = await slowTarget(100);
    const { api } = await cluster(prefix, 2);
    const client = request(`http://127.0.0.1:${api.port}`);
    const where = `127.0.0.1:${target.port}`;
    const options = JOB_OPTIONS;
    const bigJob = await client
      .post('/v1/jobs')
      .send({ targets: Array.from({ length: big }, () => where), options })
      .expect(202);
    const bigId = bigJob.body.id as string;
    await vi.waitFor(async () => {
      const job = await client.get(`/v1/jobs/${bigId}`).expect(200);
      expect(job.body.progress.done).toBeGreaterThan(0);
    });

    // Its one chunk goes ahead of the big job's chunks not yet taken.
    const small = await client
      .post('/v1/jobs')
      .set('Prefer', 'wait=30')
      .send({ targets: Array.from({ length: 5 }, () => where), options })
      .expect(200);
    expect(small.body.progress).toMatchObject({ total: 5, ok: 5 });
    const bigNow = await client.get(`/v1/jobs/${bigId}`).expect(200);
    expect(bigNow.body.status).toBe('running');
    expect(bigNow.body.progress.done).toBeLessThan(big / 2);
  });
});
