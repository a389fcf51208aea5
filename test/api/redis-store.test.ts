// The service on a Redis job store (HEADPROBE_REDIS_URL): two apps on one Redis act as two
// API processes, each running the jobs it accepted, and either one answers for any job:
// reads, follows, cancels. A Redis that goes away gives 503 store_unavailable, never a 500,
// and the service recovers by itself when it is back.
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import request from 'supertest';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { JobOptions } from '../../src/schemas/job.js';
import { startApp } from '../helper.js';
import { deletePrefixes, testPrefix, testRedisAvailable, testRedisUrl } from '../support/redis.js';
import { OwnRedisServer, redisServerInstalled } from '../support/redis-server.js';
import { normalResponse, respondWith, startTcpServer } from '../support/servers.js';

const available = await testRedisAvailable();

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

// Deleted after the file's last test: the apps close after each test's own cleanups, and a
// closing app still writes (a job it ends), so keys deleted per test would come back.
const prefixes: string[] = [];
afterAll(() => deletePrefixes(prefixes));

async function sharedPrefix(): Promise<string> {
  const prefix = testPrefix();
  prefixes.push(prefix);
  return prefix;
}

async function target(respond = respondWith(normalResponse)) {
  const server = await startTcpServer(respond);
  cleanups.push(() => server.close());
  return `${server.host}:${server.port}`;
}

