// The one scheduler of the process: it owns every Task of every job, caps how many run at
// once (globally, per group of jobs, per job and per destination), takes turns between groups
// and, within a group, between its jobs, cancels and drains. A group is a caller: one caller's
// jobs of slow targets hold at most the group cap, and a caller with one small job gets every
// other turn against a caller with a hundred.
// It knows nothing of what a task does: the runner is injected and generic in input and result.
// The destination cap is politeness towards the hosts probed, so it counts across every job;
// an input whose destination is full is parked aside rather than left at the head of its job,
// or one busy host among a job's targets would hold back all the others behind it.
import { performance } from 'node:perf_hooks';
import {
  DestinationSlots,
  type JobParkedQueue,
  type ParkedInput,
  type ParkingJob,
} from './destination-slots.js';
import { SchedulerError } from './errors.js';
import { EventLoopMonitor, type EventLoopStats } from './event-loop-stats.js';
import { Rotation, type RotationNode } from './rotation.js';
import { ScheduledTask, type Task } from './task.js';

// Starting a task (a probe's socket, say) costs tens of microseconds. A job of 500 started
// in one go would hold the loop for ~25 ms, stamping every other socket's reply late, and
// would send 500 requests in one burst whose 500 replies then also arrive as one. So a pump
// that has started a few tasks and used up PUMP_SLICE_MS goes on after the next poll. Parking
// an input counts as a start: 100,000 inputs to one host are scanned slice by slice too.
/** Tasks a pump starts (or inputs it parks) before it reads the clock at all. */
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
  /**
   * The destination of an input (a target's `host:port`, say), whose tasks in flight are
   * capped across all jobs; null exempts the input. Called once per input, when its job's
   * turn first reaches it; one that throws counts as null. Without it no cap applies.
   *
   * An input whose destination is at its cap is parked: it holds no slot and its job goes on
   * with its next inputs. When a task of that destination ends, the oldest parked input that
   * fits and whose job has a slot of its own for it (its running and woken inputs below its
   * concurrency) is woken and reserves the freed destination slot: nothing scanned later can
   * take it, and until it starts the destination admits no task beyond that input's own cap.
   * It starts ahead of its job's other inputs on the job's next turn, within the global cap.
   * The inputs of a job at its own cap are passed by, and looked at again when its tasks end.
   */
  destinationOf?: (input: I) => string | null;
  /** Per-destination cap for jobs that set none; unlimited by default. Needs `destinationOf`. */
  destinationConcurrency?: number;
  /** Cap on running tasks of one group (all its jobs together); the global cap by default. */
  groupConcurrency?: number;
}

/** A job as the scheduler is handed it: its inputs, caps and the callback for each end. */
export interface ScheduledJobSpec<I, R> {
  jobId: string;
  /**
   * Jobs of one group share its cap and take turns within its turn; by default a job is a
   * group of its own.
   */
  group?: string;
  /** Read lazily as tasks start: the array must not change while the job is active. */
  inputs: readonly I[];
  /** Per-job cap on running tasks, clamped to the global cap (the default). */
  concurrency?: number;
  /**
   * This job's cap on running tasks per destination, in place of the scheduler's default.
   * The count it is held to is every job's tasks at that destination: while jobs with higher
   * caps keep that count at or above this cap, this job's inputs there wait.
   */
  destinationConcurrency?: number;
  /**
   * Called exactly once per input, in completion order, cancelled inputs included
   * (`task.state` says how it ended). `error` is set only when `runTask` rejected.
   */
  onTaskEnd: (task: Task<I>, result: R | undefined, error?: unknown) => void;
}

/** What a scheduled job came to, once its last task ended (the job store's record is elsewhere). */
export interface ScheduledJobOutcome {
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
  readonly done: Promise<ScheduledJobOutcome>;
}

export interface JobSnapshot {
  jobId: string;
  total: number;
  /** Not started yet, parked inputs included. */
  queued: number;
  /** Queued inputs parked until their destination has room. */
  waitingForDestination: number;
  running: number;
  done: number;
  failed: number;
  cancelled: number;
  concurrency: number;
}

export interface SchedulerCounts {
  running: number;
  /** Not started yet, parked inputs included. */
  queued: number;
  /** Queued inputs parked until their destination has room. */
  waitingForDestination: number;
  jobs: number;
}

