// Runs jobs' targets on this process's one Scheduler and writes each result to the store as
// it lands: what a worker process needs on its own. It hears cancellations from the store
// (any process may ask), so a job stops wherever it runs; and it finishes a job once every
// one of its targets has a result, reading from the store whether it was cancelled.
import {
  type JobHandle,
  Scheduler,
  type SchedulerCounts,
  SchedulerError,
  type SchedulerSnapshot,
  type Task,
} from '../loop/index.js';
import type { AddressPolicy } from '../policy/address-policy.js';
import {
  type DnsResolver,
  type DnsStats,
  destinationOf,
  type ProbeLimits,
  probeTarget,
} from '../probe/index.js';
import { NameLookahead } from '../probe/name-lookahead.js';
import type { JobStatus } from '../schemas/job.js';
import type { ProbeOptions } from '../schemas/probe-options.js';
import type { ProbeResult } from '../schemas/probe-result.js';
import { ServiceClosingError } from './job-errors.js';
import { JobEndedError, type JobRecord, type JobStore } from './job-store.js';
import { cancelledResult, failedResult, serializeResult } from './result-json.js';
import { resultTallies } from './result-tallies.js';
import { settleWithin } from './settle-within.js';

export interface JobRunnerOptions {
  readonly store: JobStore;
  readonly resolver: DnsResolver;
  /** Global cap on targets in flight in this process (HEADPROBE_CONCURRENCY). */
  readonly concurrency: number;
  /** Cap on one caller's targets in flight across its jobs; the global cap when unset. */
  readonly concurrencyPerCaller?: number;
  readonly limits?: ProbeLimits;
  /** Which addresses targets may reach; none means every address (tests of the engine only). */
  readonly policy?: AddressPolicy;
  readonly observer?: JobObserver;
  readonly now?: () => number;
  /**
   * True for a store error that passes (Redis away): such a write is tried again, backing
   * off, until the store answers or the runner closes, so the run pauses instead of failing.
   */
  readonly isTransient?: (error: unknown) => boolean;
  /**
   * How often the runner reads whether its running jobs were cancelled, besides hearing it:
   * a networked store's notice can be lost (Redis's pub/sub while it reconnects).
   */
  readonly cancelRecheckMs?: number;
}

const CANCEL_RECHECK_MS = 5_000;

/** Backoff between tries of a write the store could not take, doubling up to the cap. */
const RETRY_FIRST_MS = 100;
const RETRY_MAX_MS = 2_000;

/** Hears every target and job that ends (metrics). Must not throw. */
export interface JobObserver {
  targetEnded(result: ProbeResult): void;
  jobEnded(status: JobStatus): void;
}

/** The jobs /v1/loop shows, each with who may see it. */
export type RunnerSnapshot = Omit<SchedulerSnapshot, 'jobs'> & {
  readonly jobs: ReadonlyArray<SchedulerSnapshot['jobs'][number] & { owner: string | null }>;
};

/** Targets whose names are resolved ahead, at the least, however few slots a job has. */
const MIN_LOOKAHEAD = 16;

/** A job (or a slice of it) this process is running. */
interface Run {
  /** The scheduler's name for it: the job id, or the job id and a slice number. */
  readonly key: string;
  readonly job: JobRecord;
  readonly options: ProbeOptions;
  /** The job's input index of each scheduler input: the slice. */
  readonly indices: readonly number[] | null;
  started: boolean;
  /** Cancelled before it reached this runner: its targets end without a probe. */
  readonly cancelledBefore: boolean;
  /** Resolves the names of the run's next targets; null where that gains nothing. */
  readonly lookahead: NameLookahead | null;
  /** Store writes in completion order; awaited before the job is finished. */
  writes: Promise<unknown>;
  writeError: unknown;
  /** Handed back at close (a queue runs its targets elsewhere): nothing more is written. */
  handedBack: boolean;
  /** Settles once the run's targets all have results and, if it completed the job, the end. */
  readonly ended: Promise<RunOutcome>;
}

/**
 * How a run ended: every target has a result; it was handed back unfinished at close; or a
 * result could not be written (a store error that is not transient), so whoever queued the
 * run should run it again.
 */
