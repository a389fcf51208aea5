// Errors the scheduler throws at its callers; `code` is stable so the jobs layer can map
// each one to its own domain error without matching on messages.

export type SchedulerErrorCode = 'SCHEDULER_DRAINING' | 'JOB_ALREADY_ACTIVE';

export class SchedulerError extends Error {
  readonly code: SchedulerErrorCode;

  constructor(code: SchedulerErrorCode, message: string) {
    super(message);
    this.name = 'SchedulerError';
    this.code = code;
  }
}
