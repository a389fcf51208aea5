// Job lifecycle over the shared scheduler and a JobStore: submit (with idempotency),
// progress as targets end, cancel, delete, wait for the end, and close (drain).
import { createHash, randomUUID } from 'node:crypto';
import { ServiceError } from '../errors.js';
import { Scheduler, SchedulerError, type Task } from '../loop/index.js';
import type { AddressPolicy } from '../policy/address-policy.js';
import { OverloadedError, TooManyQueuedTargetsError } from '../policy/caller-errors.js';
import { checkHeaderBudget, type HeaderBudget } from '../policy/header-budget.js';
import { type DnsResolver, destinationOf, type ProbeLimits, probeTarget } from '../probe/index.js';
import type { JobOptions, JobStatus, JobSubmission } from '../schemas/job.js';
import { ProbeOptions } from '../schemas/probe-options.js';
import type { ProbeResult } from '../schemas/probe-result.js';
import { IdempotencyKeyInUseError, type JobRecord, type JobStore } from './job-store.js';
import { cancelledResult, failedResult, serializeResult } from './result-json.js';

export interface JobServiceOptions {
  readonly store: JobStore;
  readonly resolver: DnsResolver;
  /** Global cap on targets in flight (HEADPROBE_CONCURRENCY). */
  readonly concurrency: number;
  /**
   * Cap on one caller's targets in flight across its jobs, and so a job's default cap; the
   * global cap when unset. Callers take turns, then their jobs do.
   */
  readonly concurrencyPerCaller?: number;
  /** Targets in flight per host:port for a job that does not say, and the most one may ask. */
  readonly concurrencyPerDestination?: number;
  readonly maxConcurrencyPerDestination?: number;
  readonly limits?: ProbeLimits;
  /** Which addresses targets may reach; none means every address (tests of the engine only). */
  readonly policy?: AddressPolicy;
  /** Targets queued or running at once: across all jobs, and per caller. */
  readonly maxQueuedTargets?: number;
  readonly maxQueuedTargetsPerCaller?: number;
  /** Bounds on caller-header bytes per request and per job; none means unbounded. */
  readonly headerBudget?: HeaderBudget;
  readonly observer?: JobObserver;
  readonly now?: () => number;
}

/** Hears every target and job that ends (metrics). Must not throw. */
export interface JobObserver {
  targetEnded(result: ProbeResult): void;
  jobEnded(status: JobStatus): void;
}

export class IdempotencyConflictError extends ServiceError {
  constructor() {
    super('idempotency_key_reused', 422, 'this Idempotency-Key was used with a different request');
  }
}

export class ServiceClosingError extends ServiceError {
  constructor() {
    super('shutting_down', 503, 'the service is shutting down', 5);
  }
}

/** Who submits: `caller` for per-caller limits and fairness, `owner` for who may see the job. */
export interface Submitter {
  /** `key:<hash prefix>` or `ip:<address>`. */
  readonly caller: string;
  /** SHA-256 (hex) of the caller's API key; null when the API is open. */
  readonly owner: string | null;
}

const ANONYMOUS: Submitter = { caller: 'anonymous', owner: null };

/** A job this process is running: what its tasks need, and how it ends. */
interface ActiveJob {
  readonly options: ProbeOptions;
  readonly caller: string;
  readonly owner: string | null;
  started: boolean;
  cancelRequested: boolean;
  /** Store writes in completion order; awaited before the job is finished. */
  writes: Promise<unknown>;
  writeError: unknown;
  /** Settles when the job has its final status in the store. */
  ended: Promise<void>;
}

const FINISHED: ReadonlySet<JobStatus> = new Set(['succeeded', 'cancelled', 'failed']);

export function isFinished(status: JobStatus): boolean {
  return FINISHED.has(status);
}

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

export class JobService {
  readonly scheduler: Scheduler<string, ProbeResult>;
  readonly #store: JobStore;
  readonly #resolver: DnsResolver;
  readonly #limits: ProbeLimits | undefined;
  readonly #policy: AddressPolicy | undefined;
  readonly #now: () => number;
  readonly #concurrency: number;
  readonly #perCaller: number;
  readonly #perDestination: number;
  readonly #maxPerDestination: number;
  readonly #active = new Map<string, ActiveJob>();
  /** Targets not yet ended, per caller: the per-caller queue cap counts these. */
  readonly #outstanding = new Map<string, number>();
  readonly #maxQueued: number;
  readonly #maxQueuedPerCaller: number;
  readonly #observer: JobObserver | undefined;
  readonly #headerBudget: HeaderBudget | undefined;
  #closing: Promise<void> | null = null;
  #draining = false;

