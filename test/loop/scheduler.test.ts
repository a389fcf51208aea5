import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Task, TaskState } from '../../src/loop/index.js';
import { Scheduler, SchedulerError } from '../../src/loop/index.js';
import { cleanUp, Harness, runToEnd, setup } from './scheduler-harness.js';

afterEach(async () => {
  await cleanUp();
  vi.restoreAllMocks();
});

describe('Scheduler caps', () => {
  it('never runs more tasks than the global cap', async () => {
    const { scheduler, harness } = setup(3);
    const a = scheduler.submit(harness.job('a', 20));
    const b = scheduler.submit(harness.job('b', 20));
    expect(scheduler.snapshot().running).toBe(3);
    await runToEnd(harness, Promise.all([a.done, b.done]));
    expect(harness.maxInFlight).toBe(3);
    expect(harness.ended).toHaveLength(40);
  });

  it('holds each job to its own cap while other jobs use the remaining slots', async () => {
    const { scheduler, harness } = setup(10);
    const capped = scheduler.submit(harness.job('capped', 12, 2));
    const open = scheduler.submit(harness.job('open', 30));
    const snapshot = scheduler.snapshot();
    expect(snapshot.running).toBe(10);
    expect(snapshot.jobs.find((job) => job.jobId === 'capped')).toMatchObject({
      running: 2,
      concurrency: 2,
    });
    await runToEnd(harness, Promise.all([capped.done, open.done]));
    expect(harness.maxInFlightByJob.get('capped')).toBe(2);
    expect(harness.maxInFlight).toBe(10);
  });

  it('clamps a per-job cap larger than the global cap', async () => {
    const { scheduler, harness } = setup(3);
    const job = scheduler.submit(harness.job('wide', 10, 50));
    expect(scheduler.snapshot().jobs[0]).toMatchObject({ concurrency: 3, running: 3 });
    await runToEnd(harness, job.done);
    expect(harness.maxInFlightByJob.get('wide')).toBe(3);
  });

  it('rejects caps that are not positive integers', () => {
    const harness = new Harness();
    expect(() => new Scheduler({ concurrency: 0, runTask: harness.runTask })).toThrow(RangeError);
    const { scheduler } = setup(2);
    expect(() => scheduler.submit(harness.job('bad', 3, 1.5))).toThrow(RangeError);
  });
});

describe('Scheduler order', () => {
  it('starts a job’s inputs in order and reports ends in completion order', async () => {
    const { scheduler, harness } = setup(3);
    const job = scheduler.submit(harness.job('fifo', 9));
    const released: string[] = [];
    while (released.length < 9) {
      await harness.until(() => harness.pending.length > 0);
      // Release the newest running task first, so completion order differs from start order.
      const started = await harness.release((candidate) => candidate === harness.pending.at(-1));
      released.push(started.task.id);
    }
    await job.done;
    expect(harness.started.map((started) => started.task.index)).toEqual([
      0, 1, 2, 3, 4, 5, 6, 7, 8,
    ]);
    expect(harness.ended.map((end) => end.id)).toEqual(released);
    expect(released).not.toEqual(harness.started.map((started) => started.task.id));
  });

  it('gives a small job submitted behind a 100,000-input job its turn at once', async () => {
    const cap = 4;
    const { scheduler, harness } = setup(cap);
    scheduler.submit(harness.job('big', 100_000));
    const small = scheduler.submit(harness.job('small', 5));
    await runToEnd(harness, small.done);
    expect(harness.endedOf('small')).toHaveLength(5);
    expect(harness.endedOf('big').length).toBeLessThan(cap + 10);
    expect(harness.started.length).toBeLessThan(cap + 20);
  });

  it('materialises a Task only when its input starts', () => {
    const { scheduler, harness } = setup(5);
    scheduler.submit(harness.job('huge', 100_000));
    expect(harness.started).toHaveLength(5);
    expect(scheduler.snapshot()).toMatchObject({ running: 5, queued: 99_995 });
  });
});

