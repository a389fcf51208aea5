// A Task is one input of one job as the scheduler runs it. Queued inputs are only an index
// into their job's input array (a parked one, an index in a small record at its destination);
// a Task object exists once an input starts or is cancelled.

import type { CancellationSignal } from '../cancellation.js';

export type { CancellationSignal };

export type TaskState = 'queued' | 'running' | 'done' | 'failed' | 'cancelled';

export interface Task<I> extends CancellationSignal {
  /** `${jobId}:${index}` */
  readonly id: string;
  readonly jobId: string;
  readonly index: number;
  readonly input: I;
  state: TaskState;
  /** A real AbortController/AbortSignal, made on first read, for runners that need one. */
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
  #abortListeners: Array<() => void> | null = null;

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

  get aborted(): boolean {
    return this.#abortRequested;
  }

  addEventListener(_type: 'abort', listener: () => void): void {
    if (this.#abortRequested) return;
    this.#abortListeners ??= [];
    this.#abortListeners.push(listener);
  }

  removeEventListener(_type: 'abort', listener: () => void): void {
    const listeners = this.#abortListeners;
    const at = listeners?.indexOf(listener) ?? -1;
    if (at !== -1) listeners!.splice(at, 1);
  }

  /**
   * Aborts once: calls the task's own listeners, then aborts the AbortSignal if one was
   * made (or as soon as anyone reads it).
   */
  abort(reason: unknown): void {
    if (this.#abortRequested) return;
    this.#abortRequested = true;
    this.#abortReason = reason;
    const listeners = this.#abortListeners;
    this.#abortListeners = null;
    this.#controller?.abort(reason);
    // One listener that throws must not keep the others from hearing the abort.
    for (const listener of listeners ?? []) {
      try {
        listener();
      } catch (error) {
        process.emitWarning(`abort listener of task ${this.id} threw: ${String(error)}`, {
          type: 'SchedulerCallbackWarning',
        });
      }
    }
  }
}
