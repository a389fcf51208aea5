// What a caller does to a stored job wherever it runs: wait for its end, cancel it, delete it.
// Each is read from and written to the store (a cancellation is a stored request the runners
// hear), so any API process can answer for any job.
import { isFinished } from '../schemas/job.js';
import type { JobRecord, JobStore } from './job-store.js';
import { settleWithin } from './settle-within.js';

/** How long cancel and delete wait for a cancelled job's running targets to end. */
const CANCEL_WAIT_MS = 30_000;

export class JobControl {
  constructor(private readonly store: JobStore) {}

  /**
   * The job once it has ended, or as it is after `timeoutMs`; null when it is gone (deleted
   * or expired meanwhile), never the record from before the wait.
   */
  async waitForEnd(id: string, timeoutMs: number): Promise<JobRecord | null> {
    let ended!: () => void;
    const done = new Promise<void>((resolve) => {
      ended = resolve;
    });
    // Subscribed before the read, so an end between the two is not missed.
    const unsubscribe = await this.store.subscribe(id, (event) => {
      if (event.type === 'done') ended();
    });
    try {
      const job = await this.store.get(id);
      if (job === null || isFinished(job.status) || timeoutMs <= 0) return job;
      await settleWithin(done, timeoutMs);
      return await this.store.get(id);
    } finally {
      unsubscribe();
    }
  }

  /**
   * Stops a job's queued and running targets (they end `cancelled`) and resolves with the job
   * once it has ended; a job whose targets have all ended is finishing, not cancelled.
   */
  async cancel(id: string): Promise<JobRecord | null> {
    const { job } = await this.store.requestCancel(id);
    if (job === null) return null;
    // Cancelled or finishing: either way it ends soon, wherever it runs.
    return this.waitForEnd(id, CANCEL_WAIT_MS);
  }

  /** Forgets a job, cancelling it first. */
  async delete(id: string): Promise<boolean> {
    const job = await this.cancel(id);
    if (job === null) return false;
    return this.store.delete(id);
  }
}
