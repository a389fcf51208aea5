// Taking jobs in: options normalised against the server's caps, the header budget, admission,
// then create-if-absent in the store under an Idempotency-Key (a retry with the same body is
// the same job, in this process or another), and last the handover to the dispatcher.
import { createHash, randomUUID } from 'node:crypto';
import { checkHeaderBudget, type HeaderBudget } from '../policy/header-budget.js';
import type { JobOptions, JobSubmission } from '../schemas/job.js';
import { ProbeOptions } from '../schemas/probe-options.js';
import type { JobAdmission } from './job-admission.js';
import type { JobDispatcher } from './job-dispatcher.js';
import { IdempotencyConflictError, ServiceClosingError } from './job-errors.js';
import { IdempotencyKeyInUseError, type JobRecord, type JobStore } from './job-store.js';

export interface JobSubmissionsOptions {
  readonly store: JobStore;
  readonly admission: JobAdmission;
  readonly dispatcher: JobDispatcher;
  /** A job's default `concurrency`, and the most it may ask for. */
  readonly concurrencyPerCaller: number;
  /** Targets in flight per host:port for a job that does not say, and the most one may ask. */
  readonly concurrencyPerDestination?: number;
  readonly maxConcurrencyPerDestination?: number;
  /** Bounds on caller-header bytes per request and per job; none means unbounded. */
  readonly headerBudget?: HeaderBudget;
  readonly now?: () => number;
}

/** Who submits: `caller` for per-caller limits and fairness, `owner` for who may see the job. */
export interface Submitter {
  /** `key:<hash prefix>` or `ip:<address>`. */
  readonly caller: string;
  /** SHA-256 (hex) of the caller's API key; null when the API is open. */
  readonly owner: string | null;
}

export interface Submitted {
  readonly job: JobRecord;
  /** False for a retry that named an earlier job by its Idempotency-Key. */
  readonly created: boolean;
}

const ANONYMOUS: Submitter = { caller: 'anonymous', owner: null };

/** Same request, same hash, whatever order the client wrote its header and pin keys in. */
function hashSubmission(targets: readonly string[], options: JobOptions): string {
  const sorted = (record: Record<string, string>) =>
    Object.entries(record).sort(([a], [b]) => (a < b ? -1 : 1));
  const canonical = {
    ...options,
    headers: sorted(options.headers),
    resolve: sorted(options.resolve),
  };
  return createHash('sha256')
    .update(JSON.stringify({ targets, options: canonical }))
    .digest('base64url');
}

export class JobSubmissions {
  readonly #store: JobStore;
  readonly #admission: JobAdmission;
  readonly #dispatcher: JobDispatcher;
  readonly #perCaller: number;
  readonly #perDestination: number;
  readonly #maxPerDestination: number;
  readonly #headerBudget: HeaderBudget | undefined;
  readonly #now: () => number;
  #draining = false;

  constructor(options: JobSubmissionsOptions) {
    this.#store = options.store;
    this.#admission = options.admission;
    this.#dispatcher = options.dispatcher;
    this.#perCaller = options.concurrencyPerCaller;
    this.#maxPerDestination = options.maxConcurrencyPerDestination ?? Number.POSITIVE_INFINITY;
    this.#perDestination = Math.min(
      options.concurrencyPerDestination ?? Number.POSITIVE_INFINITY,
      this.#maxPerDestination,
    );
    this.#headerBudget = options.headerBudget;
    this.#now = options.now ?? Date.now;
  }

  /** True once shutdown began: no new jobs are taken. */
  get draining(): boolean {
    return this.#draining;
  }

  /** Stops taking new jobs; running ones go on. */
  beginDrain(): void {
    this.#draining = true;
  }

  /** The options a job runs with: defaults filled in, caps lowered to the server's. */
  normalizeOptions(options: JobSubmission['options']): JobOptions {
    const { concurrency, concurrencyPerDestination, ...probeOptions } = options ?? {};
    const cap = this.#perCaller;
    const perDestination = Math.min(
      concurrencyPerDestination ?? this.#perDestination,
      this.#maxPerDestination,
    );
    return {
      ...ProbeOptions.parse(probeOptions),
      concurrency: Math.min(concurrency ?? cap, cap),
      ...(Number.isFinite(perDestination) ? { concurrencyPerDestination: perDestination } : {}),
    };
  }

  /**
   * Creates and dispatches a job. With an Idempotency-Key, a retry of the same body returns
   * the first job (`created: false`); the same key with another body is an
   * IdempotencyConflictError.
   */
  async submit(
    submission: JobSubmission,
    idempotencyKey: string | null,
    submitter: Submitter = ANONYMOUS,
  ): Promise<Submitted> {
    if (this.#draining) throw new ServiceClosingError();
    if (idempotencyKey === null) return this.#create(submission, null, submitter);
    const existing = await this.#store.findByIdempotencyKey(submitter.owner, idempotencyKey);
    if (existing !== null) return this.#replay(existing, submission);
    try {
      return await this.#create(submission, idempotencyKey, submitter);
    } catch (error) {
      // The store creates under a key only if absent: a concurrent retry (here or in another
      // process) made the job first, and this submission is a replay of it.
      if (error instanceof IdempotencyKeyInUseError)
        return this.#replay(error.existing, submission);
      throw error;
    }
  }

  #replay(first: JobRecord, submission: JobSubmission): Submitted {
    const hash = hashSubmission(submission.targets, this.normalizeOptions(submission.options));
    if (first.requestHash !== hash) throw new IdempotencyConflictError();
    return { job: first, created: false };
  }

  async #create(
    submission: JobSubmission,
    idempotencyKey: string | null,
    submitter: Submitter,
  ): Promise<Submitted> {
    const options = this.normalizeOptions(submission.options);
    if (this.#headerBudget !== undefined) {
      checkHeaderBudget(
        options.headers,
        submission.targets.length,
        options.followRedirects,
        this.#headerBudget,
      );
    }
    await this.#admission.admit(submitter.caller, submission.targets.length);
    const job = await this.#store.create({
      id: randomUUID(),
      createdAt: this.#now(),
      options,
      targets: submission.targets,
      caller: submitter.caller,
      owner: submitter.owner,
      idempotencyKey,
      requestHash: idempotencyKey === null ? null : hashSubmission(submission.targets, options),
    });
    try {
      await this.#dispatcher.dispatch(job);
    } catch (error) {
      // Nothing will run it, so it ends now: cancelled if the service is closing, failed
      // otherwise (a bug, not a closing).
      const status = error instanceof ServiceClosingError ? 'cancelled' : 'failed';
      await this.#store.finish(job.id, status, this.#now()).catch(() => {});
      throw error;
    }
    return { job, created: true };
  }
}
