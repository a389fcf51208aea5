// The storage seam for jobs: what is kept about a job, its results and its live events.
// Every store (in-memory now, Redis later) passes test/jobs/job-store.contract.ts.
import { ServiceError } from '../errors.js';
import type { JobOptions, JobProgress, JobStatus } from '../schemas/job.js';

/** What a store keeps about one job. Times are epoch milliseconds. */
export interface JobRecord {
  readonly id: string;
  status: JobStatus;
  readonly createdAt: number;
  startedAt: number | null;
  finishedAt: number | null;
  readonly options: JobOptions;
  readonly targets: readonly string[];
  readonly progress: JobProgress;
  /**
   * Results per outcome, by tally key (`error:<code>`, `grade:<grade>`, `finding:<id>`; see
   * result-tallies.ts): what appendResult was told, counted once per stored result.
   */
  readonly tallies: Record<string, number>;
  /**
   * Set once someone asked to cancel the job while it had targets without a result: the
   * runner that finishes it reads this to end it `cancelled`.
   */
  cancelRequested: boolean;
  /** Who submitted it (`key:<hash prefix>`, `ip:<address>`): admission caps count per caller. */
  readonly caller: string;
  /** Who may see the job: the SHA-256 (hex) of the API key that created it; null when open. */
  readonly owner: string | null;
  /** Set when the job was submitted with an Idempotency-Key (unique per owner). */
  readonly idempotencyKey: string | null;
  /** Fingerprint of the submitted body, to tell a retry from a different request. */
  readonly requestHash: string | null;
}

export interface NewJob {
  readonly id: string;
  readonly createdAt: number;
  readonly options: JobOptions;
  readonly targets: readonly string[];
  readonly caller: string;
  readonly owner: string | null;
  readonly idempotencyKey: string | null;
  readonly requestHash: string | null;
}

/** Targets of unfinished jobs that have no result yet: what the admission caps count. */
export interface QueuedTargets {
  readonly total: number;
  readonly caller: number;
}

/** What requestCancel did: the job as it is now, and whether the request was recorded. */
export interface CancelOutcome {
  readonly job: JobRecord | null;
  /** False for an unknown job, a finished one, or one whose targets all have results. */
  readonly requested: boolean;
}

/** One stored result: `seq` is its 1-based place in completion order, `json` a ProbeResult. */
export interface StoredResult {
  readonly seq: number;
  readonly index: number;
  readonly json: string;
}

export type JobEvent =
  | { readonly type: 'result'; readonly result: StoredResult; readonly progress: JobProgress }
  | { readonly type: 'done'; readonly status: JobStatus; readonly progress: JobProgress };

export interface JobListQuery {
  readonly status?: JobStatus;
  /** Only this owner's jobs; absent means every job. */
  readonly owner?: string | null;
  /** Opaque, from a previous page's `nextCursor`. */
  readonly cursor?: string;
  readonly limit: number;
}

export interface JobListPage {
  /** Newest first. */
  readonly jobs: JobRecord[];
  readonly nextCursor: string | null;
}

export class JobStoreFullError extends ServiceError {
  constructor(message = 'too many jobs are active; retry when some have finished') {
    super('too_many_jobs', message);
  }
}

/** create() under an (owner, Idempotency-Key) a live job already has: it carries that job. */
export class IdempotencyKeyInUseError extends Error {
  override name = 'IdempotencyKeyInUseError';
  constructor(readonly existing: JobRecord) {
    super(`idempotency key in use by job ${existing.id}`);
  }
}

/** appendResult for a job that has ended: its results and counts are final. */
export class JobEndedError extends Error {
  override name = 'JobEndedError';
  constructor(readonly jobId: string) {
    super(`job ${jobId} has ended; it takes no more results`);
  }
}

/** What appendResult did: stored it, or found a result for that index already (kept). */
export interface AppendOutcome {
  /** The stored result for the index: the new one, or the first one written. */
  readonly result: StoredResult;
  readonly appended: boolean;
}

export class InvalidCursorError extends ServiceError {
  constructor(message = 'the cursor is not one this server handed out') {
    super('invalid_cursor', message);
  }
}

export interface JobStore {
  /**
   * Throws JobStoreFullError when no finished job can make room. With an idempotency key,
   * create-if-absent: when a live job of the same owner has the key, nothing is created and
   * IdempotencyKeyInUseError carries that job (atomic, so concurrent retries make one job).
   */
  create(job: NewJob): Promise<JobRecord>;
  /** Null for unknown, deleted or expired jobs. */
  get(id: string): Promise<JobRecord | null>;
  /** Idempotency keys are per owner: two owners may use the same key for different jobs. */
  findByIdempotencyKey(owner: string | null, key: string): Promise<JobRecord | null>;
  /** Throws InvalidCursorError for a cursor this store did not hand out. */
  list(query: JobListQuery): Promise<JobListPage>;
  /** queued → running, once; later calls change nothing. */
  markStarted(id: string, at: number): Promise<void>;
  /**
   * Records the result of input `index` and tells subscribers. The first write for an index
   * wins: a second one (a re-run slice) changes nothing, tells nobody, and says so
   * (`appended: false`, with the stored result). A job that has ended takes none: a result
   * for a new index throws JobEndedError (a run still going when its job failed). Each of
   * `tallies` (distinct keys) is counted once with a stored result, never with a kept one.
   */
  appendResult(
    id: string,
    index: number,
    ok: boolean,
    json: string,
    tallies?: readonly string[],
  ): Promise<AppendOutcome>;
  /** Ends the job with a final status and tells subscribers (a `done` event). */
  finish(id: string, status: JobStatus, at: number): Promise<void>;
  /** Forgets the job and its results. False when it was not there. */
  delete(id: string): Promise<boolean>;
  /** Results in completion order with seq > afterSeq, at most `limit`. */
  resultsAfter(id: string, afterSeq: number, limit: number): Promise<StoredResult[]>;
  /** Results finished so far, in input order, at most `limit`. */
  resultsInInputOrder(id: string, limit: number): Promise<StoredResult[]>;
  /**
   * The indices in [from, to) that have no result yet, ascending (a re-run chunk runs only
   * these). Empty for an unknown job.
   */
  indicesWithoutResult(id: string, from: number, to: number): Promise<number[]>;
  /**
   * Live events of one job from the moment it resolves (the subscription is live then), until
   * `done` (after which it ends by itself) or until the function it resolves to is called.
   */
  subscribe(id: string, listener: (event: JobEvent) => void): Promise<() => void>;
  /**
   * Records that the job is to be cancelled (once; idempotent) and tells every cancellation
   * watcher, in this process or another. Only a job with targets still without a result can
   * be cancelled: one whose results are all in is finishing, not cancelled.
   */
  requestCancel(id: string): Promise<CancelOutcome>;
  /**
   * Hears every recorded cancellation request, of any job, from the moment it resolves
   * until the function it resolves to is called. Runners use it to stop their tasks.
   */
  watchCancellations(listener: (id: string) => void): Promise<() => void>;
  /**
   * Targets without a result in unfinished jobs, overall and of one caller. A job's count
   * falls by one per result appended and to zero when it finishes or is deleted.
   */
  queuedTargets(caller: string): Promise<QueuedTargets>;
}