export interface SchedulerSnapshot {
  concurrency: number;
  running: number;
  /** Not started yet, parked inputs included. */
  queued: number;
  /** Queued inputs parked until their destination has room. */
  waitingForDestination: number;
  /** Destinations with a task running. */
  destinations: number;
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

type Parked<I, R> = ParkedInput<ScheduledJob<I, R>>;
type ParkedQueue<I, R> = JobParkedQueue<ScheduledJob<I, R>>;
type Destination<I, R> = DestinationSlots<ScheduledJob<I, R>>;

/** The jobs of one group, their turn order, and the group's count of running tasks. */
class GroupRecord<I, R> implements RotationNode<GroupRecord<I, R>> {
  readonly jobs = new Rotation<ScheduledJob<I, R>>();
  /** Its jobs with inputs parked at a destination, to wake when the group has room again. */
  readonly parkedJobs = new Set<ScheduledJob<I, R>>();
  /** Its active jobs: the group is forgotten when the last one completes. */
  activeJobs = 0;
  running = 0;
  /** Inputs of its jobs woken at a destination and not started yet: each will run. */
  woken = 0;
  rotationPrev: GroupRecord<I, R> | null = null;
  rotationNext: GroupRecord<I, R> | null = null;
  inRotation = false;

  constructor(
    readonly key: string,
    readonly cap: number,
  ) {}

  /**
   * Whether a parked input of the group may be woken: one woken while the group is at its
   * cap would hold its destination's slot idle until the group's own tasks end, while other
   * callers' inputs wait there.
   */
  get hasRoom(): boolean {
    return this.running + this.woken < this.cap;
  }
}

/** The scheduler's own state of one active job (not the stored JobRecord of src/jobs). */
class ScheduledJob<I, R> implements RotationNode<ScheduledJob<I, R>>, ParkingJob {
  readonly jobId: string;
  readonly group: GroupRecord<I, R>;
  readonly inputs: readonly I[];
  readonly total: number;
  readonly concurrency: number;
  /** Infinity when no cap applies. */
  readonly destinationConcurrency: number;
  readonly submittedAt: number;
  readonly onTaskEnd: ScheduledJobSpec<I, R>['onTaskEnd'];
  readonly done: Promise<ScheduledJobOutcome>;
  readonly resolveDone: (summary: ScheduledJobOutcome) => void;
  /**
   * Inputs below this index have started, been cancelled or parked; the rest are queued and
   * not yet scanned for their destination.
   */
  nextIndex = 0;
  running = 0;
  /** Its queues of inputs parked at a destination, one per destination, oldest first. */
  parkedHead: ParkedQueue<I, R> | null = null;
  parkedTail: ParkedQueue<I, R> | null = null;
  parkedCount = 0;
  /** Woken inputs, holding a destination slot, to start before any input not yet scanned. */
  wokenHead: Parked<I, R> | null = null;
  wokenTail: Parked<I, R> | null = null;
  wokenCount = 0;
  doneCount = 0;
  failedCount = 0;
  cancelledCount = 0;
  cancelRequested = false;
  cancelReason: unknown = undefined;
  runningHead: ScheduledTask<I> | null = null;
  rotationPrev: ScheduledJob<I, R> | null = null;
  rotationNext: ScheduledJob<I, R> | null = null;
  inRotation = false;

  constructor(
    submission: ScheduledJobSpec<I, R>,
    group: GroupRecord<I, R>,
    concurrency: number,
    destinationConcurrency: number,
    submittedAt: number,
  ) {
    this.jobId = submission.jobId;
    this.group = group;
    this.inputs = submission.inputs;
    this.total = submission.inputs.length;
    this.concurrency = concurrency;
    this.destinationConcurrency = destinationConcurrency;
    this.submittedAt = submittedAt;
    this.onTaskEnd = submission.onTaskEnd;
    let resolveDone!: (summary: ScheduledJobOutcome) => void;
    this.done = new Promise((resolve) => {
      resolveDone = resolve;
    });
    this.resolveDone = resolveDone;
  }

  get ended(): number {
    return this.doneCount + this.failedCount + this.cancelledCount;
  }

  get queued(): number {
    return this.total - this.nextIndex + this.parkedCount + this.wokenCount;
  }

