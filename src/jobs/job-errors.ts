// The job API's domain errors, each a code from the catalog in src/errors.ts.
import { ServiceError } from '../errors.js';

export class JobNotFoundError extends ServiceError {
  constructor(id: string) {
    super('job_not_found', `no job ${id} (it may have expired or been deleted)`);
  }
}

export class JobNotFinishedError extends ServiceError {
  constructor(id: string, format: string) {
    super('job_not_finished', `job ${id} still runs: its ${format} export is ready once it ends`);
  }
}

export class IdempotencyConflictError extends ServiceError {
  constructor() {
    super('idempotency_key_reused', 'this Idempotency-Key was used with a different request');
  }
}

export class ServiceClosingError extends ServiceError {
  constructor() {
    super('shutting_down', 'the service is shutting down');
  }
}