  constructor(options: JobServiceOptions) {
    this.#store = options.store;
    this.#resolver = options.resolver;
    this.#limits = options.limits;
    this.#policy = options.policy;
    this.#now = options.now ?? Date.now;
    this.#concurrency = options.concurrency;
    this.#perCaller = Math.min(
      options.concurrencyPerCaller ?? options.concurrency,
      options.concurrency,
    );
    this.#maxPerDestination = options.maxConcurrencyPerDestination ?? Number.POSITIVE_INFINITY;
    this.#perDestination = Math.min(
      options.concurrencyPerDestination ?? Number.POSITIVE_INFINITY,
      this.#maxPerDestination,
    );
    this.#maxQueued = options.maxQueuedTargets ?? Number.POSITIVE_INFINITY;
    this.#maxQueuedPerCaller = options.maxQueuedTargetsPerCaller ?? Number.POSITIVE_INFINITY;
    this.#observer = options.observer;
    this.#headerBudget = options.headerBudget;
    this.scheduler = new Scheduler<string, ProbeResult>({
      concurrency: options.concurrency,
      groupConcurrency: this.#perCaller,
      runTask: (task) => this.#runTask(task),
      isFailure: (result) => !result.ok,
      destinationOf,
    });
  }

  get store(): JobStore {
    return this.#store;
  }

  /** The process's one resolver and its shared cache (its figures feed /metrics). */
  get resolver(): DnsResolver {
    return this.#resolver;
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
   * Creates and starts a job. With an Idempotency-Key, a retry of the same body returns the
   * first job (`created: false`); the same key with another body is an IdempotencyConflictError.
   */
  async submit(
    submission: JobSubmission,
    idempotencyKey: string | null,
    submitter: Submitter = ANONYMOUS,
  ): Promise<{ job: JobRecord; created: boolean }> {
    if (this.#draining) throw new ServiceClosingError();
    if (idempotencyKey === null) return this.#create(submission, null, submitter);
    const existing = await this.#store.findByIdempotencyKey(submitter.owner, idempotencyKey);
    if (existing !== null) return this.#replay({ job: existing, created: false }, submission);
    try {
      return await this.#create(submission, idempotencyKey, submitter);
    } catch (error) {
      // The store creates under a key only if absent: a concurrent retry (here or in another
      // process) made the job first, and this submission is a replay of it.
      if (error instanceof IdempotencyKeyInUseError) {
        return this.#replay({ job: error.existing, created: false }, submission);
      }
      throw error;
    }
  }

  #replay(
    first: { job: JobRecord; created: boolean },
    submission: JobSubmission,
  ): { job: JobRecord; created: boolean } {
    const hash = hashSubmission(submission.targets, this.normalizeOptions(submission.options));
    if (first.job.requestHash !== hash) {
      throw new IdempotencyConflictError();
    }
    return { job: first.job, created: false };
  }

  /** Refuses work beyond the queue caps: the whole process's, then this caller's. */
  #admit(caller: string, targets: number): void {
    const { queued, running } = this.scheduler.counts();
    if (queued + running + targets > this.#maxQueued) {
      throw new OverloadedError(`more than ${this.#maxQueued} targets queued`);
    }
    if ((this.#outstanding.get(caller) ?? 0) + targets > this.#maxQueuedPerCaller) {
      throw new TooManyQueuedTargetsError(this.#maxQueuedPerCaller);
    }
  }

  #settleOutstanding(caller: string, targets: number): void {
    const left = (this.#outstanding.get(caller) ?? 0) + targets;
    if (left <= 0) this.#outstanding.delete(caller);
    else this.#outstanding.set(caller, left);
  }

  async #create(
    submission: JobSubmission,
    idempotencyKey: string | null,
    submitter: Submitter,
  ): Promise<{ job: JobRecord; created: boolean }> {
    const options = this.normalizeOptions(submission.options);
    if (this.#headerBudget !== undefined) {
      checkHeaderBudget(
        options.headers,
        submission.targets.length,
        options.followRedirects,
        this.#headerBudget,
      );
    }
    this.#admit(submitter.caller, submission.targets.length);
    const job = await this.#store.create({
      id: randomUUID(),
      createdAt: this.#now(),
      options,
      targets: submission.targets,
      owner: submitter.owner,
      idempotencyKey,
      requestHash: idempotencyKey === null ? null : hashSubmission(submission.targets, options),
    });
    this.#start(job, submitter.caller);
    return { job, created: true };
  }

  /** The owner of a job this process runs (for /v1/loop); undefined once it has ended. */
  ownerOfActive(id: string): string | null | undefined {
    return this.#active.get(id)?.owner;
  }

  #start(job: JobRecord, caller: string): void {
    const { concurrency, concurrencyPerDestination, ...probeOptions } = job.options;
    let endJob!: () => void;
    this.#settleOutstanding(caller, job.targets.length);
    const active: ActiveJob = {
      options: probeOptions,
      caller,
      owner: job.owner,
      started: false,
      cancelRequested: false,
      writes: Promise.resolve(),
      writeError: null,
      ended: new Promise<void>((resolve) => {
        endJob = resolve;
      }),
    };
    // Registered first: the scheduler starts the first tasks inside submit().
    this.#active.set(job.id, active);
    let handle: ReturnType<typeof this.scheduler.submit>;
    try {
      handle = this.scheduler.submit({
        jobId: job.id,
        group: caller,
        inputs: job.targets,
        concurrency,
        destinationConcurrency: concurrencyPerDestination,
        onTaskEnd: (task, result, error) => this.#record(active, task, result, error),
      });
    } catch (error) {
      // The job never runs, so it ends now: cancelled if shutdown began while it was being
      // stored, failed otherwise (an id the scheduler already runs is a bug, not a closing).
      this.#active.delete(job.id);
      this.#settleOutstanding(caller, -job.targets.length);
      endJob();
      const draining = error instanceof SchedulerError && error.code === 'SCHEDULER_DRAINING';
      const status = draining ? 'cancelled' : 'failed';
      void this.#store.finish(job.id, status, this.#now()).catch(() => {});
      if (draining) throw new ServiceClosingError();
      throw error;
    }
    // Not fire-and-forget: `ended` is awaited by cancel, delete, waits and close().
    void handle.done
      .then(() => this.#finish(job.id, active))
      .finally(() => {
        this.#active.delete(job.id);
        endJob();
      });
  }

  #runTask(task: Task<string>): Promise<ProbeResult> {
    const active = this.#active.get(task.jobId)!;
    if (!active.started) {
      active.started = true;
      this.#write(active, () => this.#store.markStarted(task.jobId, this.#now()));
    }
    // The task is its own cancellation signal: no AbortController per target.
    return probeTarget(task.input, active.options, {
      resolver: this.#resolver,
      limits: this.#limits,
      policy: this.#policy,
      signal: task,
    });
  }

  #record(
    active: ActiveJob,
    task: Task<string>,
    result: ProbeResult | undefined,
    error: unknown,
  ): void {
    const final =
      result ??
      (task.state === 'cancelled'
        ? cancelledResult(task.input)
        : failedResult(task.input, `probe failed: ${String(error)}`));
    this.#observer?.targetEnded(final);
    const json = serializeResult(task.index, final);
    this.#settleOutstanding(active.caller, -1);
    this.#write(active, () => this.#store.appendResult(task.jobId, task.index, final.ok, json));
  }

  /** Chains a store write behind the job's earlier ones; the first failure fails the job. */
  #write(active: ActiveJob, write: () => Promise<unknown>): void {
    active.writes = active.writes.then(write).catch((error: unknown) => {
      active.writeError ??= error;
    });
  }

  async #finish(id: string, active: ActiveJob): Promise<void> {
    await active.writes;
    const status: JobStatus =
      active.writeError !== null ? 'failed' : active.cancelRequested ? 'cancelled' : 'succeeded';
    this.#observer?.jobEnded(status);
    try {
      await this.#store.finish(id, status, this.#now());
    } catch {
      // The store is gone (deleted job, or a backend failure); nothing left to record.
    }
  }

  /** Stops a job's queued and running targets; resolves with the job once it has ended. */
  async cancel(id: string): Promise<JobRecord | null> {
    const job = await this.#store.get(id);
    if (job === null) return null;
    const active = this.#active.get(id);
    if (active !== undefined) {
      // A job whose targets have all ended is finishing, not cancelled.
      if (this.scheduler.cancelJob(id, new Error('job cancelled'))) active.cancelRequested = true;
      await active.ended;
    }
    return this.#store.get(id);
  }

  /** Forgets a job, cancelling it first. */
  async delete(id: string): Promise<boolean> {
    const job = await this.cancel(id);
    if (job === null) return false;
    return this.#store.delete(id);
  }

  /** The job once it has ended, or as it is after `timeoutMs`. */
  async waitForEnd(id: string, timeoutMs: number): Promise<JobRecord | null> {
    const active = this.#active.get(id);
    if (active !== undefined && timeoutMs > 0) {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, timeoutMs);
      });
      await Promise.race([active.ended, timeout]);
      clearTimeout(timer);
    }
    return this.#store.get(id);
  }

  /** True once shutdown began: no new jobs are taken. */
  get draining(): boolean {
    return this.#draining;
  }

  /** Stops taking new jobs; running ones go on. */
  beginDrain(): void {
    this.#draining = true;
  }

  /** Resolves when no job is running, or after `timeoutMs`, whichever comes first. */
  async waitForIdle(timeoutMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, timeoutMs);
    });
    await Promise.race([Promise.all([...this.#active.values()].map((a) => a.ended)), timeout]);
    clearTimeout(timer);
  }

  /** Drains: running jobs are cancelled and every target still ends with a result. Idempotent. */
  close(): Promise<void> {
    this.#draining = true;
    this.#closing ??= (async () => {
      const ended = [...this.#active.values()].map((active) => active.ended);
      const reason = new Error('service closing');
      for (const [id, active] of this.#active) {
        if (this.scheduler.cancelJob(id, reason)) active.cancelRequested = true;
      }
      await this.scheduler.drain({ cancel: true, reason });
      await Promise.all(ended);
    })();
    return this.#closing;
  }
}

export class JobNotFoundError extends ServiceError {
  constructor(id: string) {
    super('job_not_found', 404, `no job ${id} (it may have expired or been deleted)`);
  }
}
