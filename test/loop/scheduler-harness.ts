// The scheduler's tests drive its injected runner by hand: every started task waits on a
// deferred the test settles, and every start and end wakes whoever awaits a condition.
import type { Task, TaskState } from '../../src/loop/index.js';
import { type ScheduledJobSpec, Scheduler, type SchedulerOptions } from '../../src/loop/index.js';

interface Deferred<T> {
  promise: Promise<T>;
  resolve: (value: T) => void;
  reject: (reason: unknown) => void;
}

function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (reason: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

export interface Started {
  task: Task<number>;
  settle: Deferred<string>;
  /** Tasks running at its destination as it started, itself included; 0 without one. */
  atDestination: number;
}

interface Ended {
  id: string;
  jobId: string;
  index: number;
  input: number;
  state: TaskState;
  result: string | undefined;
  error: unknown;
  startedAt: number | null;
}

/** Counts in flight per key and the most seen at once. */
class InFlight {
  readonly now = new Map<string, number>();
  readonly max = new Map<string, number>();

  add(key: string): number {
    const count = (this.now.get(key) ?? 0) + 1;
    this.now.set(key, count);
    this.max.set(key, Math.max(this.max.get(key) ?? 0, count));
    return count;
  }

  remove(key: string): void {
    this.now.set(key, (this.now.get(key) ?? 0) - 1);
  }
}

export class Harness {
  readonly started: Started[] = [];
  readonly pending: Started[] = [];
  readonly ended: Ended[] = [];
  inFlight = 0;
  maxInFlight = 0;
  readonly #byJob = new InFlight();
  readonly #byDestination = new InFlight();
  readonly #destinationOf: ((input: number) => string | null) | undefined;
  #waiters: Array<{ check: () => boolean; wake: () => void }> = [];

  /** `destinationOf` only tells the harness what to count per destination. */
  constructor(destinationOf?: (input: number) => string | null) {
    this.#destinationOf = destinationOf;
  }

  get maxInFlightByJob(): ReadonlyMap<string, number> {
    return this.#byJob.max;
  }

  get maxInFlightByDestination(): ReadonlyMap<string, number> {
    return this.#byDestination.max;
  }

  readonly runTask = (task: Task<number>): Promise<string> => {
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    this.#byJob.add(task.jobId);
    const destination = this.#destinationOf?.(task.input) ?? null;
    const atDestination = destination === null ? 0 : this.#byDestination.add(destination);
    const started = { task, settle: deferred<string>(), atDestination };
    this.started.push(started);
    this.pending.push(started);
    this.#notify();
    return started.settle.promise;
  };

  readonly onTaskEnd = (task: Task<number>, result: string | undefined, error?: unknown): void => {
    if (task.startedAt !== null) {
      this.inFlight--;
      this.#byJob.remove(task.jobId);
      const destination = this.#destinationOf?.(task.input) ?? null;
      if (destination !== null) this.#byDestination.remove(destination);
    }
    this.ended.push({
      id: task.id,
      jobId: task.jobId,
      index: task.index,
      input: task.input,
      state: task.state,
      result,
      error,
      startedAt: task.startedAt,
    });
    this.#notify();
  };

  job(jobId: string, count: number, concurrency?: number): ScheduledJobSpec<number, string> {
    const inputs = Array.from({ length: count }, (_, i) => i);
    return { jobId, inputs, onTaskEnd: this.onTaskEnd, ...(concurrency ? { concurrency } : {}) };
  }

  until(check: () => boolean): Promise<void> {
    if (check()) return Promise.resolve();
    return new Promise((wake) => this.#waiters.push({ check, wake }));
  }

  /** Resolves the oldest running task (or the one picked) and waits for its onTaskEnd. */
  async release(pick?: (started: Started) => boolean): Promise<Started> {
    const at = pick ? this.pending.findIndex(pick) : 0;
    const started = at === -1 ? undefined : this.pending.splice(at, 1)[0];
    if (started === undefined) throw new Error('no running task to release');
    const endsBefore = this.ended.length;
    started.settle.resolve(`r:${started.task.id}`);
    await this.until(() => this.ended.length > endsBefore);
    return started;
  }

  releaseEverything(): void {
    for (const started of this.pending.splice(0)) started.settle.resolve('late');
  }

  endedOf(jobId: string): Ended[] {
    return this.ended.filter((end) => end.jobId === jobId);
  }

  #notify(): void {
    const waiting = this.#waiters;
    this.#waiters = [];
    for (const waiter of waiting) {
      if (waiter.check()) waiter.wake();
      else this.#waiters.push(waiter);
    }
  }
}

const cleanups: Array<() => Promise<void>> = [];

/** For afterEach: drains every scheduler `setup` made, cancelling what is left. */
export async function cleanUp(): Promise<void> {
  for (const cleanup of cleanups.splice(0)) await cleanup();
}

/** `countAs` is what the harness counts per destination, `options.destinationOf` by default. */
export function setup(
  concurrency: number,
  options: Partial<SchedulerOptions<number, string>> = {},
  countAs = options.destinationOf,
): { scheduler: Scheduler<number, string>; harness: Harness } {
  const harness = new Harness(countAs);
  const scheduler = new Scheduler<number, string>({
    concurrency,
    runTask: harness.runTask,
    ...options,
  });
  cleanups.push(async () => {
    const drained = scheduler.drain({ cancel: true });
    harness.releaseEverything();
    await drained;
  });
  return { scheduler, harness };
}

/** Releases running tasks oldest first until `done` settles. */
export async function runToEnd(harness: Harness, done: Promise<unknown>): Promise<void> {
  let finished = false;
  void done.then(() => {
    finished = true;
  });
  while (!finished) {
    await harness.until(() => finished || harness.pending.length > 0);
    if (!finished) await harness.release();
    await Promise.resolve();
  }
}

/**
 * Waits, one poll at a time, until `check` holds. A pump that has used up its time slice
 * goes on after the next poll (a slow or busy machine cuts a scan of 60 parked inputs
 * short), and a park wakes no `until` waiter: this is how a test sees a scan to its end.
 */
export async function afterPumps(check: () => boolean): Promise<void> {
  for (let poll = 0; !check(); poll++) {
    if (poll === 1_000) throw new Error('the scheduler did not get there in 1,000 polls');
    await new Promise((wake) => setImmediate(wake));
  }
}