  /** Parked inputs do not count: they start only once woken. */
  canStart(): boolean {
    return (
      !this.cancelRequested &&
      this.running < this.concurrency &&
      (this.wokenHead !== null || this.nextIndex < this.total)
    );
  }

  /**
   * Woken inputs count as started: each holds a destination slot until its job starts it, so
   * neither the job nor its group may take more than it has room for.
   */
  canTakeWoken(): boolean {
    return (
      !this.cancelRequested &&
      this.running + this.wokenCount < this.concurrency &&
      this.group.hasRoom
    );
  }

  /** Whether the job's own cap holds it, so that an end of its tasks may let it wake inputs. */
  get atOwnCap(): boolean {
    return this.running + this.wokenCount >= this.concurrency;
  }

  /** Counts an input its destination just parked; the first in its queue lists the queue. */
  addParked(input: Parked<I, R>): void {
    if (this.parkedCount++ === 0) this.group.parkedJobs.add(this);
    const queue = input.queue;
    if (queue.oldest !== input) return;
    queue.jobPrev = this.parkedTail;
    if (this.parkedTail === null) this.parkedHead = queue;
    else this.parkedTail.jobNext = queue;
    this.parkedTail = queue;
  }

  /** Uncounts an input its destination just took out; a queue left empty leaves the list. */
  removeParked(input: Parked<I, R>): void {
    if (--this.parkedCount === 0) this.group.parkedJobs.delete(this);
    const queue = input.queue;
    if (queue.oldest !== null) return;
    const { jobPrev: prev, jobNext: next } = queue;
    if (prev === null) this.parkedHead = next;
    else prev.jobNext = next;
    if (next === null) this.parkedTail = prev;
    else next.jobPrev = prev;
    queue.jobPrev = null;
    queue.jobNext = null;
  }

  pushWoken(input: Parked<I, R>): void {
    if (this.wokenTail === null) this.wokenHead = input;
    else this.wokenTail.next = input;
    this.wokenTail = input;
    this.wokenCount++;
    this.group.woken++;
  }

  shiftWoken(): Parked<I, R> | null {
    const input = this.wokenHead;
    if (input === null) return null;
    this.wokenHead = input.next;
    if (this.wokenHead === null) this.wokenTail = null;
    input.next = null;
    this.wokenCount--;
    this.group.woken--;
    return input;
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

  summary(endedAt: number): ScheduledJobOutcome {
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
  readonly #destinationOf: SchedulerOptions<I, R>['destinationOf'];
  /** Infinity when unset. */
  readonly #destinationConcurrency: number;
  /** Only destinations with something running, reserved or parked. */
  readonly #destinations = new Map<string, Destination<I, R>>();
  readonly #jobs = new Map<string, ScheduledJob<I, R>>();
  readonly #groups = new Map<string, GroupRecord<I, R>>();
  /** Groups with a job that can start a task, and room under the group cap. */
  readonly #rotation = new Rotation<GroupRecord<I, R>>();
  readonly #groupConcurrency: number;
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
    this.#destinationOf = options.destinationOf;
    if (options.destinationConcurrency !== undefined) {
      assertCap(options.destinationConcurrency, 'destinationConcurrency');
    }
    this.#destinationConcurrency = options.destinationConcurrency ?? Number.POSITIVE_INFINITY;
    if (options.groupConcurrency !== undefined) {
      assertCap(options.groupConcurrency, 'groupConcurrency');
    }
    this.#groupConcurrency = Math.min(
      options.groupConcurrency ?? options.concurrency,
      options.concurrency,
    );
    this.#eventLoop.start();
  }

  get draining(): boolean {
    return this.#draining;
  }

