// The one scheduler of the process: it owns every Task of every job, caps how many run at
// once (globally and per job), takes turns between jobs, cancels and drains. It knows
// nothing of what a task does: the runner is injected and generic in input and result.
import { performance } from 'node:perf_hooks';
import { SchedulerError } from './errors.js';
import { EventLoopMonitor, type EventLoopStats } from './event-loop-stats.js';
import { Rotation, type RotationNode } from './rotation.js';
import { ScheduledTask, type Task, type TaskState } from './task.js';

// Starting a task (a probe's socket, say) costs tens of microseconds. A job of 500 started
// in one go would hold the loop for ~25 ms, stamping every other socket's reply late, and
// would send 500 requests in one burst whose 500 replies then also arrive as one. So a pump
// that has started a few tasks and used up PUMP_SLICE_MS goes on after the next poll.
/** Tasks a pump starts before it reads the clock at all: small caps start at once. */
const STARTS_BEFORE_CLOCK = 32;
const PUMP_SLICE_MS = 0.5;

export interface SchedulerOptions<I, R> {
  /** Global cap on running tasks, across all jobs. */
  concurrency: number;
  /** Must settle. A rejection (or a synchronous throw) ends the task `failed`. */
  runTask: (task: Task<I>) => Promise<R>;
  /** A result for which this returns true ends its task `failed` instead of `done`. */
  isFailure?: (result: R) => boolean;
  /**
   * Called when a job's `onTaskEnd` throws. The scheduler carries on either way; without
   * this option the error is reported with `process.emitWarning` and swallowed.
   */
  onCallbackError?: (error: unknown, task: Task<I>) => void;
}

export interface JobSubmission<I, R> {
  jobId: string;
  /** Read lazily as tasks start: the array must not change while the job is active. */
  inputs: readonly I[];
  /** Per-job cap on running tasks, clamped to the global cap (the default). */
  concurrency?: number;
  /**
   * Called exactly once per input, in completion order, cancelled inputs included
   * (`task.state` says how it ended). `error` is set only when `runTask` rejected.
   */
  onTaskEnd: (task: Task<I>, result: R | undefined, error?: unknown) => void;
}

export interface JobSummary {
  jobId: string;
  total: number;
  done: number;
  failed: number;
  cancelled: number;
  /** performance.now() at submit and when the last task ended. */
  submittedAt: number;
  endedAt: number;
}

export interface JobHandle {
  readonly jobId: string;
  /** Resolves once every task of the job has ended; never rejects. */
  readonly done: Promise<JobSummary>;
}

export interface JobSnapshot {
  jobId: string;
  total: number;
  queued: number;
  running: number;
  done: number;
  failed: number;
  cancelled: number;
  concurrency: number;
}

export interface SchedulerSnapshot {
  concurrency: number;
  running: number;
  queued: number;
  draining: boolean;
  jobs: JobSnapshot[];
  /** Measured over the window since the previous snapshot. */
  eventLoop: EventLoopStats;
}

export interface DrainOptions {
  /** Cancel every job first instead of letting queued tasks run. */
  cancel?: boolean;
  /** Abort reason given to running tasks when cancelling. */
  reason?: unknown;
}

class JobRecord<I, R> implements RotationNode<JobRecord<I, R>> {
  readonly jobId: string;
  readonly inputs: readonly I[];
  readonly total: number;
  readonly concurrency: number;
  readonly submittedAt: number;
  readonly onTaskEnd: JobSubmission<I, R>['onTaskEnd'];
  readonly done: Promise<JobSummary>;
  readonly resolveDone: (summary: JobSummary) => void;
  /** Inputs below this index have started or been cancelled; the rest are queued. */
  nextIndex = 0;
  running = 0;
  doneCount = 0;
  failedCount = 0;
  cancelledCount = 0;
  cancelRequested = false;
  cancelReason: unknown = undefined;
  runningHead: ScheduledTask<I> | null = null;
  rotationPrev: JobRecord<I, R> | null = null;
  rotationNext: JobRecord<I, R> | null = null;
  inRotation = false;

  constructor(submission: JobSubmission<I, R>, concurrency: number, submittedAt: number) {
    this.jobId = submission.jobId;
    this.inputs = submission.inputs;
    this.total = submission.inputs.length;
    this.concurrency = concurrency;
    this.submittedAt = submittedAt;
    this.onTaskEnd = submission.onTaskEnd;
    let resolveDone!: (summary: JobSummary) => void;
    this.done = new Promise((resolve) => {
      resolveDone = resolve;
    });
    this.resolveDone = resolveDone;
  }

  get ended(): number {
    return this.doneCount + this.failedCount + this.cancelledCount;
  }

  canStart(): boolean {
    return !this.cancelRequested && this.nextIndex < this.total && this.running < this.concurrency;
  }

