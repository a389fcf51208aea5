// The JobStore of a single process: jobs, results and live listeners in memory, bounded in
// count and retention. Result JSON is kept as UTF-8 bytes off the V8 heap, so a job of
// 100,000 targets does not make V8 grow its heap (and the process's RSS) by hundreds of MB.
import { isFinished, type JobProgress, type JobStatus } from '../schemas/job.js';
import {
  type AppendOutcome,
  type CancelOutcome,
  IdempotencyKeyInUseError,
  InvalidCursorError,
  JobEndedError,
  type JobEvent,
  type JobListPage,
  type JobListQuery,
  type JobRecord,
  type JobStore,
  JobStoreFullError,
  type NewJob,
  type QueuedTargets,
  type StoredResult,
} from './job-store.js';
import { cursorSeq, emit, encodeCursor, isExpired, ownedKey } from './job-store-parts.js';
import { Utf8SlabLog } from './utf8-slab-log.js';

export interface MemoryJobStoreOptions {
  /** Jobs kept at once, active and finished. */
  maxJobs: number;
  /** How long a finished job stays readable after its `finishedAt`. */
  retentionMs: number;
  /** Epoch milliseconds; tests inject a fake clock. */
  now?: () => number;
}

type Listener = (event: JobEvent) => void;

interface Entry {
  readonly record: JobRecord & { readonly progress: JobProgress };
  /** Creation order, 1-based; what list cursors point at. */
  readonly createSeq: number;
  /**
   * Result JSON in completion order (seq = position + 1), as text rather than parsed
   * objects, which would cost an order of magnitude more; decoded again on each read.
   */
  readonly results: Utf8SlabLog;
  /** index → seq, 0 while the input has no result: input order without sorting. */
  readonly seqByIndex: Uint32Array;
  /** seq - 1 → index. */
  readonly indexBySeq: Uint32Array;
  /** Null once the job has finished: nothing more will be said. */
  listeners: Set<Listener> | null;
}

/** The creation sequence a cursor points at, if this store handed it out. */
function decodeCursor(cursor: string, lastCreateSeq: number): number {
  const createSeq = cursorSeq(cursor);
  if (createSeq < 1 || createSeq > lastCreateSeq) throw new InvalidCursorError('invalid cursor');
  return createSeq;
}

const noop = (): void => {};

/**
 * `get`, `findByIdempotencyKey`, `create` and `list` return the live record, not a copy: it
 * changes as the job runs and must not be mutated by callers. (A Redis store returns
 * snapshots; callers must not rely on either.)
 *
 * Events are delivered synchronously, before `appendResult` / `finish` resolve.
 *
 * There are no timers: finished jobs expire lazily when touched, and `create` sweeps the
 * expired ones in finish order, so the store never keeps the process alive.
 */
export class MemoryJobStore implements JobStore {
  readonly #maxJobs: number;
  readonly #retentionMs: number;
  readonly #now: () => number;
  /** In creation order (Map keeps insertion order). */
  readonly #jobs = new Map<string, Entry>();
  readonly #idByIdempotencyKey = new Map<string, string>();
  /** Finished job ids in finish order: the expiry sweep and eviction both start at the front. */
  readonly #finished = new Set<string>();
  readonly #cancellationWatchers = new Set<(id: string) => void>();
  /** Targets without a result in unfinished jobs: all of them, and per caller. */
  #queuedTotal = 0;
  readonly #queuedByCaller = new Map<string, number>();
  #lastCreateSeq = 0;

  constructor(options: MemoryJobStoreOptions) {
    if (!Number.isInteger(options.maxJobs) || options.maxJobs < 1) {
      throw new RangeError('maxJobs must be a positive integer');
    }
    if (!(options.retentionMs >= 0)) {
      throw new RangeError('retentionMs must be a non-negative number');
    }
    this.#maxJobs = options.maxJobs;
    this.#retentionMs = options.retentionMs;
    this.#now = options.now ?? Date.now;
  }