  /** Queues every input of a job. Throws while draining or when `jobId` is still active. */
  submit(job: ScheduledJobSpec<I, R>): JobHandle {
    if (this.#draining) {
      throw new SchedulerError('SCHEDULER_DRAINING', 'scheduler is draining; no new jobs');
    }
    if (this.#jobs.has(job.jobId)) {
      throw new SchedulerError('JOB_ALREADY_ACTIVE', `job ${job.jobId} is already active`);
    }
    if (job.concurrency !== undefined) assertCap(job.concurrency, 'job concurrency');
    if (job.destinationConcurrency !== undefined) {
      assertCap(job.destinationConcurrency, 'job destinationConcurrency');
    }
    const cap = Math.min(job.concurrency ?? this.#concurrency, this.#concurrency);
    const destinationCap = job.destinationConcurrency ?? this.#destinationConcurrency;
    const now = performance.now();
    const groupKey = job.group ?? `job:${job.jobId}`;
    let group = this.#groups.get(groupKey);
    if (group === undefined) {
      group = new GroupRecord<I, R>(groupKey, this.#groupConcurrency);
      this.#groups.set(groupKey, group);
    }
    const record = new ScheduledJob(job, group, cap, destinationCap, now);
    if (record.total === 0) {
      if (group.activeJobs === 0) this.#groups.delete(groupKey);
      record.resolveDone(record.summary(now));
    } else {
      group.activeJobs++;
      this.#jobs.set(record.jobId, record);
      this.#enqueue(record);
      this.#pump();
    }
    return { jobId: record.jobId, done: record.done };
  }

  /**
   * Queued tasks (parked ones included) end `cancelled` synchronously, before this returns;
   * running tasks are aborted and end `cancelled` when their runner settles. False for an
   * unknown or ended job.
   */
  cancelJob(jobId: string, reason?: unknown): boolean {
    const job = this.#jobs.get(jobId);
    if (job === undefined) return false;
    if (!job.cancelRequested) {
      job.cancelRequested = true;
      job.cancelReason = reason;
      this.#dequeue(job);
      for (let task = job.runningHead; task !== null; task = task.nextRunning) {
        task.abort(reason);
      }
    }
    // Each input leaves its list before its onTaskEnd, so a reentrant cancel from there
    // carries on with the next one. A cancelled job takes no woken input, so the slots its
    // woken ones give back wake other jobs' inputs.
    for (let queue = job.parkedHead; queue !== null; queue = job.parkedHead) {
      const parked = queue.destination.unparkOldest(queue);
      job.removeParked(parked);
      this.#forgetIfIdle(queue.destination);
      this.#endQueued(job, parked.index);
    }
    let releasedSlot = false;
    for (let woken = job.shiftWoken(); woken !== null; woken = job.shiftWoken()) {
      woken.destination.release(woken, false);
      this.#wakeParked(woken.destination);
      releasedSlot = true;
      this.#endQueued(job, woken.index);
    }
    // The group's room those gave back may let its other jobs' parked inputs wake.
    if (releasedSlot) this.#wakeGroup(job.group);
    while (job.nextIndex < job.total) this.#endQueued(job, job.nextIndex++);
    // Inputs woken above start on the next turn, not now: drain({ cancel }) cancels job after
    // job, and must not start inputs of a job it is about to cancel.
    if (releasedSlot) this.#pumpAfterPoll();
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
  counts(): SchedulerCounts {
    let queued = 0;
    let waitingForDestination = 0;
    for (const job of this.#jobs.values()) {
      queued += job.queued;
      waitingForDestination += job.parkedCount;
    }
    return { running: this.#running, queued, waitingForDestination, jobs: this.#jobs.size };
  }

  /** Counts now, event-loop figures since the previous snapshot. */
  snapshot(): SchedulerSnapshot {
    const jobs: JobSnapshot[] = [];
    let queued = 0;
    let waitingForDestination = 0;
    for (const job of this.#jobs.values()) {
      const jobQueued = job.queued;
      queued += jobQueued;
      waitingForDestination += job.parkedCount;
      jobs.push({
        jobId: job.jobId,
        total: job.total,
        queued: jobQueued,
        waitingForDestination: job.parkedCount,
        running: job.running,
        done: job.doneCount,
        failed: job.failedCount,
        cancelled: job.cancelledCount,
        concurrency: job.concurrency,
      });
    }
    let destinations = 0;
    for (const destination of this.#destinations.values()) {
      if (destination.running > 0) destinations++;
    }
    return {
      concurrency: this.#concurrency,
      running: this.#running,
      queued,
      waitingForDestination,
      destinations,
      draining: this.#draining,
      jobs,
      eventLoop: this.#eventLoop.sample(),
    };
  }

  // Fills free slots in a loop, never by recursion: a task that ends synchronously (its
  // runner threw) or an onTaskEnd that submits lands back here and returns at once,
  // and the outer loop picks up the slot it freed. A job's turn lasts until it starts a
  // task: were a park to end it, a job parking its way through one busy host would get one
  // input looked at per freed slot while the other jobs took every slot.
  #pump(): void {
    if (this.#pumping) return;
    this.#pumping = true;
    let steps = 0;
    let sliceEnd = 0;
    let turn: ScheduledJob<I, R> | null = null;
    try {
      while (this.#running < this.#concurrency) {
        if (steps === STARTS_BEFORE_CLOCK) sliceEnd = performance.now() + PUMP_SLICE_MS;
        if (steps > STARTS_BEFORE_CLOCK && performance.now() >= sliceEnd) {
          this.#pumpAfterPoll();
          break;
        }
        if (turn === null) {
          turn = this.#takeTurn();
          if (turn === null) break;
          if (!turn.canStart()) {
            this.#requeueGroup(turn.group);
            turn = null;
            continue;
          }
        }
        steps++;
        const started = this.#startNext(turn);
        if (!turn.canStart()) {
          this.#requeueGroup(turn.group);
          turn = null;
        } else if (started) {
          this.#enqueue(turn);
          turn = null;
        }
      }
    } finally {
      // A slice that ran out mid-turn: the job waits for its next one.
      if (turn !== null) {
        if (turn.canStart()) this.#enqueue(turn);
        else this.#requeueGroup(turn.group);
      }
      this.#pumping = false;
    }
  }

  /**
   * The job whose turn it is: the next group's next job. Both leave their rotations; the
   * turn's end puts them back. A group at its cap is passed by, to rejoin when a task of it ends.
   */
  #takeTurn(): ScheduledJob<I, R> | null {
    for (let group = this.#rotation.shift(); group !== null; group = this.#rotation.shift()) {
      if (group.running >= this.#groupConcurrency) continue;
      const job = group.jobs.shift();
      if (job !== null) return job;
    }
    return null;
  }

  /** A job that can start a task joins its group's turns, and the group the scheduler's. */
  #enqueue(job: ScheduledJob<I, R>): void {
    if (!job.canStart()) return;
    job.group.jobs.push(job);
    this.#requeueGroup(job.group);
  }

  #dequeue(job: ScheduledJob<I, R>): void {
    const group = job.group;
    group.jobs.remove(job);
    if (group.jobs.empty) this.#rotation.remove(group);
  }

  /** A group with a job waiting for a turn and room under its cap takes turns again. */
  #requeueGroup(group: GroupRecord<I, R>): void {
    if (!group.jobs.empty && group.running < this.#groupConcurrency) this.#rotation.push(group);
  }

  #pumpAfterPoll(): void {
    if (this.#pumpScheduled) return;
    this.#pumpScheduled = true;
    setImmediate(() => {
      this.#pumpScheduled = false;
      this.#pump();
    });
  }

  /**
   * Starts the job's oldest woken input, else scans its next input: starts it, or parks it
   * when its destination is full. True when a task started.
   */
  #startNext(job: ScheduledJob<I, R>): boolean {
    const woken = job.shiftWoken();
    if (woken !== null) {
      const destination = woken.destination;
      destination.release(woken, true);
      this.#start(job, woken.index, destination);
      // Its reservation may have been what held back inputs of jobs with higher caps. Only
      // once it counts as running: before, its job would seem to have room for one more.
      this.#wakeParked(destination);
      return true;
    }
    const index = job.nextIndex;
    if (this.#destinationOf === undefined) {
      job.nextIndex = index + 1;
      this.#start(job, index, null);
      return true;
    }
    const key = this.#destinationKeyOf(job.inputs[index] as I);
    // destinationOf may have cancelled the job, ending this input with the rest.
    if (job.cancelRequested) return false;
    job.nextIndex = index + 1;
    if (key === null) {
      this.#start(job, index, null);
      return true;
    }
    let destination = this.#destinations.get(key);
    if (destination === undefined) {
      destination = new DestinationSlots(key);
      this.#destinations.set(key, destination);
    }
    if (destination.admits(job.destinationConcurrency)) {
      destination.running++;
      this.#start(job, index, destination);
      return true;
    }
    job.addParked(destination.park(job, index, job.destinationConcurrency));
    return false;
  }

  #destinationKeyOf(input: I): string | null {
    try {
      return this.#destinationOf!(input) ?? null;
    } catch {
      return null;
    }
  }

