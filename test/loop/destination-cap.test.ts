// The per-destination cap: counted across jobs, parked inputs hold no slot and wake oldest
// first through their job's turn, cancel and drain see them as queued.
import { afterEach, describe, expect, it } from 'vitest';
import { type JobHandle, type ScheduledJobSpec, Scheduler } from '../../src/loop/index.js';
import { afterPumps, cleanUp, type Harness, runToEnd, setup } from './scheduler-harness.js';

afterEach(cleanUp);

/** Inputs are numbers; each test says which destination each number goes to. */
class Targets {
  readonly #destinations: Array<string | null> = [];

  /** `count` fresh inputs to `destination` (null: none). */
  to(destination: string | null, count: number): number[] {
    const first = this.#destinations.length;
    for (let i = 0; i < count; i++) this.#destinations.push(destination);
    return Array.from({ length: count }, (_, i) => first + i);
  }

  /** `count` fresh inputs, each to a destination of its own. */
  toDistinct(prefix: string, count: number): number[] {
    return Array.from({ length: count }, (_, i) => this.to(`${prefix}${i}:443`, 1)[0]!);
  }

  readonly destinationOf = (input: number): string | null => this.#destinations[input] ?? null;

  /** A predicate for started tasks whose input goes to `destination`. */
  at(destination: string): (started: { task: { input: number } }) => boolean {
    return (started) => this.destinationOf(started.task.input) === destination;
  }
}

function jobOf(
  harness: Harness,
  jobId: string,
  inputs: number[],
  extra: Partial<ScheduledJobSpec<number, string>> = {},
): ScheduledJobSpec<number, string> {
  return { jobId, inputs, onTaskEnd: harness.onTaskEnd, ...extra };
}

/** Settles running tasks in a scrambled but repeatable order until `done` settles. */
async function runScrambled(harness: Harness, done: Promise<unknown>): Promise<void> {
  let finished = false;
  void done.then(() => {
    finished = true;
  });
  for (let turn = 0; !finished; turn++) {
    await harness.until(() => finished || harness.pending.length > 0);
    if (finished) break;
    const at = (turn * 7) % harness.pending.length;
    await harness.release((started) => started === harness.pending[at]);
    await Promise.resolve();
  }
}

function expectEachEndedOnce(harness: Harness, jobId: string, total: number): void {
  const indexes = harness.endedOf(jobId).map((end) => end.index);
  expect(indexes).toHaveLength(total);
  expect(new Set(indexes).size).toBe(total);
}

/**
 * Leaves job a's one input (to x) woken, holding x's slot while every global slot is taken,
 * and later's first input parked at x behind it. Needs a global cap of 3 and a cap of 1 at x.
 */
async function wakeInputBehindGlobalCap(
  scheduler: Scheduler<number, string>,
  harness: Harness,
  targets: Targets,
): Promise<{ a: JobHandle; later: JobHandle; rest: Promise<unknown> }> {
  const first = scheduler.submit(jobOf(harness, 'first', targets.to('x:443', 1)));
  const a = scheduler.submit(jobOf(harness, 'a', targets.to('x:443', 1)));
  const later = scheduler.submit(
    jobOf(harness, 'later', [...targets.to('x:443', 1), ...targets.to(null, 1)]),
  );
  const blocker = scheduler.submit(jobOf(harness, 'blocker', targets.to(null, 1)));
  // Submitted with every global slot taken: its turn comes before a's once a:0 is woken.
  const other = scheduler.submit(jobOf(harness, 'other', targets.to(null, 1)));
  await harness.release((started) => started.task.id === 'first:0');
  return { a, later, rest: Promise.all([first.done, blocker.done, other.done]) };
}

