// The behaviour every JobStore must have, as one vitest suite each store file runs with its
// own factory. Only the JobStore interface is used, and time only moves by the injected
// clock, so a Redis store can run it unchanged.
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  IdempotencyKeyInUseError,
  InvalidCursorError,
  JobEndedError,
  type JobEvent,
  type JobRecord,
  type JobStore,
  JobStoreFullError,
  type NewJob,
} from '../../src/jobs/job-store.js';
import { JobOptions } from '../../src/schemas/job.js';

export interface FakeClock {
  now(): number;
  advance(ms: number): void;
}

export interface JobStoreContractOptions {
  maxJobs: number;
  retentionMs: number;
  /** The store's notion of "now" for retention; the suite also passes it as every `at`. */
  clock: FakeClock;
}

export type MakeJobStore = (opts: JobStoreContractOptions) => Promise<JobStore> | JobStore;

export function fakeClock(start = Date.UTC(2025, 0, 1)): FakeClock {
  let now = start;
  return {
    now: () => now,
    advance(ms) {
      now += ms;
    },
  };
}

/** Collects one subscription's events and lets a test await a point in them, not a delay. */
class EventLog {
  readonly events: JobEvent[] = [];
  readonly #waiters = new Set<() => void>();

  readonly listener = (event: JobEvent): void => {
    this.events.push(event);
    for (const wake of this.#waiters) wake();
  };

  until(predicate: (events: readonly JobEvent[]) => boolean): Promise<void> {
    return new Promise((resolve) => {
      const check = (): void => {
        if (!predicate(this.events)) return;
        this.#waiters.delete(check);
        resolve();
      };
      this.#waiters.add(check);
      check();
    });
  }

  untilDone(): Promise<void> {
    return this.until((events) => events.some((event) => event.type === 'done'));
  }
}

const defaultOptions = JobOptions.parse({});

/** About 200 bytes, the size of a small ProbeResult. */
function resultJson(index: number): string {
  return JSON.stringify({
    index,
    target: `host-${index}.example.com`,
    statusCode: 200,
    headers: { server: 'nginx', 'content-type': 'text/html; charset=utf-8' },
    timings: { dns: 1.25, connect: 2.5, tls: 7.75, firstByte: 21.5, total: 22.25 },
  });
}

export function describeJobStoreContract(
  name: string,
  makeStore: MakeJobStore,
  cleanup?: () => Promise<void>,
): void {
  describe(`JobStore contract: ${name}`, () => {
    if (cleanup) afterEach(cleanup);

    async function open(limits: Partial<Omit<JobStoreContractOptions, 'clock'>> = {}) {
      const clock = fakeClock();
      const store = await makeStore({ maxJobs: 100, retentionMs: 60_000, ...limits, clock });
      const newJob = (overrides: Partial<NewJob> = {}): NewJob => ({
        id: `job-${randomUUID()}`,
        createdAt: clock.now(),
        options: defaultOptions,
        targets: ['a.example', 'b.example:8443', 'https://c.example/'],
        caller: 'caller-a',
        owner: null,
        idempotencyKey: null,
        requestHash: null,
        ...overrides,
      });
      /** Jobs created one clock second apart, so creation order and createdAt agree. */
      const createJobs = async (count: number): Promise<JobRecord[]> => {
        const jobs: JobRecord[] = [];
        for (let i = 0; i < count; i++) {
          jobs.push(await store.create(newJob()));
          clock.advance(1000);
        }
        return jobs;
      };
      return { clock, store, newJob, createJobs };
    }

    const ids = (jobs: readonly JobRecord[]) => jobs.map((job) => job.id);

    describe('create and get', () => {
      it('round-trips a job with its options and targets', async () => {
        const { store, newJob, clock } = await open();
        const options = JobOptions.parse({ method: 'HEAD', timeoutMs: 2500, concurrency: 4 });
        const submitted = newJob({
          options,
          targets: ['a.example', 'a.example', '[2001:db8::1]:443'],
          owner: 'owner-hash',
          idempotencyKey: 'key-1',
          requestHash: 'hash-1',
        });
        const expected = {
          id: submitted.id,
          status: 'queued',
          createdAt: clock.now(),
          startedAt: null,
          finishedAt: null,
          options,
          targets: ['a.example', 'a.example', '[2001:db8::1]:443'],
          progress: { total: 3, done: 0, ok: 0, failed: 0 },
          tallies: {},
          cancelRequested: false,
          caller: 'caller-a',
          owner: 'owner-hash',
          idempotencyKey: 'key-1',
          requestHash: 'hash-1',
        };

        expect(await store.create(submitted)).toEqual(expected);
        expect(await store.get(submitted.id)).toEqual(expected);
      });

      it('returns null for an unknown id', async () => {
        const { store } = await open();
        expect(await store.get('no-such-job')).toBeNull();
      });

      it('finds a job by its idempotency key, and only by one it was given', async () => {
        const { store, newJob } = await open();
        const keyed = await store.create(newJob({ idempotencyKey: 'retry-me', requestHash: 'h' }));
        await store.create(newJob());

        const found = await store.findByIdempotencyKey(null, 'retry-me');
        expect(found?.id).toBe(keyed.id);
        expect(found?.requestHash).toBe('h');
        expect(await store.findByIdempotencyKey(null, 'other-key')).toBeNull();
      });

      it('creates under an idempotency key only if absent, atomically, with a typed error', async () => {
        const { store, newJob } = await open();
        // Two retries at once: exactly one job, and the other learns which.
        const attempts = await Promise.allSettled([
          store.create(newJob({ owner: 'a', idempotencyKey: 'k', requestHash: 'h' })),
          store.create(newJob({ owner: 'a', idempotencyKey: 'k', requestHash: 'h' })),
        ]);
        const created = attempts.filter((a) => a.status === 'fulfilled');
        const refused = attempts.filter((a) => a.status === 'rejected');
        expect([created.length, refused.length]).toEqual([1, 1]);
        const error = (refused[0] as PromiseRejectedResult).reason as unknown;
        expect(error).toBeInstanceOf(IdempotencyKeyInUseError);
        const job = (created[0] as PromiseFulfilledResult<JobRecord>).value;
        expect((error as IdempotencyKeyInUseError).existing.id).toBe(job.id);
        expect((await store.list({ limit: 10 })).jobs).toHaveLength(1);
      });

      it('keeps idempotency keys per owner: the same key names each owner’s own job', async () => {
        const { store, newJob } = await open();
        const a = await store.create(newJob({ owner: 'a', idempotencyKey: 'k', requestHash: 'x' }));
        const b = await store.create(newJob({ owner: 'b', idempotencyKey: 'k', requestHash: 'y' }));
        expect((await store.findByIdempotencyKey('a', 'k'))?.id).toBe(a.id);
        expect((await store.findByIdempotencyKey('b', 'k'))?.id).toBe(b.id);
        expect(await store.findByIdempotencyKey(null, 'k')).toBeNull();
        await store.delete(a.id);
        expect(await store.findByIdempotencyKey('a', 'k')).toBeNull();
        expect((await store.findByIdempotencyKey('b', 'k'))?.id).toBe(b.id);
      });
    });

    describe('markStarted', () => {
      it('moves a queued job to running once; later calls change nothing', async () => {
        const { store, newJob, clock } = await open();
        const job = await store.create(newJob());
        const startedAt = clock.now();

        await store.markStarted(job.id, startedAt);
        clock.advance(500);
        await store.markStarted(job.id, clock.now());

        expect(await store.get(job.id)).toMatchObject({ status: 'running', startedAt });
      });

      it('does not restart a finished job', async () => {
        const { store, newJob, clock } = await open();
        const job = await store.create(newJob());
        await store.finish(job.id, 'cancelled', clock.now());

        await store.markStarted(job.id, clock.now());

        expect(await store.get(job.id)).toMatchObject({ status: 'cancelled', startedAt: null });
      });
    });

    describe('appendResult', () => {
      it('numbers results in completion order and counts them', async () => {
        const { store, newJob } = await open();
        const job = await store.create(newJob());

        expect(await store.appendResult(job.id, 2, true, resultJson(2))).toEqual({
          result: { seq: 1, index: 2, json: resultJson(2) },
          appended: true,
        });
        expect(await store.appendResult(job.id, 0, false, resultJson(0))).toEqual({
          result: { seq: 2, index: 0, json: resultJson(0) },
          appended: true,
        });

        const record = await store.get(job.id);
        expect(record?.progress).toEqual({ total: 3, done: 2, ok: 1, failed: 1 });
      });

      it('counts the tally keys of each stored result, never of a kept duplicate', async () => {
        const { store, newJob } = await open();
        const job = await store.create(newJob());
        await store.appendResult(job.id, 0, false, resultJson(0), ['error:dns_timeout']);
        await store.appendResult(job.id, 1, true, resultJson(1), ['grade:B', 'finding:hsts-x']);
        await store.appendResult(job.id, 2, true, resultJson(2), ['grade:B']);
        // A re-run's second write for index 1 is kept out, counts included.
        await store.appendResult(job.id, 1, true, resultJson(1), ['grade:A', 'finding:hsts-x']);

        expect((await store.get(job.id))?.tallies).toEqual({
          'error:dns_timeout': 1,
          'grade:B': 2,
          'finding:hsts-x': 1,
        });
      });

      it('keeps the JSON exactly as given', async () => {
        const { store, newJob } = await open();
        const job = await store.create(newJob());
        const json = ' { "index" : 0,\n"note":"spaces and \\u00e9 kept" } ';

        await store.appendResult(job.id, 0, true, json);

        expect((await store.resultsAfter(job.id, 0, 10))[0]?.json).toBe(json);
      });

      it('keeps the first result for an index: a second write is a no-op that says so', async () => {
        const { store, newJob } = await open();
        const job = await store.create(newJob());
        const first = await store.appendResult(job.id, 1, true, resultJson(1));
        expect(first).toEqual({
          result: { seq: 1, index: 1, json: resultJson(1) },
          appended: true,
        });
        const log = new EventLog();
        await store.subscribe(job.id, log.listener);

        // A slice run again (a worker died after writing it) must neither duplicate nor fail.
        const again = await store.appendResult(job.id, 1, false, '{"again":true}');
        expect(again).toEqual({ result: first.result, appended: false });
        expect(log.events).toEqual([]);

        expect((await store.get(job.id))?.progress).toEqual({
          total: 3,
          done: 1,
          ok: 1,
          failed: 0,
        });
        expect(await store.resultsAfter(job.id, 0, 10)).toEqual([
          { seq: 1, index: 1, json: resultJson(1) },
        ]);
      });

      it('takes no new result once the job has ended, and still answers a repeated one', async () => {
        const { store, newJob } = await open();
        const job = await store.create(newJob({ caller: 'caller-b' }));
        await store.appendResult(job.id, 0, true, resultJson(0));
        await store.finish(job.id, 'failed', Date.now());
        const log = new EventLog();
        await store.subscribe(job.id, log.listener);

        // A run still going when another run's failed write ended the job.
        await expect(store.appendResult(job.id, 1, true, resultJson(1))).rejects.toThrow(
          JobEndedError,
        );
        expect(await store.appendResult(job.id, 0, false, '{}')).toMatchObject({ appended: false });
        expect(log.events).toEqual([]);
        expect((await store.get(job.id))?.progress).toEqual({
          total: 3,
          done: 1,
          ok: 1,
          failed: 0,
        });
        expect(await store.queuedTargets('caller-b')).toEqual({ total: 0, caller: 0 });
      });

      it('rejects an index outside the targets', async () => {
        const { store, newJob } = await open();
        const job = await store.create(newJob());

        await expect(store.appendResult(job.id, 3, true, '{}')).rejects.toThrow();
        await expect(store.appendResult(job.id, -1, true, '{}')).rejects.toThrow();
        expect((await store.get(job.id))?.progress.done).toBe(0);
      });
    });

    describe('reading results', () => {
      it('pages through results in completion order by afterSeq and limit', async () => {
        const { store, newJob } = await open();
        const targets = Array.from({ length: 10 }, (_, i) => `t${i}.example`);
        const job = await store.create(newJob({ targets }));
        const completionOrder = [7, 3, 9, 0, 1, 8, 2, 6, 5, 4];
        for (const index of completionOrder) {
          await store.appendResult(job.id, index, true, resultJson(index));
        }

        const seqs = async (afterSeq: number, limit: number) =>
          (await store.resultsAfter(job.id, afterSeq, limit)).map((r) => [r.seq, r.index]);

        expect(await seqs(0, 4)).toEqual([
          [1, 7],
          [2, 3],
          [3, 9],
          [4, 0],
        ]);
        expect(await seqs(4, 4)).toEqual([
          [5, 1],
          [6, 8],
          [7, 2],
          [8, 6],
        ]);
        expect(await seqs(8, 4)).toEqual([
          [9, 5],
          [10, 4],
        ]);
        expect(await seqs(10, 4)).toEqual([]);
        const page = await store.resultsAfter(job.id, 2, 1);
        expect(page).toEqual([{ seq: 3, index: 9, json: resultJson(9) }]);
      });

      it('lists the results finished so far in input order, up to limit', async () => {
        const { store, newJob } = await open();
        const targets = Array.from({ length: 6 }, (_, i) => `t${i}.example`);
        const job = await store.create(newJob({ targets }));
        await store.appendResult(job.id, 4, true, resultJson(4));
        await store.appendResult(job.id, 1, false, resultJson(1));
        await store.appendResult(job.id, 5, true, resultJson(5));

        expect(await store.resultsInInputOrder(job.id, 10)).toEqual([
          { seq: 2, index: 1, json: resultJson(1) },
          { seq: 1, index: 4, json: resultJson(4) },
          { seq: 3, index: 5, json: resultJson(5) },
        ]);
        expect((await store.resultsInInputOrder(job.id, 2)).map((r) => r.index)).toEqual([1, 4]);
      });
    });

    describe('indicesWithoutResult', () => {
      it('lists the indices of a range that have no result yet, for a re-run chunk', async () => {
        const { store, newJob } = await open();
        const targets = Array.from({ length: 8 }, (_, i) => `t${i}.example`);
        const job = await store.create(newJob({ targets }));
        for (const index of [1, 4, 5]) {
          await store.appendResult(job.id, index, true, resultJson(index));
        }

        expect(await store.indicesWithoutResult(job.id, 0, 8)).toEqual([0, 2, 3, 6, 7]);
        expect(await store.indicesWithoutResult(job.id, 4, 6)).toEqual([]);
        expect(await store.indicesWithoutResult(job.id, 5, 100)).toEqual([6, 7]);
        expect(await store.indicesWithoutResult('no-such-job', 0, 8)).toEqual([]);
      });
    });

    describe('finish and events', () => {
      it('sets the final status and finishedAt, once', async () => {
        const { store, newJob, clock } = await open();
        const job = await store.create(newJob());
        await store.markStarted(job.id, clock.now());
        clock.advance(2000);
        const finishedAt = clock.now();

        await store.finish(job.id, 'succeeded', finishedAt);
        clock.advance(1000);
        await store.finish(job.id, 'failed', clock.now());

        expect(await store.get(job.id)).toMatchObject({ status: 'succeeded', finishedAt });
      });

      it('tells a subscriber each result in order, then done', async () => {
        const { store, newJob, clock } = await open();
        const job = await store.create(newJob());
        const log = new EventLog();
        await store.subscribe(job.id, log.listener);

        await store.appendResult(job.id, 2, true, resultJson(2));
        await store.appendResult(job.id, 0, false, resultJson(0));
        await store.finish(job.id, 'cancelled', clock.now());
        await log.untilDone();

        expect(log.events).toEqual([
          {
            type: 'result',
            result: { seq: 1, index: 2, json: resultJson(2) },
            progress: { total: 3, done: 1, ok: 1, failed: 0 },
          },
          {
            type: 'result',
            result: { seq: 2, index: 0, json: resultJson(0) },
            progress: { total: 3, done: 2, ok: 1, failed: 1 },
          },
          { type: 'done', status: 'cancelled', progress: { total: 3, done: 2, ok: 1, failed: 1 } },
        ]);
      });

      it('stops telling a subscriber that unsubscribed', async () => {
        const { store, newJob, clock } = await open();
        const job = await store.create(newJob());
        const leaving = new EventLog();
        const staying = new EventLog();
        const unsubscribe = await store.subscribe(job.id, leaving.listener);
        await store.subscribe(job.id, staying.listener);

        await store.appendResult(job.id, 0, true, resultJson(0));
        await leaving.until((events) => events.length === 1);
        unsubscribe();
        await store.appendResult(job.id, 1, true, resultJson(1));
        await store.finish(job.id, 'succeeded', clock.now());
        // Events of one job arrive in order: once `staying` has done, `leaving` missed nothing.
        await staying.untilDone();

        expect(staying.events.map((event) => event.type)).toEqual(['result', 'result', 'done']);
        expect(leaving.events.map((event) => event.type)).toEqual(['result']);
      });

      it('keeps telling the other subscribers when one listener throws', async () => {
        const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
        try {
          const { store, newJob, clock } = await open();
          const job = await store.create(newJob());
          await store.subscribe(job.id, () => {
            throw new Error('listener bug');
          });
          const log = new EventLog();
          await store.subscribe(job.id, log.listener);

          const { result: stored } = await store.appendResult(job.id, 0, true, resultJson(0));
          await store.finish(job.id, 'succeeded', clock.now());
          await log.untilDone();

          expect(stored.seq).toBe(1);
          expect(log.events.map((event) => event.type)).toEqual(['result', 'done']);
          expect((await store.get(job.id))?.status).toBe('succeeded');
        } finally {
          warn.mockRestore();
        }
      });
    });

    describe('list', () => {
      it('pages newest first with an opaque cursor', async () => {
        const { store, createJobs } = await open();
        const jobs = await createJobs(7);
        const newestFirst = ids(jobs).reverse();

        const first = await store.list({ limit: 3 });
        expect(ids(first.jobs)).toEqual(newestFirst.slice(0, 3));
        expect(first.nextCursor).toEqual(expect.any(String));

        const second = await store.list({ limit: 3, cursor: first.nextCursor! });
        expect(ids(second.jobs)).toEqual(newestFirst.slice(3, 6));
        expect(second.nextCursor).toEqual(expect.any(String));

        const last = await store.list({ limit: 3, cursor: second.nextCursor! });
        expect(ids(last.jobs)).toEqual(newestFirst.slice(6));
        expect(last.nextCursor).toBeNull();
      });

      it('has no next cursor when the page ends exactly at the oldest job', async () => {
        const { store, createJobs } = await open();
        expect(await store.list({ limit: 3 })).toEqual({ jobs: [], nextCursor: null });
        await createJobs(3);

        expect((await store.list({ limit: 3 })).nextCursor).toBeNull();
      });

      it('filters by status across pages', async () => {
        const { store, createJobs, clock } = await open();
        const jobs = await createJobs(7);
        for (const job of jobs.filter((_, i) => i % 2 === 0)) {
          await store.markStarted(job.id, clock.now());
        }
        const running = ids(jobs.filter((_, i) => i % 2 === 0)).reverse();
        const queued = ids(jobs.filter((_, i) => i % 2 === 1)).reverse();

        const first = await store.list({ status: 'running', limit: 3 });
        expect(ids(first.jobs)).toEqual(running.slice(0, 3));
        const second = await store.list({ status: 'running', limit: 3, cursor: first.nextCursor! });
        expect(second).toEqual({
          jobs: [expect.objectContaining({ id: running[3] })],
          nextCursor: null,
        });
        expect(ids((await store.list({ status: 'queued', limit: 10 })).jobs)).toEqual(queued);
        expect((await store.list({ status: 'failed', limit: 10 })).jobs).toEqual([]);
      });

      it('lists only one owner’s jobs when asked, across pages', async () => {
        const { store, newJob, clock } = await open();
        const mine: JobRecord[] = [];
        for (let i = 0; i < 6; i++) {
          const job = await store.create(newJob({ owner: i % 2 === 0 ? 'me' : 'them' }));
          if (i % 2 === 0) mine.push(job);
          clock.advance(1000);
        }
        const first = await store.list({ owner: 'me', limit: 2 });
        const second = await store.list({ owner: 'me', limit: 2, cursor: first.nextCursor! });
        expect([...ids(first.jobs), ...ids(second.jobs)]).toEqual(ids(mine).reverse());
        expect(second.nextCursor).toBeNull();
        expect((await store.list({ owner: null, limit: 10 })).jobs).toEqual([]);
        expect((await store.list({ limit: 10 })).jobs).toHaveLength(6);
      });

      it('rejects a cursor it did not hand out', async () => {
        const { store, createJobs } = await open();
        await createJobs(4);

        for (const cursor of ['not-a-cursor', '!!!', '']) {
          await expect(store.list({ limit: 3, cursor })).rejects.toBeInstanceOf(InvalidCursorError);
        }
      });
    });

    describe('retention', () => {
      it('forgets a finished job retentionMs after it finished', async () => {
        const { store, newJob, clock } = await open({ retentionMs: 10_000 });
        const job = await store.create(newJob({ idempotencyKey: 'k' }));
        await store.appendResult(job.id, 0, true, resultJson(0));
        await store.finish(job.id, 'succeeded', clock.now());

        clock.advance(9_999);
        expect((await store.get(job.id))?.status).toBe('succeeded');

        clock.advance(1);
        expect(await store.get(job.id)).toBeNull();
        expect(await store.findByIdempotencyKey(null, 'k')).toBeNull();
        expect((await store.list({ limit: 10 })).jobs).toEqual([]);
        expect(await store.delete(job.id)).toBe(false);
      });

      it('drops expired jobs from list without their being read first', async () => {
        const { store, createJobs, clock } = await open({ retentionMs: 10_000 });
        const [old, kept] = await createJobs(2);
        await store.finish(old!.id, 'succeeded', clock.now());

        clock.advance(10_000);

        expect(ids((await store.list({ limit: 10 })).jobs)).toEqual([kept!.id]);
      });

      it('never expires queued or running jobs', async () => {
        const { store, createJobs, clock } = await open({ retentionMs: 10_000 });
        const [queued, running] = await createJobs(2);
        await store.markStarted(running!.id, clock.now());

        clock.advance(1_000_000);

        expect((await store.get(queued!.id))?.status).toBe('queued');
        expect((await store.get(running!.id))?.status).toBe('running');
      });

      it('frees an expired job’s idempotency key for a new job', async () => {
        const { store, newJob, clock } = await open({ retentionMs: 10_000 });
        const old = await store.create(newJob({ idempotencyKey: 'k' }));
        await store.finish(old.id, 'succeeded', clock.now());
        clock.advance(10_000);

        const fresh = await store.create(newJob({ idempotencyKey: 'k' }));

        expect((await store.findByIdempotencyKey(null, 'k'))?.id).toBe(fresh.id);
      });
    });

    describe('maxJobs', () => {
      it('evicts the job that finished longest ago to make room', async () => {
        const { store, createJobs, newJob, clock } = await open({ maxJobs: 3 });
        const [a, b, c] = await createJobs(3);
        await store.finish(b!.id, 'succeeded', clock.now());
        clock.advance(1000);
        await store.finish(a!.id, 'cancelled', clock.now());

        const d = await store.create(newJob());
        expect(await store.get(b!.id)).toBeNull();
        expect(ids((await store.list({ limit: 10 })).jobs)).toEqual([d.id, c!.id, a!.id]);

        clock.advance(1000);
        const e = await store.create(newJob());
        expect(await store.get(a!.id)).toBeNull();
        expect(ids((await store.list({ limit: 10 })).jobs)).toEqual([e.id, d.id, c!.id]);
      });

      it('makes room from expired jobs first', async () => {
        const { store, createJobs, newJob, clock } = await open({ maxJobs: 2, retentionMs: 10 });
        const [old, active] = await createJobs(2);
        await store.finish(old!.id, 'succeeded', clock.now());
        clock.advance(10);

        const fresh = await store.create(newJob());

        expect(ids((await store.list({ limit: 10 })).jobs)).toEqual([fresh.id, active!.id]);
      });

      it('refuses a new job when every kept job is still active', async () => {
        const { store, createJobs, newJob, clock } = await open({ maxJobs: 3 });
        const jobs = await createJobs(3);
        await store.markStarted(jobs[0]!.id, clock.now());

        await expect(store.create(newJob())).rejects.toBeInstanceOf(JobStoreFullError);
        expect(ids((await store.list({ limit: 10 })).jobs)).toEqual(ids(jobs).reverse());

        await store.finish(jobs[0]!.id, 'succeeded', clock.now());
        const next = await store.create(newJob());
        expect(await store.get(next.id)).not.toBeNull();
        expect(await store.get(jobs[0]!.id)).toBeNull();
      });
    });

    describe('cancellation', () => {
      it('records a request once, as a stored fact, and tells every watcher', async () => {
        const { store, newJob } = await open();
        const job = await store.create(newJob());
        const heard: string[] = [];
        const stop = await store.watchCancellations((id) => heard.push(id));

        const first = await store.requestCancel(job.id);
        const second = await store.requestCancel(job.id);

        expect([first.requested, second.requested]).toEqual([true, true]);
        expect((await store.get(job.id))?.cancelRequested).toBe(true);
        expect(heard).toEqual([job.id]);
        stop();
        await store.requestCancel((await store.create(newJob())).id);
        expect(heard).toEqual([job.id]);
      });

      it('refuses it for unknown and finished jobs, and for one whose results are all in', async () => {
        const { store, newJob, clock } = await open();
        const finished = await store.create(newJob());
        await store.finish(finished.id, 'succeeded', clock.now());
        const complete = await store.create(newJob({ targets: ['a.example'] }));
        await store.appendResult(complete.id, 0, true, resultJson(0));

        expect(await store.requestCancel('no-such-job')).toEqual({ job: null, requested: false });
        expect((await store.requestCancel(finished.id)).requested).toBe(false);
        expect((await store.requestCancel(complete.id)).requested).toBe(false);
        expect((await store.get(complete.id))?.cancelRequested).toBe(false);
      });
    });

    describe('queuedTargets', () => {
      it('counts targets without a result in unfinished jobs, overall and per caller', async () => {
        const { store, newJob, clock } = await open();
        const a = await store.create(newJob({ caller: 'a' }));
        const b = await store.create(newJob({ caller: 'b', targets: ['x.example'] }));
        expect(await store.queuedTargets('a')).toEqual({ total: 4, caller: 3 });

        await store.appendResult(a.id, 1, true, resultJson(1));
        await store.appendResult(a.id, 1, true, resultJson(1));
        expect(await store.queuedTargets('a')).toEqual({ total: 3, caller: 2 });

        await store.finish(a.id, 'cancelled', clock.now());
        expect(await store.queuedTargets('a')).toEqual({ total: 1, caller: 0 });
        await store.delete(b.id);
        expect(await store.queuedTargets('b')).toEqual({ total: 0, caller: 0 });
        await store.delete(a.id);
        expect(await store.queuedTargets('a')).toEqual({ total: 0, caller: 0 });
      });
    });

    describe('delete', () => {
      it('forgets the job, its results and its idempotency key', async () => {
        const { store, newJob } = await open();
        const job = await store.create(newJob({ idempotencyKey: 'k' }));
        const other = await store.create(newJob());
        await store.appendResult(job.id, 0, true, resultJson(0));

        expect(await store.delete(job.id)).toBe(true);

        expect(await store.get(job.id)).toBeNull();
        expect(await store.findByIdempotencyKey(null, 'k')).toBeNull();
        expect(ids((await store.list({ limit: 10 })).jobs)).toEqual([other.id]);
        expect(await store.delete(job.id)).toBe(false);
        const again = await store.create(newJob({ idempotencyKey: 'k' }));
        expect((await store.findByIdempotencyKey(null, 'k'))?.id).toBe(again.id);
      });

      it('returns false for an unknown job', async () => {
        const { store } = await open();
        expect(await store.delete('no-such-job')).toBe(false);
      });
    });

    describe('large jobs', () => {
      // Generous: a remote store may take a while for 100,000 round trips.
      it('keeps 100,000 results of ~200 bytes in well under 100 MB of heap', {
        timeout: 120_000,
      }, async () => {
        const { store, newJob } = await open();
        const total = 100_000;
        const targets = Array.from({ length: total }, (_, i) => `host-${i}.example.com`);
        const job = await store.create(newJob({ targets }));
        const gc = (globalThis as { gc?: () => void }).gc;
        gc?.();
        const heapBefore = process.memoryUsage().heapUsed;

        for (let index = 0; index < total; index++) {
          await store.appendResult(job.id, index, index % 10 !== 0, resultJson(index));
        }

        gc?.();
        const grown = process.memoryUsage().heapUsed - heapBefore;
        expect(resultJson(total - 1).length).toBeGreaterThan(180);
        expect(grown).toBeLessThan(100 * 1024 * 1024);
        expect((await store.get(job.id))?.progress).toEqual({
          total,
          done: total,
          ok: total - total / 10,
          failed: total / 10,
        });
        expect((await store.resultsAfter(job.id, total - 2, 10)).map((r) => r.index)).toEqual([
          total - 2,
          total - 1,
        ]);
        expect((await store.resultsInInputOrder(job.id, 3)).map((r) => r.seq)).toEqual([1, 2, 3]);
      });
    });
  });
}