  /** `destination` already counts the task as running. */
  #start(job: ScheduledJob<I, R>, index: number, destination: Destination<I, R> | null): void {
    const input = job.inputs[index] as I;
    const task = new ScheduledTask(job.jobId, index, input, job.submittedAt, 'running');
    task.startedAt = performance.now();
    job.addRunning(task);
    job.group.running++;
    this.#running++;
    let pending: Promise<R>;
    try {
      pending = this.#runTask(task);
    } catch (error) {
      this.#settle(job, task, destination, undefined, error, true);
      return;
    }
    pending.then(
      (result) => this.#settle(job, task, destination, result, undefined, false),
      (error: unknown) => this.#settle(job, task, destination, undefined, error, true),
    );
  }

  #settle(
    job: ScheduledJob<I, R>,
    task: ScheduledTask<I>,
    destination: Destination<I, R> | null,
    result: R | undefined,
    error: unknown,
    rejected: boolean,
  ): void {
    const wasAtOwnCap = job.parkedHead !== null && job.atOwnCap;
    const group = job.group;
    const groupWasFull = group.parkedJobs.size > 0 && !group.hasRoom;
    job.removeRunning(task);
    group.running--;
    this.#running--;
    if (destination !== null) {
      destination.running--;
      this.#wakeParked(destination);
    }
    if (wasAtOwnCap) this.#wakeJob(job);
    if (groupWasFull) this.#wakeGroup(group);
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
    if (job.canStart()) this.#enqueue(job);
    else this.#requeueGroup(job.group);
    this.#end(job, task, result, error);
    this.#pump();
  }

  /** Moves the parked inputs that now fit into their jobs' woken queues. */
  #wakeParked(destination: Destination<I, R>): void {
    for (let woken = destination.wake(); woken !== null; woken = destination.wake()) {
      const job = woken.job;
      job.removeParked(woken);
      job.pushWoken(woken);
      this.#enqueue(job);
    }
    this.#forgetIfIdle(destination);
  }

  /**
   * A job that was at its own cap ended a task: wakes its oldest parked inputs (by input
   * order, across its destinations) that fit where they are parked, while it has room. Every
   * other parked input that fits was woken already, or was passed by for its own job's cap.
   * Only the job's destinations are looked at, and only when its own cap had held it.
   */
  #wakeJob(job: ScheduledJob<I, R>): void {
    while (job.canTakeWoken()) {
      let pick: ParkedQueue<I, R> | null = null;
      for (let queue = job.parkedHead; queue !== null; queue = queue.jobNext) {
        if (
          queue.destination.admits(queue.cap) &&
          (pick === null || queue.oldest!.index < pick.oldest!.index)
        ) {
          pick = queue;
        }
      }
      // Its oldest input there fits and its job can take it: this wakes at least that one.
      if (pick === null) return;
      this.#wakeParked(pick.destination);
    }
  }

  /**
   * A group that was at its cap has room again: wakes its jobs' parked inputs that fit, job by
   * job, while it has room. Its parked inputs were passed by while it was full, and their
   * destinations may have nothing running whose end would look at them again.
   */
  #wakeGroup(group: GroupRecord<I, R>): void {
    for (const job of group.parkedJobs) {
      if (!group.hasRoom) return;
      this.#wakeJob(job);
    }
  }

  #forgetIfIdle(destination: Destination<I, R>): void {
    if (destination.idle) this.#destinations.delete(destination.key);
  }

  #endQueued(job: ScheduledJob<I, R>, index: number): void {
    const input = job.inputs[index] as I;
    const task = new ScheduledTask(job.jobId, index, input, job.submittedAt, 'cancelled');
    task.endedAt = performance.now();
    task.abort(job.cancelReason);
    this.#end(job, task, undefined, undefined);
  }

  #end(
    job: ScheduledJob<I, R>,
    task: ScheduledTask<I>,
    result: R | undefined,
    error: unknown,
  ): void {
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

  #complete(job: ScheduledJob<I, R>, endedAt: number): void {
    // An onTaskEnd that cancels its own job completes it from inside cancelJob; the outer
    // #end then sees every input ended again.
    if (this.#jobs.get(job.jobId) !== job) return;
    this.#dequeue(job);
    this.#jobs.delete(job.jobId);
    const group = job.group;
    if (--group.activeJobs === 0) {
      this.#rotation.remove(group);
      this.#groups.delete(group.key);
    }
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