  addRunning(task: ScheduledTask<I>): void {
    task.nextRunning = this.runningHead;
    if (this.runningHead !== null) this.runningHead.prevRunning = task;
    this.runningHead = task;
    this.running++;
  }

  removeRunning(task: ScheduledTask<I>): void {
    const { prevRunning: prev, nextRunning: next } = task;
    if (prev === null) this.runningHead = next;
    else prev.nextRunning = next;
    if (next !== null) next.prevRunning = prev;
    task.prevRunning = null;
    task.nextRunning = null;
    this.running--;
  }

  summary(endedAt: number): JobSummary {
    return {
      jobId: this.jobId,
      total: this.total,
      done: this.doneCount,
      failed: this.failedCount,
      cancelled: this.cancelledCount,
      submittedAt: this.submittedAt,
      endedAt,
    };
  }
}

function assertCap(value: number, name: string): void {
  if (!Number.isInteger(value) || value < 1) {
    throw new RangeError(`${name} must be a positive integer, got ${value}`);
  }
}

export class Scheduler<I, R> {
  readonly #concurrency: number;
  readonly #runTask: SchedulerOptions<I, R>['runTask'];
  readonly #isFailure: SchedulerOptions<I, R>['isFailure'];
  readonly #onCallbackError: SchedulerOptions<I, R>['onCallbackError'];
  readonly #jobs = new Map<string, JobRecord<I, R>>();
  readonly #rotation = new Rotation<JobRecord<I, R>>();
  readonly #eventLoop = new EventLoopMonitor();
  #running = 0;
  #pumping = false;
  #pumpScheduled = false;
  #draining = false;
  #drained: Promise<void> | null = null;
  #resolveDrained: (() => void) | null = null;

  constructor(options: SchedulerOptions<I, R>) {
    assertCap(options.concurrency, 'concurrency');
    this.#concurrency = options.concurrency;
    this.#runTask = options.runTask;
    this.#isFailure = options.isFailure;
    this.#onCallbackError = options.onCallbackError;
    this.#eventLoop.start();
  }

  get draining(): boolean {
    return this.#draining;
  }

