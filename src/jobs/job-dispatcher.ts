// The seam between "a job was accepted" and "its targets run". The in-process dispatcher hands
// the job to this process's runner; a queue-backed one (workers on Redis) replaces it without
// the routes, the submissions or the store knowing.
import type { JobRunner } from './job-runner.js';
import type { JobRecord } from './job-store.js';

export interface JobDispatcher {
  /**
   * Hands a stored job over to run. Resolves once it is handed over, not when it ends (that
   * is read from the store). Throws ServiceClosingError when nothing will run it.
   */
  dispatch(job: JobRecord): Promise<void>;
}

/** Runs every job on this process's runner (the embedded, one-process mode). */
export class InProcessDispatcher implements JobDispatcher {
  constructor(private readonly runner: JobRunner) {}

  async dispatch(job: JobRecord): Promise<void> {
    // The run settles when the job has ended; the runner keeps it, and close() awaits it.
    void this.runner.run(job);
  }
}
