// The runner on its own, as a worker process will use it: slices of a job on the process's
// scheduler against a loopback server, each result written to the store as it lands, first
// write wins on a re-run, and a cancellation heard from the store.
import { afterEach, describe, expect, it } from 'vitest';
import { JobRunner } from '../../src/jobs/job-runner.js';
import type { JobRecord, NewJob } from '../../src/jobs/job-store.js';
import { MemoryJobStore } from '../../src/jobs/memory-job-store.js';
import { createDnsResolver } from '../../src/probe/index.js';
import { JobOptions } from '../../src/schemas/job.js';
import {
  normalResponse,
  respondWith,
  type ServerHandle,
  startTcpServer,
} from '../support/servers.js';

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

async function setUp(respond = respondWith(normalResponse)) {
  const server: ServerHandle = await startTcpServer(respond);
  closers.push(() => server.close());
  const store = new MemoryJobStore({ maxJobs: 10, retentionMs: 60_000 });
  const runner = new JobRunner({ store, resolver: createDnsResolver(), concurrency: 4 });
  await runner.start();
  closers.push(() => runner.close());
  const target = `${server.host}:${server.port}`;
  const create = (targets: number, options: Record<string, unknown> = {}): Promise<JobRecord> => {
    const job: NewJob = {
      id: `job-${Math.random().toString(36).slice(2)}`,
      createdAt: Date.now(),
      options: JobOptions.parse({ timeoutMs: 5_000, ...options }),
      targets: Array.from({ length: targets }, () => target),
      caller: 'caller-a',
      owner: null,
      idempotencyKey: null,
      requestHash: null,
    };
    return store.create(job);
  };
  return { store, runner, server, create };
}

describe('JobRunner', () => {
  it('runs slices of a job, writes each result once, and ends the job with its last one', async () => {
    const { store, runner, server, create } = await setUp();
    const job = await create(4);

    await runner.run(job, [0, 2]);
    expect((await store.get(job.id))?.progress.done).toBe(2);
    expect((await store.get(job.id))?.status).toBe('running');
    // A re-run of a slice that already has results (a worker died after writing them):
    // probed again, stored once.
    await runner.run(job, [2, 3]);
    const slice = await store.get(job.id);
    expect(slice?.progress).toEqual({ total: 4, done: 3, ok: 3, failed: 0 });
    expect(slice?.status).toBe('running');

    await runner.run(job, [1]);
    const ended = await store.get(job.id);
    expect(ended?.status).toBe('succeeded');
    const stored = await store.resultsAfter(job.id, 0, 10);
    expect(stored.map((result) => result.index).sort()).toEqual([0, 1, 2, 3]);
    expect(server.connections).toBe(5);
  });

  it('stops a job when a cancellation is recorded in the store, and ends it cancelled', async () => {
    // A server that never answers: only the cancellation can end these targets.
    const { store, runner, create } = await setUp(() => {});
    const job = await create(6);
    const running = runner.run(job);
    await store.requestCancel(job.id);
    await running;

    const ended = await store.get(job.id);
    expect(ended?.status).toBe('cancelled');
    expect(ended?.progress.done).toBe(6);
    const results = await store.resultsAfter(job.id, 0, 10);
    expect(results.every((result) => JSON.parse(result.json).error.code === 'cancelled')).toBe(
      true,
    );
  });

  it('gives targets that could not be run an internal_error result, and ends the job', async () => {
    const { store, runner, server, create } = await setUp();
    const job = await create(3);
    await runner.run(job, [0]);

    await runner.failTargets(job, [1, 2], 'its chunk failed 20 times: boom');

    const ended = await store.get(job.id);
    expect(ended).toMatchObject({ status: 'succeeded', progress: { done: 3, ok: 1, failed: 2 } });
    const failed = (await store.resultsInInputOrder(job.id, 10))
      .slice(1)
      .map((r) => JSON.parse(r.json));
    expect(failed.map((r) => r.error)).toEqual([
      {
        code: 'internal_error',
        message: 'its chunk failed 20 times: boom',
        phase: expect.any(String),
      },
      {
        code: 'internal_error',
        message: 'its chunk failed 20 times: boom',
        phase: expect.any(String),
      },
    ]);
    expect(server.connections).toBe(1);
  });

  it('stops a run whose job ended elsewhere: its late results are refused, its targets stop', async () => {
    // The first request is answered; the rest never are, so only the stop can end them.
    let answered = false;
    const { store, runner, server, create } = await setUp((socket) => {
      if (answered) return;
      answered = true;
      socket.once('data', () => socket.end(normalResponse));
    });
    const job = await create(6, { concurrencyPerDestination: 6 });
    // Another run's failed write ended the job (as a worker on Redis may), before this run's
    // first result lands.
    await store.finish(job.id, 'failed', Date.now());

    expect(await runner.run(job)).toBe('complete');
    const ended = await store.get(job.id);
    expect(ended).toMatchObject({ status: 'failed', progress: { done: 0 } });
    expect(await store.resultsAfter(job.id, 0, 10)).toEqual([]);
    expect(server.connections).toBeLessThanOrEqual(6);
  });

  it('runs no target of a job cancelled before it reached the runner', async () => {
    const { store, runner, server, create } = await setUp();
    const job = await create(3);
    await store.requestCancel(job.id);
    await runner.run((await store.get(job.id))!);

    expect((await store.get(job.id))?.status).toBe('cancelled');
    expect(server.connections).toBe(0);
  });

  it('stops a job whose cancellation notice was lost, from the stored flag', async () => {
    const server = await startTcpServer(() => {});
    closers.push(() => server.close());
    // A store that never tells its watchers: only the stored flag says the job is cancelled.
    class DeafStore extends MemoryJobStore {
      override async watchCancellations() {
        return () => {};
      }
    }
    const store = new DeafStore({ maxJobs: 10, retentionMs: 60_000 });
    const runner = new JobRunner({
      store,
      resolver: createDnsResolver(),
      concurrency: 4,
      cancelRecheckMs: 50,
    });
    await runner.start();
    closers.push(() => runner.close());
    const job = await store.create({
      id: 'deaf',
      createdAt: Date.now(),
      options: JobOptions.parse({ timeoutMs: 30_000 }),
      targets: [`${server.host}:${server.port}`, `${server.host}:${server.port}`],
      caller: 'caller-a',
      owner: null,
      idempotencyKey: null,
      requestHash: null,
    });
    const running = runner.run(job);
    await store.requestCancel(job.id);
    await running;

    expect((await store.get(job.id))?.status).toBe('cancelled');
  });
});