export type RunOutcome = 'complete' | 'handed-back' | 'unwritten';

export interface RunnerCloseOptions {
  /**
   * Hand running targets back instead of cancelling their jobs: they end without a result
   * (the queue runs them again elsewhere) and the jobs go on. Default: cancel the jobs, so
   * every target ends with a result (the one-process mode).
   */
  readonly handBack?: boolean;
}

export class JobRunner {
  readonly #scheduler: Scheduler<string, ProbeResult>;
  readonly #store: JobStore;
  readonly #resolver: DnsResolver;
  readonly #limits: ProbeLimits | undefined;
  readonly #policy: AddressPolicy | undefined;
  readonly #observer: JobObserver | undefined;
  readonly #now: () => number;
  readonly #concurrency: number;
  readonly #isTransient: (error: unknown) => boolean;
  /** By run key. */
  readonly #runs = new Map<string, Run>();
  #slices = 0;
  #stopWatching: Promise<() => void> | null = null;
  readonly #cancelRecheckMs: number;
  #recheck: NodeJS.Timeout | null = null;
  #closing: Promise<void> | null = null;

  constructor(options: JobRunnerOptions) {
    this.#store = options.store;
    this.#resolver = options.resolver;
    this.#limits = options.limits;
    this.#policy = options.policy;
    this.#observer = options.observer;
    this.#now = options.now ?? Date.now;
    this.#concurrency = options.concurrency;
    this.#isTransient = options.isTransient ?? (() => false);
    this.#cancelRecheckMs = options.cancelRecheckMs ?? CANCEL_RECHECK_MS;
    this.#scheduler = new Scheduler<string, ProbeResult>({
      concurrency: options.concurrency,
      groupConcurrency: Math.min(
        options.concurrencyPerCaller ?? options.concurrency,
        options.concurrency,
      ),
      runTask: (task) => this.#runTask(task),
      isFailure: (result) => !result.ok,
      destinationOf,
    });
  }

  /** Starts hearing the store's cancellations; resolves once that is live. Idempotent. */
  async start(): Promise<void> {
    this.#stopWatching ??= this.#store.watchCancellations((id) => this.#cancelRun(id));
    if (this.#recheck === null) {
      this.#recheck = setInterval(() => void this.#recheckCancellations(), this.#cancelRecheckMs);
      this.#recheck.unref();
    }
    await this.#stopWatching;
  }

  /** Reads the stored flag of every job running here; cancels those that have it. */
  async #recheckCancellations(): Promise<void> {
    const ids = new Set([...this.#runs.values()].map((run) => run.job.id));
    for (const id of ids) {
      const job = await this.#store.get(id).catch(() => null);
      if (job?.cancelRequested) this.#cancelRun(id);
    }
  }

  /**
   * Runs a job's targets, or only those at `indices` (a slice: several of one job may run at
   * once), and resolves once each has a result in the store (and the job has ended, if that
   * completed it), or once the run was handed back at close. Throws ServiceClosingError once
   * the runner is closing.
   */
  run(job: JobRecord, indices: readonly number[] | null = null): Promise<RunOutcome> {
    const { concurrency, concurrencyPerDestination, ...options } = job.options;
    const inputs = indices === null ? job.targets : indices.map((index) => job.targets[index]!);
    // The next generation of targets, resolved while this one runs; at least a few, so a job
    // of few slots whose targets end faster than the nameserver answers still stays ahead.
    const slots = Math.min(concurrency ?? this.#concurrency, this.#concurrency);
    const window = Math.max(slots, MIN_LOOKAHEAD);
    let endRun!: (outcome: RunOutcome) => void;
    const run: Run = {
      key: indices === null ? job.id : `${job.id}#${++this.#slices}`,
      job,
      options,
      indices,
      started: false,
      cancelledBefore: job.cancelRequested,
      lookahead:
        job.cancelRequested || !NameLookahead.helps(options, this.#resolver)
          ? null
          : new NameLookahead(inputs, options, this.#resolver, window),
      writes: Promise.resolve(),
      writeError: null,
      handedBack: false,
      ended: new Promise<RunOutcome>((resolve) => {
        endRun = resolve;
      }),
    };
    // Registered first: the scheduler starts the first tasks inside submit().
    this.#runs.set(run.key, run);
    let handle: JobHandle;
    try {
      handle = this.#scheduler.submit({
        jobId: run.key,
        group: job.caller,
        inputs,
        concurrency,
        destinationConcurrency: concurrencyPerDestination,
        onTaskEnd: (task, result, error) => this.#record(run, task, result, error),
      });
    } catch (error) {
      this.#runs.delete(run.key);
      endRun('complete');
      // Mapped by code: only a draining scheduler means the service is closing.
      if (error instanceof SchedulerError && error.code === 'SCHEDULER_DRAINING') {
        throw new ServiceClosingError();
      }
      throw error;
    }
    // A job cancelled before this process heard of it runs no target: the tasks the scheduler
    // started inside submit() ended without a probe, and the rest are cancelled here.
    if (run.cancelledBefore) this.#scheduler.cancelJob(run.key);
    // Not fire-and-forget: `ended` is awaited by run's callers, waitForIdle and close().
    void handle.done
      .then(async () => {
        run.lookahead?.abandon();
        if (!run.handedBack) await this.#endRun(run);
      })
      .finally(() => {
        this.#runs.delete(run.key);
        endRun(run.handedBack ? 'handed-back' : run.writeError !== null ? 'unwritten' : 'complete');
      });
    return run.ended;
  }

  #runTask(task: Task<string>): Promise<ProbeResult> {
    const run = this.#runs.get(task.jobId)!;
    if (run.cancelledBefore) return Promise.resolve(cancelledResult(task.input));
    if (!run.started) {
      run.started = true;
      this.#write(run, () => this.#store.markStarted(run.job.id, this.#now()));
    }
    run.lookahead?.started(task.index);
    // The task is its own cancellation signal: no AbortController per target.
    return probeTarget(task.input, run.options, {
      resolver: this.#resolver,
      limits: this.#limits,
      policy: this.#policy,
      signal: task,
    });
  }

  #record(run: Run, task: Task<string>, result: ProbeResult | undefined, error: unknown): void {
    // Handed back: the queue runs this target again elsewhere; a `cancelled` here would win.
    if (run.handedBack) return;
    const final =
      result ??
      (task.state === 'cancelled'
        ? cancelledResult(task.input)
        : failedResult(task.input, `probe failed: ${String(error)}`));
    const index = run.indices === null ? task.index : run.indices[task.index]!;
    const json = serializeResult(index, final);
    this.#write(run, async () => {
      try {
        // First write wins: a target another run already reported is counted once, there.
        const { appended } = await this.#store.appendResult(
          run.job.id,
          index,
          final.ok,
          json,
          resultTallies(final),
        );
        if (appended) this.#observer?.targetEnded(final);
      } catch (error) {
        if (!(error instanceof JobEndedError)) throw error;
        // The job ended elsewhere (another run's write failed it): nothing here counts now.
        this.#cancelRun(run.job.id, error);
      }
    });
  }

  /**
   * Sends a store write at once, without waiting for the run's earlier ones: on one
   * connection they still reach the store in the order sent, and a networked store gets
   * the writes of one loop turn in one round trip (ioredis auto-pipelining) instead of one
   * round trip each. `writes` settles when all have; the first failure that is not
   * transient fails the job.
   */
  #write(run: Run, write: () => Promise<unknown>): void {
    const written = this.#persist(write).catch((error: unknown) => {
      run.writeError ??= error;
    });
    run.writes = Promise.all([run.writes, written]);
  }

  /** Runs a store call, trying again while the store is away (until the runner closes). */
  async #persist<T>(call: () => Promise<T>): Promise<T> {
    for (let wait = RETRY_FIRST_MS; ; wait = Math.min(2 * wait, RETRY_MAX_MS)) {
      try {
        return await call();
      } catch (error) {
        if (!this.#isTransient(error) || this.#closing !== null) throw error;
        await new Promise((resolve) => setTimeout(resolve, wait));
      }
    }
  }

  /** Ends the job when this run gave it its last result, or when a write failed. */
  async #endRun(run: Run): Promise<void> {
    await run.writes;
    try {
      const job = await this.#persist(() => this.#store.get(run.job.id));
      if (job === null || job.finishedAt !== null) return;
      let status: JobStatus;
      if (run.writeError !== null) status = 'failed';
      else if (job.progress.done < job.progress.total) return;
      else status = job.cancelRequested ? 'cancelled' : 'succeeded';
      this.#observer?.jobEnded(status);
      await this.#persist(() => this.#store.finish(run.job.id, status, this.#now()));
    } catch {
      // The store is gone (deleted job, or a backend failure); nothing left to record.
    }
  }

  /**
   * Gives targets that could not be run at all a classified result (`internal_error`, with
   * `message`), then ends the job if that completed it: what a chunk that failed every try
   * leaves, so its job still ends.
   */
  async failTargets(job: JobRecord, indices: readonly number[], message: string): Promise<void> {
    for (const index of indices) {
      const result = failedResult(job.targets[index]!, message);
      const json = serializeResult(index, result);
      const { appended } = await this.#persist(() =>
        this.#store.appendResult(job.id, index, false, json, resultTallies(result)),
      );
      if (appended) this.#observer?.targetEnded(result);
    }
    // A run of no targets: it ends the job from the stored facts.
    await this.run(job, []);
  }

  /** The runs of job `id` here: one, or one per slice. */
  #runsOf(id: string): Run[] {
    return [...this.#runs.values()].filter((run) => run.job.id === id);
  }

  /** Stops the runs of job `id` here, as a cancellation heard from the store does. */
  cancel(id: string): void {
    this.#cancelRun(id);
  }

  #cancelRun(id: string, reason: unknown = new Error('job cancelled')): void {
    for (const run of this.#runsOf(id)) {
      run.lookahead?.abandon();
      this.#scheduler.cancelJob(run.key, reason);
    }
  }

  /** The owner of a job this process runs; undefined when it runs no such job. */
  ownerOf(id: string): string | null | undefined {
    return this.#runsOf(id)[0]?.job.owner;
  }

  /** The shared loop as /v1/loop shows it, each job (a slice shows as its job) with its owner. */
  snapshot(): RunnerSnapshot {
    const snapshot = this.#scheduler.snapshot();
    return {
      ...snapshot,
      jobs: snapshot.jobs.map((job) => {
        const run = this.#runs.get(job.jobId);
        return { ...job, jobId: run?.job.id ?? job.jobId, owner: run?.job.owner ?? null };
      }),
    };
  }

  counts(): SchedulerCounts {
    return this.#scheduler.counts();
  }

  /** The resolver's figures; undefined for one that keeps none (getaddrinfo). */
  dnsStats(): DnsStats | undefined {
    return this.#resolver.stats?.();
  }

  /** Resolves when this process runs no job, or after `timeoutMs`, whichever comes first. */
  async waitForIdle(timeoutMs: number): Promise<void> {
    await settleWithin(Promise.all([...this.#runs.values()].map((run) => run.ended)), timeoutMs);
  }

  /**
   * Drains: the jobs running here are cancelled (a stored request, so they end `cancelled`)
   * and every target still ends with a result; or, with `handBack`, the running targets end
   * without one and their jobs go on elsewhere. Idempotent.
   */
  close(options: RunnerCloseOptions = {}): Promise<void> {
    this.#closing ??= (async () => {
      const runs = [...this.#runs.values()];
      const ended = runs.map((run) => run.ended);
      if (options.handBack) for (const run of runs) run.handedBack = true;
      else {
        const jobIds = new Set(runs.map((run) => run.job.id));
        await Promise.all([...jobIds].map((id) => this.#store.requestCancel(id)));
      }
      const reason = new Error('service closing');
      await this.#scheduler.drain({ cancel: true, reason });
      await Promise.all(ended);
      if (this.#recheck !== null) clearInterval(this.#recheck);
      const stopWatching = await this.#stopWatching;
      stopWatching?.();
    })();
    return this.#closing;
  }
}