describe.skipIf(!available)('the service on Redis', () => {
  it('answers for a job accepted by another process: read it, follow it to the end', async () => {
    const prefix = await sharedPrefix();
    const env = { HEADPROBE_REDIS_URL: testRedisUrl, HEADPROBE_REDIS_PREFIX: prefix };
    const accepting = await startApp(env);
    const other = await startApp(env);
    const where = await target();

    const submitted = await request(accepting.server)
      .post('/v1/jobs')
      .send({ targets: [where, where, where], options: { concurrencyPerDestination: 3 } })
      .expect(202);
    const id = submitted.body.id as string;

    const followed = await request(other.server)
      .get(`/v1/jobs/${id}/results`)
      .set('Accept', 'application/x-ndjson')
      .expect(200);
    const lines = followed.text
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(lines.map((line) => line.index).sort()).toEqual([0, 1, 2]);
    expect(lines.every((line) => line.ok)).toBe(true);

    const job = await request(other.server).get(`/v1/jobs/${id}`).expect(200);
    expect(job.body).toMatchObject({ status: 'succeeded', progress: { total: 3, ok: 3 } });
    // Counts kept in Redis by the worker's writes, read here by another process.
    const grade = lines[0].grade as string;
    expect(job.body.counts.grades).toEqual({ [grade]: 3 });
    expect(job.body.counts.findings['csp-not-implemented']).toBe(3);
    const listed = await request(other.server).get('/v1/jobs').expect(200);
    expect(listed.body.jobs.map((j: { id: string }) => j.id)).toEqual([id]);
    // The queue, seen from any API process, and every series labelled with the role.
    const loop = await request(other.server).get('/v1/loop').expect(200);
    expect(loop.body.queue).toEqual({ waiting: 0, active: 0 });
    // Both processes run chunks (role all), and each has reported its loop.
    expect(loop.body.workers).toHaveLength(2);
    expect(loop.body.workers[0]).toMatchObject({ pid: process.pid, concurrency: 500, running: 0 });
    const metrics = (await request(other.server).get('/metrics').expect(200)).text;
    expect(metrics).toContain('headprobe_queue_chunks{state="waiting",role="all"} 0');
    expect(metrics).toContain('headprobe_jobs_active{role="all"} 0');
  });

  it('counts one caller’s rate limit once across processes, not once per process', async () => {
    const prefix = await sharedPrefix();
    const env = {
      HEADPROBE_REDIS_URL: testRedisUrl,
      HEADPROBE_REDIS_PREFIX: prefix,
      HEADPROBE_RATE_LIMIT_TARGETS_PER_MIN: '5',
    };
    const first = await startApp(env);
    const second = await startApp(env);
    const targets = ['127.0.0.1:9', '127.0.0.1:9', '127.0.0.1:9'];
    const options = { concurrencyPerDestination: 3 };

    await request(first.server).post('/v1/jobs').send({ targets, options }).expect(202);
    const refused = await request(second.server)
      .post('/v1/jobs')
      .send({ targets, options })
      .expect(429);
    expect(refused.body.code).toBe('rate_limited');
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
  });

  it('queues again a job stored but never queued (its API process died in between)', async () => {
    const prefix = await sharedPrefix();
    const env = { HEADPROBE_REDIS_URL: testRedisUrl, HEADPROBE_REDIS_PREFIX: prefix };
    const app = await startApp(env, { orphanSweep: { everyMs: 50, olderThanMs: 1_000 } });
    const where = await target();
    // As a submit leaves it when its process dies after create(), before dispatch().
    const orphan = await app.jobStore.create({
      id: 'orphan',
      createdAt: Date.now() - 5_000,
      options: JobOptions.parse({ concurrencyPerDestination: 2 }),
      targets: [where, where],
      caller: 'ip:127.0.0.1',
      owner: null,
      idempotencyKey: null,
      requestHash: null,
    });

    await vi.waitFor(
      async () => {
        const job = await request(app.server).get(`/v1/jobs/${orphan.id}`).expect(200);
        expect(job.body).toMatchObject({ status: 'succeeded', progress: { total: 2, ok: 2 } });
      },
      { timeout: 10_000, interval: 50 },
    );
  });

  it('cancels from one process a job that runs in another', async () => {
    const prefix = await sharedPrefix();
    const env = { HEADPROBE_REDIS_URL: testRedisUrl, HEADPROBE_REDIS_PREFIX: prefix };
    const running = await startApp(env);
    const other = await startApp(env);
    // A target that never answers: only the cancellation ends these.
    const silent = await target(() => {});

    const submitted = await request(running.server)
      .post('/v1/jobs')
      .send({ targets: [silent, silent], options: { timeoutMs: 60_000 } })
      .expect(202);
    const id = submitted.body.id as string;
    await vi.waitFor(async () => {
      const job = await request(other.server).get(`/v1/jobs/${id}`).expect(200);
      expect(job.body.status).toBe('running');
    });

    await request(other.server).post(`/v1/jobs/${id}/cancel`).expect(200);
    const ended = await request(running.server)
      .get(`/v1/jobs/${id}`)
      .set('Prefer', 'wait=10')
      .expect(200);
    expect(ended.body.status).toBe('cancelled');
    expect(ended.body.progress).toMatchObject({ total: 2, done: 2 });
  });
});

