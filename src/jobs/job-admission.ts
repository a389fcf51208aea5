// Admission: refuses a job whose targets would take the targets queued or running past the
// caps, the whole service's and the caller's. Counted by the store, so every API process
// sees the same figures. The check and the create are two steps: concurrent submissions
// may overshoot a cap by one job each, which the caps (there to bound memory) tolerate.
import { OverloadedError, TooManyQueuedTargetsError } from '../policy/caller-errors.js';
import type { JobStore } from './job-store.js';

export interface AdmissionCaps {
  /** Targets queued or running across all jobs. */
  readonly maxQueuedTargets: number;
  /** Targets queued or running across one caller's jobs. */
  readonly maxQueuedTargetsPerCaller: number;
}

export class JobAdmission {
  constructor(
    private readonly store: JobStore,
    private readonly caps: AdmissionCaps,
  ) {}

  /** Throws OverloadedError or TooManyQueuedTargetsError when `targets` more do not fit. */
  async admit(caller: string, targets: number): Promise<void> {
    const queued = await this.store.queuedTargets(caller);
    if (queued.total + targets > this.caps.maxQueuedTargets) {
      throw new OverloadedError(`more than ${this.caps.maxQueuedTargets} targets queued`);
    }
    if (queued.caller + targets > this.caps.maxQueuedTargetsPerCaller) {
      throw new TooManyQueuedTargetsError(this.caps.maxQueuedTargetsPerCaller);
    }
  }
}