  async create(job: NewJob): Promise<JobRecord> {
    this.#sweepExpired();
    if (this.#live(job.id)) throw new Error(`job ${job.id} already exists`);
    const holder =
      job.idempotencyKey === null ? undefined : this.#liveByKey(job.owner, job.idempotencyKey);
    if (holder !== undefined) throw new IdempotencyKeyInUseError(holder.record);
    this.#makeRoom();

    const total = job.targets.length;
    const entry: Entry = {
      record: {
        id: job.id,
        status: 'queued',
        createdAt: job.createdAt,
        startedAt: null,
        finishedAt: null,
        options: job.options,
        targets: job.targets,
        progress: { total, done: 0, ok: 0, failed: 0 },
        tallies: {},
        cancelRequested: false,
        caller: job.caller,
        owner: job.owner,
        idempotencyKey: job.idempotencyKey,
        requestHash: job.requestHash,
      },
      createSeq: ++this.#lastCreateSeq,
      results: new Utf8SlabLog(total),
      seqByIndex: new Uint32Array(total),
      indexBySeq: new Uint32Array(total),
      listeners: new Set(),
    };
    this.#jobs.set(job.id, entry);
    this.#countQueued(job.caller, total);
    if (job.idempotencyKey !== null) {
      this.#idByIdempotencyKey.set(ownedKey(job.owner, job.idempotencyKey), job.id);
    }
    return entry.record;
  }

  async get(id: string): Promise<JobRecord | null> {
    return this.#live(id)?.record ?? null;
  }

  async findByIdempotencyKey(owner: string | null, key: string): Promise<JobRecord | null> {
    return this.#liveByKey(owner, key)?.record ?? null;
  }

  /**
   * Walks every kept job from the newest: O(maxJobs) per page, which the bound keeps small,
   * and no second index to keep in step with deletes and evictions.
   */
  async list(query: JobListQuery): Promise<JobListPage> {
    const before =
      query.cursor === undefined
        ? Number.POSITIVE_INFINITY
        : decodeCursor(query.cursor, this.#lastCreateSeq);
    const entries = [...this.#jobs.values()];
    const jobs: JobRecord[] = [];
    let last: Entry | undefined;
    let more = false;
    for (let i = entries.length - 1; i >= 0; i--) {
      const entry = entries[i]!;
      if (entry.createSeq >= before) continue;
      if (this.#expireIfDue(entry)) continue;
      if (query.status !== undefined && entry.record.status !== query.status) continue;
      if (query.owner !== undefined && entry.record.owner !== query.owner) continue;
      // One past the page tells a full last page from one with more behind it.
      if (jobs.length === query.limit) {
        more = true;
        break;
      }
      jobs.push(entry.record);
      last = entry;
    }
    return { jobs, nextCursor: more && last ? encodeCursor(last.createSeq) : null };
  }

  async markStarted(id: string, at: number): Promise<void> {
    const entry = this.#live(id);
    if (entry?.record.status !== 'queued') return;
    entry.record.status = 'running';
    entry.record.startedAt = at;
  }

  async appendResult(
    id: string,
    index: number,
    ok: boolean,
    json: string,
    tallies: readonly string[] = [],
  ): Promise<AppendOutcome> {
    const entry = this.#live(id);
    if (!entry) throw new Error(`job ${id} not found`);
    const { progress } = entry.record;
    if (!Number.isInteger(index) || index < 0 || index >= progress.total) {
      throw new RangeError(`result index ${index} outside 0..${progress.total - 1}`);
    }
    const stored = entry.seqByIndex[index]!;
    if (stored !== 0) {
      return {
        result: { seq: stored, index, json: entry.results.get(stored - 1) },
        appended: false,
      };
    }
    if (entry.record.finishedAt !== null) throw new JobEndedError(id);

    const seq = entry.results.append(json) + 1;
    entry.seqByIndex[index] = seq;
    entry.indexBySeq[seq - 1] = index;
    progress.done++;
    if (ok) progress.ok++;
    else progress.failed++;
    const counts = entry.record.tallies;
    for (const key of tallies) counts[key] = (counts[key] ?? 0) + 1;
    this.#countQueued(entry.record.caller, -1);

    // Listeners get the string as given: no decoding on the path every result takes.
    const result: StoredResult = { seq, index, json };
    if (entry.listeners && entry.listeners.size > 0) {
      emit(entry.listeners, { type: 'result', result, progress: { ...progress } });
    }
    return { result, appended: true };
  }

  async finish(id: string, status: JobStatus, at: number): Promise<void> {
    if (!isFinished(status)) throw new RangeError(`${status} is not a final status`);
    const entry = this.#live(id);
    if (!entry || entry.record.finishedAt !== null) return;
    entry.record.status = status;
    entry.record.finishedAt = at;
    this.#finished.add(id);
    this.#countQueued(
      entry.record.caller,
      entry.record.progress.done - entry.record.progress.total,
    );

    const { listeners } = entry;
    entry.listeners = null;
    if (listeners && listeners.size > 0) {
      emit(listeners, { type: 'done', status, progress: { ...entry.record.progress } });
      // Unsubscribe functions still hold the set: emptying it lets the listeners go.
      listeners.clear();
    }
  }

  async delete(id: string): Promise<boolean> {
    const entry = this.#live(id);
    if (!entry) return false;
    this.#remove(entry);
    return true;
  }

  async resultsAfter(id: string, afterSeq: number, limit: number): Promise<StoredResult[]> {
    const entry = this.#live(id);
    if (!entry) return [];
    const from = Math.max(0, Math.floor(afterSeq));
    const to = Math.min(entry.results.length, from + Math.max(0, limit));
    const page: StoredResult[] = [];
    for (let i = from; i < to; i++) {
      page.push({ seq: i + 1, index: entry.indexBySeq[i]!, json: entry.results.get(i) });
    }
    return page;
  }

  async resultsInInputOrder(id: string, limit: number): Promise<StoredResult[]> {
    const entry = this.#live(id);
    if (!entry) return [];
    const page: StoredResult[] = [];
    const { seqByIndex, results } = entry;
    for (let index = 0; index < seqByIndex.length && page.length < limit; index++) {
      const seq = seqByIndex[index]!;
      if (seq !== 0) page.push({ seq, index, json: results.get(seq - 1) });
    }
    return page;
  }

  async indicesWithoutResult(id: string, from: number, to: number): Promise<number[]> {
    const entry = this.#live(id);
    if (!entry) return [];
    const missing: number[] = [];
    const end = Math.min(to, entry.seqByIndex.length);
    for (let index = Math.max(0, from); index < end; index++) {
      if (entry.seqByIndex[index] === 0) missing.push(index);
    }
    return missing;
  }

  async subscribe(id: string, listener: (event: JobEvent) => void): Promise<() => void> {
    const listeners = this.#live(id)?.listeners;
    if (!listeners) return noop;
    // Wrapped so the same function subscribed twice gets two independent subscriptions.
    const subscription: Listener = (event) => listener(event);
    listeners.add(subscription);
    return () => {
      listeners.delete(subscription);
    };
  }

  async requestCancel(id: string): Promise<CancelOutcome> {
    const entry = this.#live(id);
    if (!entry) return { job: null, requested: false };
    const { record } = entry;
    if (record.finishedAt !== null || record.progress.done === record.progress.total) {
      return { job: record, requested: false };
    }
    if (!record.cancelRequested) {
      record.cancelRequested = true;
      emit(this.#cancellationWatchers, id);
    }
    return { job: record, requested: true };
  }

  async watchCancellations(listener: (id: string) => void): Promise<() => void> {
    const watcher = (id: string): void => listener(id);
    this.#cancellationWatchers.add(watcher);
    return () => {
      this.#cancellationWatchers.delete(watcher);
    };
  }

  async queuedTargets(caller: string): Promise<QueuedTargets> {
    return { total: this.#queuedTotal, caller: this.#queuedByCaller.get(caller) ?? 0 };
  }

  #countQueued(caller: string, change: number): void {
    this.#queuedTotal += change;
    const left = (this.#queuedByCaller.get(caller) ?? 0) + change;
    if (left <= 0) this.#queuedByCaller.delete(caller);
    else this.#queuedByCaller.set(caller, left);
  }

  /** The entry, unless unknown or expired (an expired one is dropped on the way). */
  #live(id: string): Entry | undefined {
    const entry = this.#jobs.get(id);
    if (!entry || this.#expireIfDue(entry)) return undefined;
    return entry;
  }

  #liveByKey(owner: string | null, key: string): Entry | undefined {
    const id = this.#idByIdempotencyKey.get(ownedKey(owner, key));
    return id === undefined ? undefined : this.#live(id);
  }

  #isExpired(record: JobRecord): boolean {
    return isExpired(record, this.#retentionMs, this.#now());
  }

  #expireIfDue(entry: Entry): boolean {
    if (!this.#isExpired(entry.record)) return false;
    this.#remove(entry);
    return true;
  }

  /**
   * Stops at the first job still within retention, so it costs O(expired). A job finished
   * with an earlier `at` than one before it waits for that one, or for lazy expiry.
   */
  #sweepExpired(): void {
    for (const id of this.#finished) {
      const entry = this.#jobs.get(id);
      if (!entry) {
        this.#finished.delete(id);
        continue;
      }
      if (!this.#expireIfDue(entry)) return;
    }
  }

  /** Evicts the jobs that finished longest ago; active jobs are never evicted. */
  #makeRoom(): void {
    while (this.#jobs.size >= this.#maxJobs) {
      const oldest = this.#finished.values().next();
      if (oldest.done) {
        throw new JobStoreFullError(`all ${this.#maxJobs} kept jobs are still active`);
      }
      const entry = this.#jobs.get(oldest.value);
      if (entry) this.#remove(entry);
      else this.#finished.delete(oldest.value);
    }
  }

  /** The job's result slabs go with the entry: nothing else refers to them. */
  #remove(entry: Entry): void {
    const { id, owner, idempotencyKey, finishedAt, caller, progress } = entry.record;
    this.#jobs.delete(id);
    if (finishedAt === null) this.#countQueued(caller, progress.done - progress.total);
    this.#finished.delete(id);
    if (idempotencyKey !== null) {
      const key = ownedKey(owner, idempotencyKey);
      if (this.#idByIdempotencyKey.get(key) === id) this.#idByIdempotencyKey.delete(key);
    }
    entry.listeners?.clear();
    entry.listeners = null;
  }
}