  /** Queues every input of a job. Throws while draining or when `jobId` is still active. */
  submit(job: JobSubmission<I, R>): JobHandle {
    if (this.#draining) {
      throw new SchedulerError('SCHEDULER_DRAINING', 'scheduler is draining; no new jobs');
    }
    if (this.#jobs.has(job.jobId)) {
      throw new SchedulerError('JOB_ALREADY_ACTIVE', `job ${job.jobId} is already active`);
    }
    if (job.concurrency !== undefined) assertCap(job.concurrency, 'job concurrency');
    const cap = Math.min(job.concurrency ?? this.#concurrency, this.#concurrency);
    const now = performance.now();
    const record = new JobRecord(job, cap, now);
    if (record.total === 0) {
      record.resolveDone(record.summary(now));
    } else {
      this.#jobs.set(record.jobId, record);
      this.#rotation.push(record);
      this.#pump();
    }
    return { jobId: record.jobId, done: record.done };
  }

  /**
   * Queued tasks end `cancelled` synchronously, before this returns; running tasks are
   * aborted and end `cancelled` when their runner settles. False for an unknown or ended job.
   */
  cancelJob(jobId: string, reason?: unknown): boolean {
    const job = this.#jobs.get(jobId);
    if (job === undefined) return false;
    if (!job.cancelRequested) {
      job.cancelRequested = true;
      job.cancelReason = reason;
      this.#rotation.remove(job);
      for (let task = job.runningHead; task !== null; task = task.nextRunning) {
        task.abort(reason);
      }
    }
    // A reentrant cancel from an onTaskEnd below resumes this same loop at nextIndex.
    while (job.nextIndex < job.total) {
      const task = this.#takeNext(job, 'cancelled');
      task.endedAt = performance.now();
      task.abort(job.cancelReason);
      this.#end(job, task, undefined, undefined);
    }
    return true;
  }

  /**
   * Stops accepting jobs and resolves once every task has ended. Repeated calls return the
   * same promise; one with `cancel: true` still cancels whatever is left.
   */
  drain(options: DrainOptions = {}): Promise<void> {
    this.#draining = true;
    this.#drained ??= new Promise((resolve) => {
      this.#resolveDrained = resolve;
    });
    if (options.cancel === true) {
      for (const job of this.#jobs.values()) this.cancelJob(job.jobId, options.reason);
    }
    if (this.#jobs.size === 0) this.#finishDrain();
    return this.#drained;
  }

  /** Running and queued tasks and active jobs, without opening a new event-loop window. */
  counts(): { running: number; queued: number; jobs: number } {
    let queued = 0;
    for (const job of this.#jobs.values()) queued += job.total - job.nextIndex;
    return { running: this.#running, queued, jobs: this.#jobs.size };
  }

  /** Counts now, event-loop figures since the previous snapshot. */
  snapshot(): SchedulerSnapshot {
    const jobs: JobSnapshot[] = [];
    let queued = 0;
    for (const job of this.#jobs.values()) {
      const jobQueued = job.total - job.nextIndex;
      queued += jobQueued;
      jobs.push({
        jobId: job.jobId,
        total: job.total,
        queued: jobQueued,
        running: job.running,
        done: job.doneCount,
        failed: job.failedCount,
        cancelled: job.cancelledCount,
        concurrency: job.concurrency,
      });
    }
    return {
      concurrency: this.#concurrency,
      running: this.#running,
      queued,
      draining: this.#draining,
      jobs,
      eventLoop: this.#eventLoop.sample(),
    };
  }

  // Fills free slots in a loop, never by recursion: a task that ends synchronously (its
  // runner threw) or an onTaskEnd that submits lands back here and returns at once,
  // and the outer loop picks up the slot it freed.
  #pump(): void {
    if (this.#pumping) return;
    this.#pumping = true;
    let started = 0;
    let sliceEnd = 0;
    try {
      while (this.#running < this.#concurrency) {
        if (started === STARTS_BEFORE_CLOCK) sliceEnd = performance.now() + PUMP_SLICE_MS;
        if (started > STARTS_BEFORE_CLOCK && performance.now() >= sliceEnd) {
          this.#pumpAfterPoll();
          break;
        }
        const job = this.#rotation.shift();
        if (job === null) break;
        if (!job.canStart()) continue;
        started++;
        this.#start(job);
        if (job.canStart()) this.#rotation.push(job);
      }
    } finally {
      this.#pumping = false;
    }
  }

  #pumpAfterPoll(): void {
    if (this.#pumpScheduled) return;
    this.#pumpScheduled = true;
    setImmediate(() => {
      this.#pumpScheduled = false;
      this.#pump();
    });
  }

  /** Materialises the job's next queued input as a Task in the given state. */
  #takeNext(job: JobRecord<I, R>, state: TaskState): ScheduledTask<I> {
    const index = job.nextIndex++;
    return new ScheduledTask(job.jobId, index, job.inputs[index] as I, job.submittedAt, state);
  }

  #start(job: JobRecord<I, R>): void {
    const task = this.#takeNext(job, 'running');
    task.startedAt = performance.now();
    job.addRunning(task);
    this.#running++;
    let pending: Promise<R>;
    try {
      pending = this.#runTask(task);
    } catch (error) {
      this.#settle(job, task, undefined, error, true);
      return;
    }
    pending.then(
      (result) => this.#settle(job, task, result, undefined, false),
      (error: unknown) => this.#settle(job, task, undefined, error, true),
    );
  }

  #settle(
    job: JobRecord<I, R>,
    task: ScheduledTask<I>,
    result: R | undefined,
    error: unknown,
    rejected: boolean,
  ): void {
    job.removeRunning(task);
    this.#running--;
    task.endedAt = performance.now();
    if (job.cancelRequested) {
      task.state = 'cancelled';
    } else if (rejected) {
      task.state = 'failed';
    } else {
      task.state = 'done';
      if (this.#isFailure !== undefined) {
        try {
          if (this.#isFailure(result as R)) task.state = 'failed';
        } catch (failureError) {
          task.state = 'failed';
          error = failureError;
        }
      }
    }
    if (job.canStart()) this.#rotation.push(job);
    this.#end(job, task, result, error);
    this.#pump();
  }

  #end(job: JobRecord<I, R>, task: ScheduledTask<I>, result: R | undefined, error: unknown): void {
    if (task.state === 'done') job.doneCount++;
    else if (task.state === 'failed') job.failedCount++;
    else job.cancelledCount++;
    try {
      job.onTaskEnd(task, result, error);
    } catch (callbackError) {
      this.#reportCallbackError(callbackError, task);
    }
    if (job.ended === job.total) this.#complete(job, task.endedAt ?? performance.now());
  }

  #complete(job: JobRecord<I, R>, endedAt: number): void {
    this.#rotation.remove(job);
    this.#jobs.delete(job.jobId);
    job.resolveDone(job.summary(endedAt));
    if (this.#draining && this.#jobs.size === 0) this.#finishDrain();
  }

  #finishDrain(): void {
    if (this.#resolveDrained === null) return;
    this.#eventLoop.stop();
    this.#resolveDrained();
    this.#resolveDrained = null;
  }

  #reportCallbackError(error: unknown, task: Task<I>): void {
    if (this.#onCallbackError !== undefined) {
      try {
        this.#onCallbackError(error, task);
        return;
      } catch (handlerError) {
        error = handlerError;
      }
    }
    const detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
    process.emitWarning(`onTaskEnd threw for task ${task.id}: ${detail}`, {
      type: 'SchedulerCallbackWarning',
    });
  }
}