describe.skipIf(!redisServerInstalled())('the service when Redis goes away', () => {
  it('answers 503 store_unavailable with Retry-After, /readyz says so, and it recovers', async () => {
    const redis = await OwnRedisServer.start();
    cleanups.push(() => redis.remove());
    const app = await startApp({ HEADPROBE_REDIS_URL: redis.url });
    await request(app.server).get('/readyz').expect(200);

    await redis.stop();
    await vi.waitFor(() => request(app.server).get('/readyz').expect(503), { timeout: 10_000 });
    const readiness = await request(app.server).get('/readyz').expect(503);
    expect(readiness.body).toEqual({ status: 'store_unavailable' });
    expect(readiness.headers['retry-after']).toBe('5');
    const read = await request(app.server).get('/v1/jobs/some-job').expect(503);
    expect(read.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(read.headers['retry-after']).toBe('5');
    expect(read.body).toMatchObject({ code: 'store_unavailable', status: 503 });
    await request(app.server)
      .post('/v1/jobs')
      .send({ targets: ['127.0.0.1:9'] })
      .expect(503);

    await redis.start();
    await vi.waitFor(() => request(app.server).get('/readyz').expect(200), {
      timeout: 10_000,
      interval: 100,
    });
    const where = await target();
    const job = await request(app.server)
      .post('/v1/jobs')
      .set('Prefer', 'wait=10')
      .send({ targets: [where] })
      .expect(200);
    expect(job.body.progress).toMatchObject({ total: 1, ok: 1 });
  });

  it('pauses a running job while Redis is away and finishes it after, losing no result', async () => {
    const redis = await OwnRedisServer.start({ persistent: true });
    cleanups.push(() => redis.remove());
    const app = await startApp({ HEADPROBE_REDIS_URL: redis.url });
    const slow = await target((socket) => {
      socket.once('data', () => setTimeout(() => socket.end(normalResponse), 100));
    });
    const total = 40;
    const submitted = await request(app.server)
      .post('/v1/jobs')
      .send({
        targets: Array.from({ length: total }, () => slow),
        options: { concurrency: 5, concurrencyPerDestination: 5 },
      })
      .expect(202);
    const id = submitted.body.id as string;
    await vi.waitFor(
      async () => {
        const job = await request(app.server).get(`/v1/jobs/${id}`).expect(200);
        expect(job.body.progress.done).toBeGreaterThanOrEqual(10);
      },
      { timeout: 10_000, interval: 50 },
    );

    // Away mid-job: targets that end meanwhile wait to be written.
    await redis.stop();
    await vi.waitFor(() => request(app.server).get('/readyz').expect(503), { timeout: 10_000 });
    await redis.start();

    await vi.waitFor(
      async () => {
        const job = await request(app.server).get(`/v1/jobs/${id}`).expect(200);
        expect(job.body.status).toBe('succeeded');
      },
      { timeout: 20_000, interval: 100 },
    );
    const job = await request(app.server).get(`/v1/jobs/${id}`).expect(200);
    expect(job.body.progress).toEqual({ total, done: total, ok: total, failed: 0 });
    const page = await request(app.server).get(`/v1/jobs/${id}/results?limit=100`).expect(200);
    const indices = page.body.results
      .map((r: { index: number }) => r.index)
      .sort((a: number, b: number) => a - b);
    expect(indices).toEqual(Array.from({ length: total }, (_, i) => i));
  }, 40_000);
});

describe.skipIf(!available)('a worker that stops', () => {
  it('hands its running chunk back at its priority, without using up one of its tries', async () => {
    const prefix = await sharedPrefix();
    const env = { HEADPROBE_REDIS_URL: testRedisUrl, HEADPROBE_REDIS_PREFIX: prefix };
    const api = await startApp({ ...env, HEADPROBE_ROLE: 'api' });
    const worker = await startApp({ ...env, HEADPROBE_ROLE: 'worker' });
    const silent = await target(() => {});
    const submitted = await request(api.server)
      .post('/v1/jobs')
      .send({ targets: [silent, silent], options: { timeoutMs: 30_000 } })
      .expect(202);
    const id = submitted.body.id as string;
    await vi.waitFor(
      async () => {
        const job = await request(api.server).get(`/v1/jobs/${id}`).expect(200);
        expect(job.body.status).toBe('running');
      },
      { timeout: 10_000, interval: 50 },
    );

    await worker.close();

    const connection = new Redis(testRedisUrl, { maxRetriesPerRequest: null });
    const queue = new Queue('chunks', { connection, prefix: `${prefix}{bull}` });
    cleanups.push(async () => {
      await queue.close();
      connection.disconnect();
    });
    const chunk = await queue.getJob(`${id}.0`);
    expect(await chunk?.getState()).toBe('prioritized');
    expect(chunk?.attemptsMade).toBe(0);
    const job = await request(api.server).get(`/v1/jobs/${id}`).expect(200);
    expect(job.body).toMatchObject({ status: 'running', progress: { done: 0 } });
  });
});
