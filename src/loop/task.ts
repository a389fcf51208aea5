// A Task is one input of one job as the scheduler runs it. Queued inputs are only an index
// into their job's input array; a Task object exists once an input starts or is cancelled.

export type TaskState = 'queued' | 'running' | 'done' | 'failed' | 'cancelled';

export interface Task<I> {
  /** `${jobId}:${index}` */
  readonly id: string;
  readonly jobId: string;
  readonly index: number;
  readonly input: I;
  state: TaskState;
  readonly controller: AbortController;
  readonly signal: AbortSignal;
  /** performance.now() when the task's job was submitted. */
  queuedAt: number;
  startedAt: number | null;
  endedAt: number | null;
}

/**
 * The scheduler's Task. The id string and the AbortController are made on first read:
 * a runner that never looks at its signal, or a task cancelled while queued, costs
 * neither, and an abort requested before the first read is replayed onto the controller.
 */
export class ScheduledTask<I> implements Task<I> {
  readonly jobId: string;
  readonly index: number;
  readonly input: I;
  state: TaskState;
  queuedAt: number;
  startedAt: number | null = null;
  endedAt: number | null = null;
  /** Links in the job's list of running tasks, owned by the scheduler. */
  prevRunning: ScheduledTask<I> | null = null;
  nextRunning: ScheduledTask<I> | null = null;
  #controller: AbortController | null = null;
  #abortRequested = false;
  #abortReason: unknown;

  constructor(jobId: string, index: number, input: I, queuedAt: number, state: TaskState) {
    this.jobId = jobId;
    this.index = index;
    this.input = input;
    this.queuedAt = queuedAt;
    this.state = state;
  }

  get id(): string {
    return `${this.jobId}:${this.index}`;
  }

  get controller(): AbortController {
    if (this.#controller === null) {
      this.#controller = new AbortController();
      if (this.#abortRequested) this.#controller.abort(this.#abortReason);
    }
    return this.#controller;
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** Aborts the task's signal now if it exists, or as soon as anyone reads it. */
  abort(reason: unknown): void {
    if (this.#controller !== null) {
      this.#controller.abort(reason);
    } else if (!this.#abortRequested) {
      this.#abortRequested = true;
      this.#abortReason = reason;
    }
  }
}
