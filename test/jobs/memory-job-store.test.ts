// MemoryJobStore against the shared JobStore contract, plus what only the in-memory store
// promises: synchronous events, live records and its own input checks.
import { describe, expect, it, vi } from 'vitest';
import type { JobEvent, NewJob } from '../../src/jobs/job-store.js';
import {
  IdempotencyKeyInUseError,
  InvalidCursorError,
  JobEndedError,
} from '../../src/jobs/job-store.js';
import { MemoryJobStore } from '../../src/jobs/memory-job-store.js';
import { JobOptions } from '../../src/schemas/job.js';
import { describeJobStoreContract, fakeClock } from './job-store.contract.js';

describeJobStoreContract(
  'MemoryJobStore',
  ({ maxJobs, retentionMs, clock }) => new MemoryJobStore({ maxJobs, retentionMs, now: clock.now }),
);

let lastId = 0;
function newJob(overrides: Partial<NewJob> = {}): NewJob {
  return {
    id: `job-${++lastId}`,
    createdAt: 0,
    options: JobOptions.parse({}),
    targets: ['a.example', 'b.example'],
    caller: 'caller-a',
    owner: null,
    idempotencyKey: null,
    requestHash: null,
    ...overrides,
  };
}

function open() {
  const clock = fakeClock();
  const store = new MemoryJobStore({ maxJobs: 10, retentionMs: 1000, now: clock.now });
  return { clock, store };
}

describe('MemoryJobStore', () => {
  it('tells subscribers before appendResult and finish resolve', async () => {
    const { store, clock } = open();
    const job = await store.create(newJob());
    const events: JobEvent[] = [];
    await store.subscribe(job.id, (event) => events.push(event));

    const appending = store.appendResult(job.id, 0, true, '{}');
    expect(events.map((event) => event.type)).toEqual(['result']);
    await appending;
    const finishing = store.finish(job.id, 'succeeded', clock.now());
    expect(events.map((event) => event.type)).toEqual(['result', 'done']);
    await finishing;
  });

  it('ends subscriptions at done', async () => {
    const { store, clock } = open();
    const job = await store.create(newJob());
    const events: JobEvent[] = [];
    await store.subscribe(job.id, (event) => events.push(event));

    await store.finish(job.id, 'cancelled', clock.now());
    // An ended job takes no more results, so nothing follows its `done`.
    await expect(store.appendResult(job.id, 1, false, '{}')).rejects.toThrow(JobEndedError);

    expect(events.map((event) => event.type)).toEqual(['done']);
    expect((await store.get(job.id))?.progress.done).toBe(0);
  });

  it('gives no events to a subscriber of an unknown or finished job', async () => {
    const { store, clock } = open();
    const job = await store.create(newJob());
    await store.finish(job.id, 'succeeded', clock.now());
    const listener = vi.fn();

    const unsubscribeUnknown = await store.subscribe('no-such-job', listener);
    const unsubscribeFinished = await store.subscribe(job.id, listener);
    await expect(store.appendResult(job.id, 0, true, '{}')).rejects.toThrow(JobEndedError);
    unsubscribeUnknown();
    unsubscribeFinished();

    expect(listener).not.toHaveBeenCalled();
  });

  it('reports a throwing listener as a process warning', async () => {
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
    try {
      const { store } = open();
      const job = await store.create(newJob());
      await store.subscribe(job.id, () => {
        throw new Error('listener bug');
      });

      await store.appendResult(job.id, 0, true, '{}');

      expect(warn).toHaveBeenCalledWith(
        expect.objectContaining({ message: 'listener bug' }),
        'JobStoreListenerWarning',
      );
    } finally {
      warn.mockRestore();
    }
  });

  it('returns the live record, which follows the job', async () => {
    const { store, clock } = open();
    const created = await store.create(newJob());

    await store.markStarted(created.id, clock.now());
    await store.appendResult(created.id, 0, true, '{}');

    expect(await store.get(created.id)).toBe(created);
    expect(created).toMatchObject({ status: 'running', progress: { done: 1 } });
  });

  it('rejects a tampered cursor and one past anything it handed out', async () => {
    const { store } = open();
    for (let i = 0; i < 3; i++) await store.create(newJob());
    const { nextCursor } = await store.list({ limit: 1 });

    for (const cursor of [`${nextCursor}x`, Buffer.from('c99').toString('base64url')]) {
      await expect(store.list({ limit: 1, cursor })).rejects.toBeInstanceOf(InvalidCursorError);
    }
  });

  it('refuses a duplicate id, a live idempotency key and a non-final finish status', async () => {
    const { store } = open();
    const job = await store.create(newJob({ idempotencyKey: 'k' }));

    await expect(store.create(newJob({ id: job.id }))).rejects.toThrow(/already exists/);
    await expect(store.create(newJob({ idempotencyKey: 'k' }))).rejects.toThrow(
      IdempotencyKeyInUseError,
    );
    await expect(store.finish(job.id, 'running', 0)).rejects.toThrow(RangeError);
    await expect(store.appendResult('no-such-job', 0, true, '{}')).rejects.toThrow(/not found/);
  });

  it('gives back non-ASCII, astral and larger-than-a-slab JSON exactly', async () => {
    const { store } = open();
    const job = await store.create(newJob({ targets: ['a.example', 'b.example', 'c.example'] }));
    const unicode = JSON.stringify({
      subject: 'CN=Bücher 株式会社',
      target: 'пример.рф',
      note: '😀𝄞',
    });
    const big = JSON.stringify({ headers: 'é'.repeat(700_000), tail: '🔒' });
    expect(Buffer.byteLength(big)).toBeGreaterThan(1024 * 1024);

    await store.appendResult(job.id, 2, true, unicode);
    await store.appendResult(job.id, 0, true, big);
    await store.appendResult(job.id, 1, true, '{"index":1}');

    expect(await store.resultsAfter(job.id, 0, 10)).toEqual([
      { seq: 1, index: 2, json: unicode },
      { seq: 2, index: 0, json: big },
      { seq: 3, index: 1, json: '{"index":1}' },
    ]);
    expect((await store.resultsInInputOrder(job.id, 10)).map((r) => r.json)).toEqual([
      big,
      '{"index":1}',
      unicode,
    ]);
  });

  it('hands listeners the very string it was given', async () => {
    const { store } = open();
    const job = await store.create(newJob());
    const events: JobEvent[] = [];
    await store.subscribe(job.id, (event) => events.push(event));
    const json = JSON.stringify({ index: 0, note: 'é😀' });

    await store.appendResult(job.id, 0, true, json);

    expect(events[0]).toMatchObject({ type: 'result', result: { seq: 1, index: 0, json } });
  });

  it('uses Date.now without an injected clock', async () => {
    const store = new MemoryJobStore({ maxJobs: 10, retentionMs: 60_000 });
    const job = await store.create(newJob());

    await store.finish(job.id, 'succeeded', Date.now() - 60_000);

    expect(await store.get(job.id)).toBeNull();
  });

  it('checks its limits', () => {
    expect(() => new MemoryJobStore({ maxJobs: 0, retentionMs: 1 })).toThrow(RangeError);
    expect(() => new MemoryJobStore({ maxJobs: 1.5, retentionMs: 1 })).toThrow(RangeError);
    expect(() => new MemoryJobStore({ maxJobs: 1, retentionMs: -1 })).toThrow(RangeError);
  });
});
