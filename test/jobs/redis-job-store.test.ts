// RedisJobStore against the shared JobStore contract, on a real Redis, plus what only a
// networked store has to show: two stores (two processes) on one Redis see one another's
// jobs, results, events and cancellations, and Redis forgets a finished job by TTL.
import type { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import type { JobEvent } from '../../src/jobs/job-store.js';
import { RedisJobStore } from '../../src/jobs/redis-job-store.js';
import { JobOptions } from '../../src/schemas/job.js';
import { connectTestRedis, deleteKeys, testPrefix, testRedisAvailable } from '../support/redis.js';
import { describeJobStoreContract, fakeClock } from './job-store.contract.js';

const available = await testRedisAvailable();

const opened: Array<{ connections: Redis[]; prefix: string }> = [];

async function cleanup(): Promise<void> {
  for (const { connections, prefix } of opened.splice(0)) {
    await deleteKeys(connections[0]!, prefix);
    for (const connection of connections) connection.disconnect();
  }
}

/** A store as one process would have it: its own two connections, under `prefix`. */
async function openStore(
  prefix: string,
  options: { maxJobs?: number; retentionMs?: number; now?: () => number } = {},
): Promise<RedisJobStore> {
  const redis = connectTestRedis();
  const subscriber = connectTestRedis();
  await Promise.all([redis.connect(), subscriber.connect()]);
  opened.push({ connections: [redis, subscriber], prefix });
  return new RedisJobStore({
    redis,
    subscriber,
    prefix,
    maxJobs: options.maxJobs ?? 100,
    retentionMs: options.retentionMs ?? 60_000,
    now: options.now,
  });
}

if (available) {
  describeJobStoreContract(
    'RedisJobStore',
    ({ maxJobs, retentionMs, clock }) =>
      openStore(testPrefix(), { maxJobs, retentionMs, now: clock.now }),
    cleanup,
  );
}

describe.skipIf(!available)('RedisJobStore across processes', () => {
  afterEach(cleanup);

  const newJob = (id: string, targets = ['a.example', 'b.example']) => ({
    id,
    createdAt: Date.now(),
    options: JobOptions.parse({}),
    targets,
    caller: 'caller-a',
    owner: null,
    idempotencyKey: null,
    requestHash: null,
  });

  it('shows one store’s job, results and events to another on the same Redis', async () => {
    const prefix = testPrefix();
    const api = await openStore(prefix);
    const worker = await openStore(prefix);
    await api.create(newJob('shared'));
    const events: JobEvent[] = [];
    let done!: () => void;
    const ended = new Promise<void>((resolve) => {
      done = resolve;
    });
    await api.subscribe('shared', (event) => {
      events.push(event);
      if (event.type === 'done') done();
    });

    await worker.markStarted('shared', Date.now());
    await worker.appendResult('shared', 1, true, '{"index":1}');
    // First write wins across processes too.
    expect((await api.appendResult('shared', 1, false, '{"again":1}')).appended).toBe(false);
    await worker.appendResult('shared', 0, false, '{"index":0}');
    await worker.finish('shared', 'succeeded', Date.now());
    await ended;

    expect(events.map((e) => (e.type === 'result' ? e.result.index : e.type))).toEqual([
      1,
      0,
      'done',
    ]);
    expect((await api.get('shared'))?.progress).toEqual({ total: 2, done: 2, ok: 1, failed: 1 });
    expect((await api.resultsAfter('shared', 0, 10)).map((r) => r.json)).toEqual([
      '{"index":1}',
      '{"index":0}',
    ]);
  });

  it('tells a runner in another process of a cancellation', async () => {
    const prefix = testPrefix();
    const api = await openStore(prefix);
    const worker = await openStore(prefix);
    await api.create(newJob('to-cancel'));
    const heard = new Promise<string>((resolve) => {
      void worker.watchCancellations(resolve);
    });
    // Give the watcher its subscription before the request goes out.
    await worker.watchCancellations(() => {});

    expect((await api.requestCancel('to-cancel')).requested).toBe(true);
    expect(await heard).toBe('to-cancel');
    expect((await worker.get('to-cancel'))?.cancelRequested).toBe(true);
  });

  it('counts queued targets across processes for the admission caps', async () => {
    const prefix = testPrefix();
    const a = await openStore(prefix);
    const b = await openStore(prefix);
    await a.create(newJob('one', ['x', 'y', 'z']));
    await b.create({ ...newJob('two'), caller: 'caller-b' });
    await b.appendResult('one', 0, true, '{}');

    expect(await a.queuedTargets('caller-a')).toEqual({ total: 4, caller: 2 });
    expect(await b.queuedTargets('caller-b')).toEqual({ total: 4, caller: 2 });
  });

  it('completes a finish that stopped half-way (its reply lost) when it is tried again', async () => {
    const prefix = testPrefix();
    const store = await openStore(prefix);
    await store.create(newJob('half', ['x']));
    const redis = opened.at(-1)!.connections[0]!;
    // The record says finished, but the indexes and TTLs never heard of it.
    await redis.hset(`${prefix}{job:half}`, 'status', 'succeeded', 'finishedAt', '1000');

    await store.finish('half', 'succeeded', 2000);

    expect(await redis.sismember(`${prefix}{index}:active`, 'half')).toBe(0);
    expect(await redis.zscore(`${prefix}{index}:finished`, 'half')).toBe('1000');
    expect(await redis.pttl(`${prefix}{job:half}`)).toBeGreaterThan(0);
    expect(await store.queuedTargets('caller-a')).toEqual({ total: 0, caller: 0 });
  });

  it('gives a finished job’s keys a Redis TTL of the retention and a minute', async () => {
    const clock = fakeClock();
    const prefix = testPrefix();
    const store = await openStore(prefix, { retentionMs: 10_000, now: clock.now });
    await store.create(newJob('ttl'));
    await store.appendResult('ttl', 0, true, '{}');
    await store.finish('ttl', 'succeeded', clock.now());

    const redis = opened.at(-1)!.connections[0]!;
    for (const key of [`${prefix}{job:ttl}`, `${prefix}{job:ttl}:results`]) {
      const ttl = await redis.pttl(key);
      expect(ttl).toBeGreaterThan(60_000);
      expect(ttl).toBeLessThanOrEqual(70_000);
    }
  });
});
