// The Redis store and the service on a Redis Cluster (HEADPROBE_REDIS_CLUSTER): three masters
// the test starts, the store's contract suite on them, and API and worker apps running a job
// end to end and cancelling one, with the keys of jobs, indexes and queue spread over the
// nodes, so a command or script that crossed slots would fail here with CROSSSLOT.
import type { Cluster } from 'ioredis';
import request from 'supertest';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { createRedisClient, primaries, type RedisClient } from '../../src/jobs/redis-client.js';
import { RedisJobStore } from '../../src/jobs/redis-job-store.js';
import { JobOptions } from '../../src/schemas/job.js';
import { startApp } from '../helper.js';
import { OwnRedisCluster, redisServerInstalled } from '../support/redis-server.js';
import { normalResponse, startTcpServer } from '../support/servers.js';
import { describeJobStoreContract } from './job-store.contract.js';

const cluster = redisServerInstalled() ? await OwnRedisCluster.start() : null;
afterAll(() => cluster?.remove());

const clients: RedisClient[] = [];
afterAll(() => {
  for (const client of clients.splice(0)) client.disconnect();
});

async function connect(): Promise<RedisClient> {
  const client = createRedisClient({ url: cluster!.url, cluster: true }, { lazyConnect: true });
  clients.push(client);
  await client.connect();
  return client;
}

let prefixes = 0;
const nextPrefix = () => `cluster-test-${++prefixes}:`;

if (cluster !== null) {
  describeJobStoreContract(
    'RedisJobStore on a Redis Cluster',
    async ({ maxJobs, retentionMs, clock }) =>
      new RedisJobStore({
        redis: await connect(),
        subscriber: await connect(),
        prefix: nextPrefix(),
        maxJobs,
        retentionMs,
        now: clock.now,
      }),
  );
}

describe.skipIf(cluster === null)('RedisJobStore on a Redis Cluster, across shards', () => {
  it('lists, counts and finishes jobs that live on different nodes', async () => {
    const redis = await connect();
    const store = new RedisJobStore({
      redis,
      subscriber: await connect(),
      prefix: nextPrefix(),
      maxJobs: 100,
      retentionMs: 60_000,
    });
    const ids = Array.from({ length: 12 }, (_, i) => `spread-${i}`);
    for (const id of ids) {
      await store.create({
        id,
        createdAt: Date.now(),
        options: JobOptions.parse({}),
        targets: ['a.example', 'b.example', 'c.example'],
        caller: 'caller-a',
        owner: null,
        idempotencyKey: null,
        requestHash: null,
      });
    }
    // Twelve ids over three masters: a command that assumed one node would fail here.
    const slots = await Promise.all(ids.map((id) => redis.cluster('KEYSLOT', `{job:${id}}`)));
    const masters = new Set(slots.map((slot) => nodeOfSlot(redis, Number(slot))));
    expect(masters.size).toBeGreaterThan(1);

    expect(await store.queuedTargets('caller-a')).toEqual({ total: 36, caller: 36 });
    const page = await store.list({ limit: 100 });
    expect(page.jobs.map((job) => job.id).sort()).toEqual([...ids].sort());
    for (const id of ids) await store.finish(id, 'failed', Date.now());
    expect(await store.queuedTargets('caller-a')).toEqual({ total: 0, caller: 0 });
    expect((await store.list({ limit: 100, status: 'failed' })).jobs).toHaveLength(12);
  });
});

/** The master serving `slot`, as the client's slot map has it. */
function nodeOfSlot(client: RedisClient, slot: number): string {
  return String((client as Cluster).slots[slot]?.[0]);
}

describe.skipIf(cluster === null)('the service on a Redis Cluster', () => {
  const closers: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const close of closers.splice(0).reverse()) await close();
  });

  async function apps() {
    const env = {
      HEADPROBE_REDIS_URL: cluster!.url,
      HEADPROBE_REDIS_CLUSTER: 'true',
      HEADPROBE_REDIS_PREFIX: nextPrefix(),
    };
    const api = await startApp({ ...env, HEADPROBE_ROLE: 'api' });
    const worker = await startApp({ ...env, HEADPROBE_ROLE: 'worker', HEADPROBE_CHUNK_SIZE: '3' });
    return { api, worker };
  }

  it('runs a job cut into chunks on API and worker processes, every index once', async () => {
    const server = await startTcpServer((socket) => {
      socket.once('data', () => socket.end(normalResponse));
    });
    closers.push(() => server.close());
    const { api } = await apps();
    const total = 20;
    const where = `${server.host}:${server.port}`;
    const submitted = await request(api.server)
      .post('/v1/jobs')
      .send({ targets: Array.from({ length: total }, () => where) })
      .expect(202);
    const id = submitted.body.id as string;

    const followed = await request(api.server)
      .get(`/v1/jobs/${id}/results`)
      .set('Accept', 'application/x-ndjson')
      .expect(200);
    const indices = followed.text
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line).index as number)
      .sort((a, b) => a - b);
    expect(indices).toEqual(Array.from({ length: total }, (_, i) => i));
    const job = await request(api.server).get(`/v1/jobs/${id}`).expect(200);
    expect(job.body).toMatchObject({ status: 'succeeded', progress: { done: total, ok: total } });
    const loop = await request(api.server).get('/v1/loop').expect(200);
    expect(loop.body.queue).toEqual({ waiting: 0, active: 0 });
    expect(loop.body.workers).toHaveLength(1);

    // Jobs, indexes and the queue sit on more than one node: the layout was really spread.
    const withKeys = await Promise.all(
      primaries(await connect()).map(async (node) => (await node.dbsize()) > 0),
    );
    expect(withKeys.filter(Boolean).length).toBeGreaterThan(1);
  });

  it('cancels a running job from the API process: the worker ends its targets cancelled', async () => {
    let connected: () => void = () => {};
    const probed = new Promise<void>((resolve) => {
      connected = resolve;
    });
    const server = await startTcpServer(() => connected());
    closers.push(() => server.close());
    const { api } = await apps();
    const where = `${server.host}:${server.port}`;
    const submitted = await request(api.server)
      .post('/v1/jobs')
      .send({ targets: [where, where, where, where], options: { timeoutMs: 30_000 } })
      .expect(202);
    const id = submitted.body.id as string;
    await probed;

    await request(api.server).post(`/v1/jobs/${id}/cancel`).expect(200);
    await vi.waitFor(
      async () => {
        const job = await request(api.server).get(`/v1/jobs/${id}`).expect(200);
        expect(job.body.status).toBe('cancelled');
      },
      { timeout: 10_000, interval: 50 },
    );
    const job = await request(api.server).get(`/v1/jobs/${id}`).expect(200);
    expect(job.body.progress).toMatchObject({ total: 4, done: 4 });
  });
});