describe('Scheduler destination cap', () => {
  it('never runs more than the cap at one destination, counting every job', async () => {
    const targets = new Targets();
    const { scheduler, harness } = setup(20, {
      destinationOf: targets.destinationOf,
      destinationConcurrency: 2,
    });
    const jobs = ['a', 'b', 'c'].map((jobId) => {
      const inputs = [
        ...targets.to('x:443', 8),
        ...targets.to(null, 3),
        ...targets.to('y:443', 8),
        ...targets.to('x:443', 4),
      ];
      return scheduler.submit(jobOf(harness, jobId, inputs));
    });
    // 2 each at x and y and the 9 with no destination run; the other 56 are parked.
    expect(scheduler.snapshot()).toMatchObject({
      running: 13,
      destinations: 2,
      waitingForDestination: 56,
    });
    await runScrambled(harness, Promise.all(jobs.map((job) => job.done)));
    expect(harness.maxInFlightByDestination.get('x:443')).toBe(2);
    expect(harness.maxInFlightByDestination.get('y:443')).toBe(2);
    for (const jobId of ['a', 'b', 'c']) expectEachEndedOnce(harness, jobId, 23);
    expect(harness.ended.every((end) => end.state === 'done')).toBe(true);
    expect(scheduler.snapshot()).toMatchObject({
      running: 0,
      queued: 0,
      waitingForDestination: 0,
      destinations: 0,
    });
  });

  it('looks past a busy destination: its inputs do not hold back the job’s others', async () => {
    const targets = new Targets();
    const { scheduler, harness } = setup(50, {
      destinationOf: targets.destinationOf,
      destinationConcurrency: 2,
    });
    const inputs = [...targets.to('busy:443', 1000), ...targets.toDistinct('host', 1000)];
    const job = scheduler.submit(jobOf(harness, 'j', inputs));
    await harness.until(() => harness.pending.length === 50);
    const snapshot = scheduler.snapshot();
    expect(snapshot).toMatchObject({ running: 50, waitingForDestination: 998, destinations: 49 });
    expect(snapshot.queued).toBe(2000 - 50);
    // Released tasks to distinct hosts are replaced by more of them, not by the busy host.
    for (let i = 0; i < 100; i++) {
      await harness.release((started) => started.atDestination === 1 && started.task.index >= 1000);
      await harness.until(() => harness.pending.length === 50);
    }
    expect(harness.maxInFlightByDestination.get('busy:443')).toBe(2);
    await runToEnd(harness, job.done);
    expect(harness.maxInFlightByDestination.get('busy:443')).toBe(2);
    expect(harness.maxInFlight).toBe(50);
    expectEachEndedOnce(harness, 'j', 2000);
  });

  it('gives parked inputs no slot: another job’s other destinations take the global slots', async () => {
    const targets = new Targets();
    const { scheduler, harness } = setup(4, {
      destinationOf: targets.destinationOf,
      destinationConcurrency: 1,
    });
    scheduler.submit(jobOf(harness, 'parked', targets.to('x:443', 10)));
    const other = scheduler.submit(jobOf(harness, 'other', targets.toDistinct('h', 3)));
    const snapshot = scheduler.snapshot();
    expect(snapshot).toMatchObject({ running: 4, queued: 9, waitingForDestination: 9 });
    expect(snapshot.jobs).toEqual([
      expect.objectContaining({ jobId: 'parked', running: 1, queued: 9, waitingForDestination: 9 }),
      expect.objectContaining({ jobId: 'other', running: 3, queued: 0, waitingForDestination: 0 }),
    ]);
    expect(harness.started.map((started) => started.task.id)).toEqual([
      'parked:0',
      'other:0',
      'other:1',
      'other:2',
    ]);
    await runToEnd(harness, other.done);
  });

  it('keeps taking turns between jobs while one of them is mostly parked', async () => {
    const targets = new Targets();
    const { scheduler, harness } = setup(4, {
      destinationOf: targets.destinationOf,
      destinationConcurrency: 1,
    });
    // A job that holds every slot, so both jobs below queue up before either starts.
    const blocker = scheduler.submit(jobOf(harness, 'blocker', targets.to(null, 4)));
    const a = scheduler.submit(
      jobOf(harness, 'a', [...targets.to('x:443', 20), ...targets.toDistinct('a', 20)]),
    );
    const b = scheduler.submit(jobOf(harness, 'b', targets.toDistinct('b', 40)));
    await runToEnd(harness, Promise.all([blocker.done, a.done, b.done]));
    const order = harness.started.slice(4).map((started) => started.task.jobId);
    // While both have work that could start, slots alternate between them.
    expect(order.slice(0, 30)).toEqual(Array.from({ length: 30 }, (_, i) => 'ab'[i % 2]));
    // a's inputs to x woke one at a time, each started on a's own turn ahead of a's inputs
    // not yet looked at (20 and on).
    const aStarts = harness.started.filter((started) => started.task.jobId === 'a');
    expect(aStarts.slice(0, 6).map((started) => started.task.index)).toEqual([0, 20, 1, 21, 2, 22]);
    expect(harness.maxInFlightByDestination.get('x:443')).toBe(1);
    expectEachEndedOnce(harness, 'a', 40);
    expectEachEndedOnce(harness, 'b', 40);
  });

  it('wakes parked inputs oldest first, each still in its job’s turn', async () => {
    const targets = new Targets();
    const { scheduler, harness } = setup(2, {
      destinationOf: targets.destinationOf,
      destinationConcurrency: 1,
    });
    const a = scheduler.submit(jobOf(harness, 'a', targets.to('x:443', 4)));
    const b = scheduler.submit(jobOf(harness, 'b', targets.toDistinct('y', 8)));
    await runToEnd(harness, Promise.all([a.done, b.done]));
    // a:1 woke when a:0 ended, but the freed slot was b's turn; a:1 took the one after.
    expect(harness.started.map((started) => started.task.id)).toEqual([
      'a:0',
      'b:0',
      'b:1',
      'a:1',
      'b:2',
      'b:3',
      'a:2',
      'b:4',
      'b:5',
      'a:3',
      'b:6',
      'b:7',
    ]);
  });

  it('holds a job with a lower cap to it, while jobs with the default pass it by', async () => {
    const targets = new Targets();
    const { scheduler, harness } = setup(10, {
      destinationOf: targets.destinationOf,
      destinationConcurrency: 3,
    });
    const gentle = scheduler.submit(
      jobOf(harness, 'gentle', targets.to('x:443', 4), { destinationConcurrency: 1 }),
    );
    const usual = scheduler.submit(jobOf(harness, 'usual', targets.to('x:443', 8)));
    expect(scheduler.snapshot().jobs).toEqual([
      expect.objectContaining({ jobId: 'gentle', running: 1, waitingForDestination: 3 }),
      expect.objectContaining({ jobId: 'usual', running: 2, waitingForDestination: 6 }),
    ]);
    await runToEnd(harness, Promise.all([gentle.done, usual.done]));
    const startsOf = (jobId: string) =>
      harness.started.filter((started) => started.task.jobId === jobId);
    // The gentle job's tasks only ever started with nothing else running at x.
    expect(startsOf('gentle').map((started) => started.atDestination)).toEqual([1, 1, 1, 1]);
    expect(Math.max(...startsOf('usual').map((started) => started.atDestination))).toBe(3);
    expect(harness.maxInFlightByDestination.get('x:443')).toBe(3);
    // Its parked inputs waited for the count to fall below 1, not for their place in line.
    expect(harness.started.at(-1)?.task.jobId).toBe('gentle');
  });

  it('lets a concurrency-1 job’s parked inputs take no more of a destination than it runs', async () => {
    const targets = new Targets();
    const { scheduler, harness } = setup(20, {
      destinationOf: targets.destinationOf,
      destinationConcurrency: 6,
    });
    const isAtX = targets.at('x:443');
    const first = scheduler.submit(jobOf(harness, 'first', targets.to('x:443', 6)));
    // x is full: every input of the concurrency-1 job parks in its first turn, ahead of the
    // 60 of the other job.
    const single = scheduler.submit(
      jobOf(harness, 'single', targets.to('x:443', 10), { concurrency: 1 }),
    );
    const many = scheduler.submit(jobOf(harness, 'many', targets.to('x:443', 60)));
    await afterPumps(() => scheduler.snapshot().waitingForDestination === 70);
    expect(scheduler.snapshot().jobs).toEqual([
      expect.objectContaining({ jobId: 'first', running: 6 }),
      expect.objectContaining({ jobId: 'single', running: 0, waitingForDestination: 10 }),
      expect.objectContaining({ jobId: 'many', running: 0, waitingForDestination: 60 }),
    ]);
    for (let i = 0; i < 6; i++) await harness.release((started) => started.task.jobId === 'first');
    // One freed slot went to the concurrency-1 job, the other five to the other job.
    const inFlightAtX = (jobId: string) =>
      harness.pending.filter((started) => isAtX(started) && started.task.jobId === jobId).length;
    expect([inFlightAtX('single'), inFlightAtX('many')]).toEqual([1, 5]);
    // x stays at its cap while both jobs have inputs for it, the single job one at a time.
    while (harness.endedOf('single').length < 10) {
      await harness.release((started) => started.task.jobId === 'single');
      await harness.until(() => harness.pending.filter(isAtX).length === 6);
      expect(inFlightAtX('single')).toBeLessThanOrEqual(1);
    }
    await harness.until(() => inFlightAtX('many') === 6);
    await runToEnd(harness, Promise.all([first.done, single.done, many.done]));
    expect(harness.maxInFlightByDestination.get('x:443')).toBe(6);
    expectEachEndedOnce(harness, 'single', 10);
    expectEachEndedOnce(harness, 'many', 60);
    expect(scheduler.snapshot()).toMatchObject({ waitingForDestination: 0, destinations: 0 });
  });

  it('wakes no input whose job is at its own cap: others take the destination meanwhile', async () => {
    const targets = new Targets();
    const { scheduler, harness } = setup(20, {
      destinationOf: targets.destinationOf,
      destinationConcurrency: 6,
    });
    const isAtX = targets.at('x:443');
    const first = scheduler.submit(jobOf(harness, 'first', targets.to('x:443', 6)));
    // The single job parks its 10 inputs to x, then its one job slot goes to z.
    const single = scheduler.submit(
      jobOf(harness, 'single', [...targets.to('x:443', 10), ...targets.to('z:443', 1)], {
        concurrency: 1,
      }),
    );
    const many = scheduler.submit(jobOf(harness, 'many', targets.to('x:443', 60)));
    for (let i = 0; i < 6; i++) await harness.release((started) => started.task.jobId === 'first');
    await afterPumps(() => scheduler.snapshot().waitingForDestination === 64);
    // The single job cannot start an input to x while z runs, so x's slots go to the other.
    expect(harness.pending.filter(isAtX).map((started) => started.task.jobId)).toEqual(
      Array(6).fill('many'),
    );
    expect(scheduler.snapshot().jobs).toEqual([
      expect.objectContaining({ jobId: 'single', running: 1, waitingForDestination: 10 }),
      expect.objectContaining({ jobId: 'many', running: 6, waitingForDestination: 54 }),
    ]);
    // Its job slot freed, it wakes its oldest input to x for the next slot there.
    await harness.release((started) => started.task.id === 'single:10');
    await harness.release((started) => started.task.jobId === 'many');
    expect(harness.pending.filter(isAtX).map((started) => started.task.id)).toContain('single:0');
    await runToEnd(harness, Promise.all([first.done, single.done, many.done]));
    expect(harness.maxInFlightByDestination.get('x:443')).toBe(6);
    expectEachEndedOnce(harness, 'single', 11);
    expectEachEndedOnce(harness, 'many', 60);
  });

  it('wakes a job’s parked inputs, oldest first, at destinations with room once its own slot frees', async () => {
    const targets = new Targets();
    const { scheduler, harness } = setup(10, {
      destinationOf: targets.destinationOf,
      destinationConcurrency: 1,
    });
    const first = scheduler.submit(
      jobOf(harness, 'first', [...targets.to('x:443', 1), ...targets.to('y:443', 1)]),
    );
    const single = scheduler.submit(
      jobOf(
        harness,
        'single',
        [...targets.to('x:443', 1), ...targets.to('y:443', 1), ...targets.to('z:443', 1)],
        { concurrency: 1 },
      ),
    );
    // x and y empty while single:2 holds the job's one slot: single:0 and single:1 stay parked.
    await harness.release((started) => started.task.id === 'first:0');
    await harness.release((started) => started.task.id === 'first:1');
    expect(harness.pending.map((started) => started.task.id)).toEqual(['single:2']);
    expect(scheduler.snapshot().jobs[0]).toMatchObject({
      jobId: 'single',
      waitingForDestination: 2,
    });
    // Nothing more ends at x or y: the ends of single's own tasks are what wake its inputs.
    await harness.release((started) => started.task.id === 'single:2');
    expect(harness.pending.map(({ task, atDestination }) => [task.id, atDestination])).toEqual([
      ['single:0', 1],
    ]);
    await harness.release((started) => started.task.id === 'single:0');
    expect(harness.pending.map(({ task, atDestination }) => [task.id, atDestination])).toEqual([
      ['single:1', 1],
    ]);
    await runToEnd(harness, Promise.all([first.done, single.done]));
    expect(scheduler.snapshot()).toMatchObject({ waitingForDestination: 0, destinations: 0 });
  });

  it('wakes no second input of a concurrency-1 job as its woken one starts', async () => {
    const targets = new Targets();
    const { scheduler, harness } = setup(2, { destinationOf: targets.destinationOf });
    const first = scheduler.submit(jobOf(harness, 'first', targets.to('x:443', 1)));
    const gentle = scheduler.submit(
      jobOf(harness, 'gentle', targets.to('x:443', 1), { destinationConcurrency: 1 }),
    );
    const blocker = scheduler.submit(jobOf(harness, 'blocker', targets.to(null, 1)));
    const single = scheduler.submit(
      jobOf(harness, 'single', targets.to('x:443', 3), { concurrency: 1 }),
    );
    // gentle:0 wakes and holds x to 1, so single parks all three; gentle:0 starting wakes
    // single:0, and single:0 starting must not wake single:1, its job being at its cap.
    await harness.release((started) => started.task.id === 'first:0');
    expect(scheduler.snapshot().jobs[2]).toMatchObject({
      jobId: 'single',
      queued: 3,
      waitingForDestination: 2,
    });
    await harness.release((started) => started.task.id === 'blocker:0');
    expect(harness.pending.map((started) => started.task.id)).toEqual(['gentle:0', 'single:0']);
    expect(scheduler.snapshot().jobs[1]).toMatchObject({
      jobId: 'single',
      running: 1,
      queued: 2,
      waitingForDestination: 2,
    });
    await runToEnd(harness, Promise.all([first.done, gentle.done, blocker.done, single.done]));
    expectEachEndedOnce(harness, 'single', 3);
  });

  it('keeps a destination within the cap of a woken input until that input starts', async () => {
    const targets = new Targets();
    const { scheduler, harness } = setup(3, {
      destinationOf: targets.destinationOf,
      destinationConcurrency: 3,
    });
    const first = scheduler.submit(jobOf(harness, 'first', targets.to('x:443', 1)));
    const gentle = scheduler.submit(
      jobOf(harness, 'gentle', targets.to('x:443', 1), { destinationConcurrency: 1 }),
    );
    const blocker = scheduler.submit(jobOf(harness, 'blocker', targets.to(null, 2)));
    // The global cap is reached: later waits its turn ahead of gentle, its inputs not scanned.
    const later = scheduler.submit(jobOf(harness, 'later', targets.to('x:443', 2)));
    expect(scheduler.snapshot().jobs[1]).toMatchObject({
      jobId: 'gentle',
      waitingForDestination: 1,
    });

    // gentle:0 wakes with x empty; later's turn comes first, and a job with the default cap
    // of 3 must not fill x meanwhile: gentle:0 would start above 1. Its inputs park instead,
    // and wake once gentle:0 has started.
    await harness.release((started) => started.task.id === 'first:0');
    expect(harness.pending.map(({ task, atDestination }) => [task.id, atDestination])).toEqual([
      ['blocker:0', 0],
      ['blocker:1', 0],
      ['gentle:0', 1],
    ]);
    expect(scheduler.snapshot().jobs[2]).toMatchObject({
      jobId: 'later',
      running: 0,
      queued: 2,
      waitingForDestination: 0,
    });

    await harness.release((started) => started.task.jobId === 'blocker');
    await harness.release((started) => started.task.jobId === 'blocker');
    expect(harness.pending.map(({ task, atDestination }) => [task.id, atDestination])).toEqual([
      ['gentle:0', 1],
      ['later:0', 2],
      ['later:1', 3],
    ]);
    await runToEnd(harness, Promise.all([first.done, gentle.done, blocker.done, later.done]));
    expect(scheduler.snapshot()).toMatchObject({ waitingForDestination: 0, destinations: 0 });
  });

  it('rejects destination caps that are not positive integers', () => {
    const targets = new Targets();
    const base = { concurrency: 2, runTask: async () => 'ok' };
    expect(() => new Scheduler({ ...base, destinationConcurrency: 0 })).toThrow(RangeError);
    const { scheduler, harness } = setup(2, { destinationOf: targets.destinationOf });
    expect(() =>
      scheduler.submit(jobOf(harness, 'bad', targets.to('x', 1), { destinationConcurrency: 1.5 })),
    ).toThrow(RangeError);
  });

  it('treats an input whose destinationOf throws as having no destination', async () => {
    const targets = new Targets();
    const inputs = targets.to('x:443', 6);
    const { scheduler, harness } = setup(
      10,
      {
        destinationOf: (input) => {
          if (input % 2 === 1) throw new Error('unparseable');
          return targets.destinationOf(input);
        },
        destinationConcurrency: 1,
      },
      (input) => (input % 2 === 1 ? null : targets.destinationOf(input)),
    );
    const job = scheduler.submit(jobOf(harness, 'j', inputs));
    expect(scheduler.snapshot()).toMatchObject({ running: 4, waitingForDestination: 2 });
    expect(harness.started.map((started) => started.task.index)).toEqual([0, 1, 3, 5]);
    await runToEnd(harness, job.done);
    await expect(job.done).resolves.toMatchObject({ done: 6 });
    expect(harness.maxInFlightByDestination.get('x:443')).toBe(1);
  });
});