describe('Scheduler task outcomes', () => {
  it('marks a task failed when runTask rejects and passes the error', async () => {
    const { scheduler, harness } = setup(2);
    const job = scheduler.submit(harness.job('j', 2));
    const boom = new Error('boom');
    harness.pending.shift()?.settle.reject(boom);
    await harness.until(() => harness.ended.length === 1);
    await harness.release();
    await expect(job.done).resolves.toMatchObject({ total: 2, done: 1, failed: 1 });
    expect(harness.ended[0]).toMatchObject({ state: 'failed', result: undefined, error: boom });
    expect(harness.ended[1]).toMatchObject({ state: 'done', result: 'r:j:1', error: undefined });
  });

  it('marks a task failed when runTask throws synchronously', async () => {
    const ended: TaskState[] = [];
    const scheduler = new Scheduler<number, string>({
      concurrency: 2,
      runTask: () => {
        throw new Error('sync');
      },
    });
    const job = scheduler.submit({
      jobId: 'j',
      inputs: [1, 2, 3],
      onTaskEnd: (task) => ended.push(task.state),
    });
    await expect(job.done).resolves.toMatchObject({ failed: 3 });
    expect(ended).toEqual(['failed', 'failed', 'failed']);
    await scheduler.drain();
  });

  it('marks a task failed when isFailure says so', async () => {
    const { scheduler, harness } = setup(2, { isFailure: (result) => result.endsWith(':1') });
    const job = scheduler.submit(harness.job('j', 3));
    await runToEnd(harness, job.done);
    await expect(job.done).resolves.toMatchObject({ done: 2, failed: 1 });
    const failed = harness.ended.find((end) => end.state === 'failed');
    expect(failed).toMatchObject({ index: 1, result: 'r:j:1', error: undefined });
  });

  it('keeps going when onTaskEnd throws, reporting to onCallbackError', async () => {
    const reported: Array<{ error: unknown; id: string }> = [];
    const { scheduler, harness } = setup(1, {
      onCallbackError: (error, task) => reported.push({ error, id: task.id }),
    });
    const oops = new Error('oops');
    const job = scheduler.submit({
      ...harness.job('j', 3),
      onTaskEnd: (task, result) => {
        harness.onTaskEnd(task, result);
        if (task.index === 0) throw oops;
      },
    });
    await runToEnd(harness, job.done);
    expect(reported).toEqual([{ error: oops, id: 'j:0' }]);
    expect(harness.ended).toHaveLength(3);
  });

  it('reports a throwing onTaskEnd as a process warning by default', async () => {
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
    const { scheduler, harness } = setup(1);
    const job = scheduler.submit({
      ...harness.job('j', 2),
      onTaskEnd: (task, result) => {
        harness.onTaskEnd(task, result);
        throw new Error('oops');
      },
    });
    await runToEnd(harness, job.done);
    expect(warn).toHaveBeenCalledTimes(2);
    expect(String(warn.mock.calls[0]?.[0])).toContain('j:0');
  });
});

describe('Scheduler cancellation', () => {
  it('ends queued tasks at once and aborts running ones', async () => {
    const { scheduler, harness } = setup(2);
    const job = scheduler.submit(harness.job('j', 10));
    const running = harness.pending.map((started) => started.task);
    const reason = new Error('stop');

    expect(scheduler.cancelJob('j', reason)).toBe(true);

    // Queued inputs ended synchronously, without ever starting.
    expect(harness.ended).toHaveLength(8);
    for (const end of harness.ended) {
      expect(end).toMatchObject({ state: 'cancelled', result: undefined, startedAt: null });
    }
    for (const task of running) {
      expect(task.signal.aborted).toBe(true);
      expect(task.signal.reason).toBe(reason);
      expect(task.state).toBe('running');
    }
    expect(scheduler.snapshot()).toMatchObject({ running: 2, queued: 0 });

    await harness.release();
    await harness.release();
    const summary = await job.done;
    expect(summary).toMatchObject({ total: 10, done: 0, failed: 0, cancelled: 10 });
    // A cancelled running task still hands over what its runner returned.
    expect(harness.ended.slice(8)).toEqual([
      expect.objectContaining({ state: 'cancelled', result: 'r:j:0' }),
      expect.objectContaining({ state: 'cancelled', result: 'r:j:1' }),
    ]);
    expect(new Set(harness.ended.map((end) => end.index)).size).toBe(10);
    expect(running.every((task) => task.state === 'cancelled')).toBe(true);
  });

  it('tells abort listeners registered on the task itself (the cheap path runners use)', async () => {
    const { scheduler, harness } = setup(2);
    const job = scheduler.submit(harness.job('j', 2));
    const [first, second] = harness.pending.map((started) => started.task);
    const heard: string[] = [];
    const removed = () => heard.push('removed listener');
    first!.addEventListener('abort', () => heard.push('first'));
    second!.addEventListener('abort', removed);
    second!.removeEventListener('abort', removed);
    expect(first!.aborted).toBe(false);

    scheduler.cancelJob('j');
    expect(heard).toEqual(['first']);
    expect(first!.aborted && second!.aborted).toBe(true);
    first!.addEventListener('abort', () => heard.push('too late'));
    expect(heard).toEqual(['first']);

    await harness.release();
    await harness.release();
    expect(await job.done).toMatchObject({ cancelled: 2 });
  });

  it('gives tasks cancelled while queued an aborted signal', () => {
    const { scheduler } = setup(1);
    const cancelled: Task<number>[] = [];
    scheduler.submit({
      jobId: 'j',
      inputs: [0, 1],
      onTaskEnd: (task) => cancelled.push(task),
    });
    scheduler.cancelJob('j', 'why');
    const queuedOne = cancelled[0];
    expect(queuedOne).toMatchObject({ id: 'j:1', state: 'cancelled', startedAt: null });
    expect(queuedOne?.signal.aborted).toBe(true);
    expect(queuedOne?.signal.reason).toBe('why');
  });

  it('hands the freed capacity to other jobs', async () => {
    const { scheduler, harness } = setup(2);
    const first = scheduler.submit(harness.job('first', 10));
    const second = scheduler.submit(harness.job('second', 2));
    scheduler.cancelJob('first');
    await runToEnd(harness, Promise.all([first.done, second.done]));
    expect(harness.endedOf('second').map((end) => end.state)).toEqual(['done', 'done']);
    await expect(first.done).resolves.toMatchObject({ cancelled: 10 });
  });

  it('returns false for unknown and finished jobs', async () => {
    const { scheduler, harness } = setup(2);
    const job = scheduler.submit(harness.job('j', 1));
    await runToEnd(harness, job.done);
    expect(scheduler.cancelJob('j')).toBe(false);
    expect(scheduler.cancelJob('nope')).toBe(false);
  });
});

