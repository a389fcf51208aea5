// The shared scheduler: Task state machine, global, per-job and per-destination caps,
// fairness, drain.
export { SchedulerError, type SchedulerErrorCode } from './errors.js';
export type { EventLoopStats } from './event-loop-stats.js';
export {
  type DrainOptions,
  type JobHandle,
  type JobSnapshot,
  type ScheduledJobOutcome,
  type ScheduledJobSpec,
  Scheduler,
  type SchedulerCounts,
  type SchedulerOptions,
  type SchedulerSnapshot,
} from './scheduler.js';
export type { CancellationSignal, Task, TaskState } from './task.js';