describe('Scheduler destination cap, cancelled and drained', () => {
  it('ends a cancelled job’s parked inputs once each; other jobs’ inputs there still run', async () => {
    const targets = new Targets();
    const { scheduler, harness } = setup(10, {
      destinationOf: targets.destinationOf,
      destinationConcurrency: 1,
    });
    let reentered = false;
    const a = scheduler.submit({
      ...jobOf(harness, 'a', targets.to('x:443', 5)),
      onTaskEnd: (task, result, error) => {
        harness.onTaskEnd(task, result, error);
        if (!reentered) {
          reentered = true;
          scheduler.cancelJob('a', 'again');
        }
      },
    });
    const b = scheduler.submit(jobOf(harness, 'b', targets.to('x:443', 3)));
    expect(scheduler.snapshot()).toMatchObject({ running: 1, waitingForDestination: 7 });

    expect(scheduler.cancelJob('a', 'stop')).toBe(true);
    expect(harness.endedOf('a')).toEqual(
      [1, 2, 3, 4].map((index) =>
        expect.objectContaining({ index, state: 'cancelled', startedAt: null }),
      ),
    );
    expect(scheduler.snapshot().jobs).toEqual([
      expect.objectContaining({ jobId: 'a', queued: 0, running: 1, waitingForDestination: 0 }),
      expect.objectContaining({ jobId: 'b', queued: 3, running: 0, waitingForDestination: 3 }),
    ]);

    await runToEnd(harness, Promise.all([a.done, b.done]));
    await expect(a.done).resolves.toMatchObject({ cancelled: 5 });
    await expect(b.done).resolves.toMatchObject({ done: 3 });
    expectEachEndedOnce(harness, 'a', 5);
    expect(harness.maxInFlightByDestination.get('x:443')).toBe(1);
    expect(scheduler.snapshot()).toMatchObject({ waitingForDestination: 0, destinations: 0 });
  });

  it('gives back the slot a cancelled job’s woken input held', async () => {
    const targets = new Targets();
    const { scheduler, harness } = setup(3, {
      destinationOf: targets.destinationOf,
      destinationConcurrency: 1,
    });
    const { a, later, rest } = await wakeInputBehindGlobalCap(scheduler, harness, targets);
    // a:0 woke holding x's slot, and waits for a global slot; later:0 is parked behind it.
    expect(scheduler.snapshot().jobs).toEqual([
      expect.objectContaining({ jobId: 'a', queued: 1, waitingForDestination: 0 }),
      expect.objectContaining({ jobId: 'later', queued: 1, waitingForDestination: 1 }),
      expect.objectContaining({ jobId: 'blocker' }),
      expect.objectContaining({ jobId: 'other' }),
    ]);

    scheduler.cancelJob('a');
    expect(harness.endedOf('a')).toEqual([
      expect.objectContaining({ index: 0, state: 'cancelled', startedAt: null }),
    ]);
    expect(scheduler.snapshot().jobs[0]).toMatchObject({
      jobId: 'later',
      queued: 1,
      waitingForDestination: 0,
    });
    await harness.release((started) => started.task.id === 'other:0');
    await harness.until(() => harness.pending.some((started) => started.task.id === 'later:0'));
    await runToEnd(harness, Promise.all([a.done, later.done, rest]));
    await expect(a.done).resolves.toMatchObject({ cancelled: 1 });
    await expect(later.done).resolves.toMatchObject({ done: 2 });
    expect(harness.maxInFlightByDestination.get('x:443')).toBe(1);
    expect(scheduler.snapshot()).toMatchObject({ waitingForDestination: 0, destinations: 0 });
  });

  it('drains parked inputs: they all run, one at a time at their destination', async () => {
    const targets = new Targets();
    const { scheduler, harness } = setup(10, {
      destinationOf: targets.destinationOf,
      destinationConcurrency: 1,
    });
    scheduler.submit(jobOf(harness, 'a', targets.to('x:443', 5)));
    scheduler.submit(jobOf(harness, 'b', [...targets.to('x:443', 3), ...targets.to('y:443', 1)]));
    let drained = false;
    const draining = scheduler.drain().then(() => {
      drained = true;
    });
    for (let ended = 0; ended < 9; ended++) {
      expect(drained).toBe(false);
      await harness.until(() => harness.pending.length > 0);
      await harness.release();
    }
    await draining;
    expect(harness.ended).toHaveLength(9);
    expect(harness.ended.every((end) => end.state === 'done')).toBe(true);
    expect(harness.maxInFlightByDestination.get('x:443')).toBe(1);
  });

  it('drains with cancel: parked inputs end at once and never start', async () => {
    const targets = new Targets();
    const { scheduler, harness } = setup(10, {
      destinationOf: targets.destinationOf,
      destinationConcurrency: 1,
    });
    const a = scheduler.submit(jobOf(harness, 'a', targets.to('x:443', 5)));
    const b = scheduler.submit(jobOf(harness, 'b', targets.to('x:443', 3)));
    const draining = scheduler.drain({ cancel: true });
    expect(harness.ended).toHaveLength(7);
    expect(scheduler.snapshot()).toMatchObject({ queued: 0, waitingForDestination: 0 });
    await harness.release();
    await draining;
    expect(harness.started).toHaveLength(1);
    await expect(a.done).resolves.toMatchObject({ cancelled: 5 });
    await expect(b.done).resolves.toMatchObject({ cancelled: 3 });
  });
  it('drains with cancel without starting inputs a cancelled job’s slot woke', async () => {
    const targets = new Targets();
    const { scheduler, harness } = setup(3, {
      destinationOf: targets.destinationOf,
      destinationConcurrency: 1,
    });
    const { later } = await wakeInputBehindGlobalCap(scheduler, harness, targets);
    // Cancelling a hands x's slot to later:0, whose turn to start it never comes.
    const draining = scheduler.drain({ cancel: true });
    harness.releaseEverything();
    await draining;
    await expect(later.done).resolves.toMatchObject({ cancelled: 2 });
    expect(harness.started.map((started) => started.task.id)).toEqual([
      'first:0',
      'later:1',
      'blocker:0',
      'other:0',
    ]);
  });
});