describe('Scheduler drain', () => {
  it('refuses new jobs and resolves only after every task has run', async () => {
    const { scheduler, harness } = setup(2);
    scheduler.submit(harness.job('j', 3));
    let drained = false;
    const draining = scheduler.drain();
    void draining.then(() => {
      drained = true;
    });
    expect(scheduler.drain()).toBe(draining);
    expect(() => scheduler.submit(harness.job('late', 1))).toThrow(
      expect.objectContaining({ code: 'SCHEDULER_DRAINING' }),
    );
    expect(() => scheduler.submit(harness.job('late', 1))).toThrow(SchedulerError);

    await harness.release();
    await harness.release();
    expect(drained).toBe(false);
    expect(harness.pending).toHaveLength(1); // the queued third input still ran
    await harness.release();
    await draining;
    expect(harness.ended.map((end) => end.state)).toEqual(['done', 'done', 'done']);
    expect(scheduler.snapshot()).toMatchObject({ draining: true, running: 0, jobs: [] });
  });

  it('with cancel: true cancels everything, then waits for running tasks', async () => {
    const { scheduler, harness } = setup(3);
    const a = scheduler.submit(harness.job('a', 5));
    const b = scheduler.submit(harness.job('b', 5));
    const running = harness.pending.map((started) => started.task);
    const draining = scheduler.drain({ cancel: true });
    expect(running.every((task) => task.signal.aborted)).toBe(true);
    expect(harness.ended).toHaveLength(7);
    while (harness.pending.length > 0) await harness.release();
    await draining;
    expect(harness.ended).toHaveLength(10);
    expect(harness.ended.every((end) => end.state === 'cancelled')).toBe(true);
    await expect(a.done).resolves.toMatchObject({ cancelled: 5 });
    await expect(b.done).resolves.toMatchObject({ cancelled: 5 });
  });

  it('resolves at once when idle', async () => {
    const { scheduler } = setup(1);
    await scheduler.drain();
    await scheduler.drain({ cancel: true });
  });
});

describe('Scheduler bookkeeping', () => {
  it('reports counts per job and overall in snapshots', async () => {
    const { scheduler, harness } = setup(3, { isFailure: (result) => result === 'r:a:1' });
    scheduler.submit(harness.job('a', 5, 2));
    scheduler.submit(harness.job('b', 4));
    let snapshot = scheduler.snapshot();
    expect(snapshot).toMatchObject({
      concurrency: 3,
      running: 3,
      queued: 6,
      waitingForDestination: 0,
      destinations: 0,
      draining: false,
    });
    expect(snapshot.jobs).toEqual([
      {
        jobId: 'a',
        total: 5,
        queued: 3,
        waitingForDestination: 0,
        running: 2,
        done: 0,
        failed: 0,
        cancelled: 0,
        concurrency: 2,
      },
      {
        jobId: 'b',
        total: 4,
        queued: 3,
        waitingForDestination: 0,
        running: 1,
        done: 0,
        failed: 0,
        cancelled: 0,
        concurrency: 3,
      },
    ]);

    await harness.release((started) => started.task.id === 'a:0');
    await harness.release((started) => started.task.id === 'a:1');
    // Each freed slot went to the job next in turn: b (waiting), then a.
    expect(scheduler.snapshot().jobs).toEqual([
      expect.objectContaining({ jobId: 'a', queued: 2, running: 1, done: 1, failed: 1 }),
      expect.objectContaining({ jobId: 'b', queued: 2, running: 2 }),
    ]);
    scheduler.cancelJob('b');
    snapshot = scheduler.snapshot();
    expect(snapshot).toMatchObject({ running: 3, queued: 2 });
    expect(snapshot.jobs[1]).toMatchObject({ jobId: 'b', queued: 0, running: 2, cancelled: 2 });
    const { delayMs, utilization } = snapshot.eventLoop;
    for (const value of [delayMs.p50, delayMs.p99, delayMs.max, delayMs.mean, utilization]) {
      expect(Number.isFinite(value)).toBe(true);
      expect(value).toBeGreaterThanOrEqual(0);
    }
    expect(utilization).toBeLessThanOrEqual(1);
  });

  it('rejects a duplicate active jobId and accepts it again once the job ended', async () => {
    const { scheduler, harness } = setup(2);
    const job = scheduler.submit(harness.job('same', 1));
    expect(() => scheduler.submit(harness.job('same', 1))).toThrow(
      expect.objectContaining({ code: 'JOB_ALREADY_ACTIVE' }),
    );
    await runToEnd(harness, job.done);
    const again = scheduler.submit(harness.job('same', 1));
    await runToEnd(harness, again.done);
    expect(harness.ended).toHaveLength(2);
  });

  it('resolves an empty job at once', async () => {
    const { scheduler, harness } = setup(2);
    const job = scheduler.submit(harness.job('empty', 0));
    await expect(job.done).resolves.toMatchObject({ total: 0, done: 0 });
    expect(scheduler.snapshot().jobs).toEqual([]);
  });
});

describe('Scheduler start-up of a large job', () => {
  it('starts a slow-to-start batch in slices, handing the loop back between them', async () => {
    const started: number[] = [];
    const finishers: (() => void)[] = [];
    const scheduler = new Scheduler<number, string>({
      concurrency: 200,
      runTask: (task) => {
        const until = performance.now() + 0.1; // a start that costs like opening a socket
        while (performance.now() < until) {
          // busy
        }
        started.push(task.index);
        return new Promise((resolve) => finishers.push(() => resolve('ok')));
      },
    });
    const job = scheduler.submit({
      jobId: 'big',
      inputs: Array.from({ length: 200 }, (_, i) => i),
      onTaskEnd: () => {},
    });
    // The first 32 start at once (small jobs behave as before); the clock then says stop.
    const atOnce = started.length;
    expect(atOnce).toBeGreaterThanOrEqual(32);
    expect(atOnce).toBeLessThan(200);
    // The rest follow on later turns of the loop, without anything else happening.
    while (started.length < 200) await new Promise((resolve) => setImmediate(resolve));
    expect(started).toEqual(Array.from({ length: 200 }, (_, i) => i));
    expect(scheduler.snapshot().running).toBe(200);
    for (const finish of finishers) finish();
    await expect(job.done).resolves.toMatchObject({ done: 200 });
  });
});

describe('Scheduler at volume', () => {
  it('runs 100,000 immediately-resolving tasks without deep recursion', async () => {
    const seen = new Uint8Array(100_000);
    let outOfOrder = 0;
    let last = -1;
    const scheduler = new Scheduler<number, number>({
      concurrency: 500,
      runTask: (task) => Promise.resolve(task.input),
    });
    const inputs = Array.from({ length: 100_000 }, (_, i) => i);
    const job = scheduler.submit({
      jobId: 'bulk',
      inputs,
      onTaskEnd: (task, result) => {
        seen[task.index] = (seen[task.index] ?? 0) + 1;
        if (result !== task.index || task.state !== 'done') outOfOrder++;
        last = Math.max(last, task.index);
      },
    });
    await expect(job.done).resolves.toMatchObject({ total: 100_000, done: 100_000 });
    expect(seen.every((count) => count === 1)).toBe(true);
    expect(outOfOrder).toBe(0);
    expect(last).toBe(99_999);
    await scheduler.drain();
  });

  it('runs 100,000 synchronously throwing tasks without deep recursion', async () => {
    let ended = 0;
    const scheduler = new Scheduler<number, number>({
      concurrency: 500,
      runTask: () => {
        throw new Error('no');
      },
    });
    const job = scheduler.submit({
      jobId: 'bulk',
      inputs: Array.from({ length: 100_000 }, (_, i) => i),
      onTaskEnd: () => {
        ended++;
      },
    });
    await expect(job.done).resolves.toMatchObject({ failed: 100_000 });
    expect(ended).toBe(100_000);
    await scheduler.drain();
  });

  it('cancels a 100,000-input queue without deep recursion', async () => {
    const { scheduler, harness } = setup(10);
    const job = scheduler.submit(harness.job('bulk', 100_000));
    scheduler.cancelJob('bulk');
    expect(harness.ended).toHaveLength(99_990);
    harness.releaseEverything();
    await expect(job.done).resolves.toMatchObject({ cancelled: 100_000 });
  });
});