describe('Scheduler destination cap at volume', () => {
  it('runs 100,000 inputs to one destination within its cap, scanning them slice by slice', async () => {
    const total = 100_000;
    const cap = 4;
    let calls = 0;
    let inFlight = 0;
    let maxInFlight = 0;
    const scheduler = new Scheduler<number, number>({
      concurrency: 64,
      destinationConcurrency: cap,
      destinationOf: (input) => {
        calls++;
        // One slow look-up uses up the pump's slice, so it must hand the loop back here.
        if (input === 40) {
          const until = performance.now() + 1;
          while (performance.now() < until) {
            // busy
          }
        }
        return 'one:443';
      },
      // Ends on a later turn of the loop, as a socket's reply would.
      runTask: (task) => {
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        return new Promise((resolve) =>
          setImmediate(() => {
            inFlight--;
            resolve(task.index);
          }),
        );
      },
    });
    const seen = new Uint8Array(total);
    const job = scheduler.submit({
      jobId: 'one-host',
      inputs: Array.from({ length: total }, (_, i) => i),
      onTaskEnd: (task) => {
        seen[task.index] = (seen[task.index] ?? 0) + 1;
      },
    });
    const callsInSubmit = calls;
    let immediateRan = false;
    setImmediate(() => {
      immediateRan = true;
    });
    let immediateRanFirst = false;
    void job.done.then(() => {
      immediateRanFirst = immediateRan;
    });

    expect(callsInSubmit).toBeLessThanOrEqual(41);
    await expect(job.done).resolves.toMatchObject({ total, done: total });
    expect(immediateRanFirst).toBe(true);
    expect(maxInFlight).toBe(cap);
    expect(calls).toBe(total);
    expect(seen.every((count) => count === 1)).toBe(true);
    expect(scheduler.snapshot()).toMatchObject({ waitingForDestination: 0, destinations: 0 });
    await scheduler.drain();
  });
});
