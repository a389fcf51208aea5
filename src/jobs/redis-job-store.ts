// The JobStore on Redis, for API and worker processes that share jobs: the same contract as
// the memory store (test/jobs/job-store.contract.ts runs against a real Redis). Each job
// lives under keys with its own hash tag, so Redis Cluster can spread jobs over shards:
//   PREFIX{job:ID}          hash: the record, its counters ("tally:<key>" too) and its targets (JSON)
//   PREFIX{job:ID}:results  list: "index:json" in completion order (seq = position + 1)
//   PREFIX{job:ID}:seqs     hash: index → seq (first write wins)
//   PREFIX{job:ID}:order    sorted set: seq by index (input order)
// and the indexes under one tag: jobs by creation, finished jobs by finish time, unfinished
// jobs, idempotency keys. Each step changes one slot in one script; a step across slots
// (index a job written under its own keys) is ordered so a crash between leaves nothing a
// reader can see half-made. Events go out on pub/sub from inside the scripts, in seq order.
//
// Retention follows the store's clock (injected in tests), lazily as in the memory store,
// and every key of a finished job also gets a Redis TTL of the retention plus a minute, so
// Redis forgets it even when no process looks again.
import { randomUUID } from 'node:crypto';
import { isFinished, type JobStatus } from '../schemas/job.js';
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
import type { RedisClient } from './redis-client.js';
import {
  APPEND_RESULT,
  FINISH_JOB,
  INDEX_FINISHED,
  INDEX_JOB,
  MARK_STARTED,
  REQUEST_CANCEL,
  RESULTS_IN_INPUT_ORDER,
  UNINDEX_JOB,
} from './redis-job-scripts.js';

export interface RedisJobStoreOptions {
  /** Commands go here. */
  readonly redis: RedisClient;
  /** A second connection for pub/sub (a subscribed connection takes no other commands). */
  readonly subscriber: RedisClient;
  /** Put before every key and channel (HEADPROBE_REDIS_PREFIX), e.g. `headprobe:`. */
  readonly prefix: string;
  readonly maxJobs: number;
  readonly retentionMs: number;
  /** Epoch milliseconds; tests inject a fake clock. */
  readonly now?: () => number;
}

/** Redis forgets a finished job's keys this long after the store's retention would. */
const TTL_SLACK_MS = 60_000;
const LIST_BATCH = 100;

const scripts = {
  hpIndexJob: { keys: 6, lua: INDEX_JOB },
  hpUnindexJob: { keys: 5, lua: UNINDEX_JOB },
  hpIndexFinished: { keys: 2, lua: INDEX_FINISHED },
  hpMarkStarted: { keys: 1, lua: MARK_STARTED },
  hpAppendResult: { keys: 4, lua: APPEND_RESULT },
  hpFinishJob: { keys: 1, lua: FINISH_JOB },
  hpRequestCancel: { keys: 1, lua: REQUEST_CANCEL },
  hpResultsInInputOrder: { keys: 2, lua: RESULTS_IN_INPUT_ORDER },
} as const;
type ScriptName = keyof typeof scripts;
type Scripted = {
  [name in ScriptName]: (...keysThenArgs: Array<string | number>) => Promise<unknown>;
};

/** Null travels as '' (no field a store writes is ever the empty string otherwise). */
const orNull = (value: string | undefined): string | null =>
  value === undefined || value === '' ? null : value;
const numberOrNull = (value: string | undefined): number | null =>
  value === undefined || value === '' ? null : Number(value);

const TALLY_FIELD = 'tally:';
/** The job hash's "tally:<key>" counters as JobRecord.tallies. */
function talliesIn(fields: Record<string, string>): Record<string, number> {
  const tallies: Record<string, number> = {};
  for (const field in fields) {
    if (field.startsWith(TALLY_FIELD))
      tallies[field.slice(TALLY_FIELD.length)] = Number(fields[field]);
  }
  return tallies;
}

/** "index:json" → the stored result at `seq`. */
function storedResult(seq: number, entry: string): StoredResult {
  const colon = entry.indexOf(':');
  return { seq, index: Number(entry.slice(0, colon)), json: entry.slice(colon + 1) };
}

/** A pub/sub message of a job's channel, as APPEND_RESULT and FINISH_JOB write it. */
function parseEvent(message: string): JobEvent | null {
  const colon = message.indexOf(':');
  const head = (colon === -1 ? message : message.slice(0, colon)).slice(1).split(',');
  if (message.startsWith('r') && colon !== -1 && head.length === 6) {
    const [seq, index, total, done, ok, failed] = head.map(Number) as [
      number,
      number,
      number,
      number,
      number,
      number,
    ];
    return {
      type: 'result',
      result: { seq, index, json: message.slice(colon + 1) },
      progress: { total, done, ok, failed },
    };
  }
  if (message.startsWith('d') && head.length === 5) {
    const [status, ...counts] = head as [JobStatus, string, string, string, string];
    const [total, done, ok, failed] = counts.map(Number) as [number, number, number, number];
    return { type: 'done', status, progress: { total, done, ok, failed } };
  }
  return null;
}

export class RedisJobStore implements JobStore {
  readonly #redis: RedisClient & Scripted;
  readonly #subscriber: RedisClient;
  readonly #prefix: string;
  readonly #maxJobs: number;
  readonly #retentionMs: number;
  readonly #now: () => number;
  /** Tells this process's own cancellation messages from other processes'. */
  readonly #origin = randomUUID();
  /** Listeners by channel; a channel is subscribed while it has any. */
  readonly #listeners = new Map<string, Set<(message: string) => void>>();
  readonly #subscribing = new Map<string, Promise<unknown>>();
  readonly #cancellationWatchers = new Set<(id: string) => void>();

  constructor(options: RedisJobStoreOptions) {
    this.#redis = options.redis as RedisClient & Scripted;
    this.#subscriber = options.subscriber;
    this.#prefix = options.prefix;
    this.#maxJobs = options.maxJobs;
    this.#retentionMs = options.retentionMs;
    this.#now = options.now ?? Date.now;
    for (const [name, { keys, lua }] of Object.entries(scripts)) {
      if (!(name in this.#redis)) this.#redis.defineCommand(name, { numberOfKeys: keys, lua });
    }
    this.#subscriber.on('message', (channel: string, message: string) => {
      const listeners = this.#listeners.get(channel);
      if (listeners) for (const listener of [...listeners]) listener(message);
    });
  }

  // ---------------------------------------------------------------- keys

  #jobKey(id: string): string {
    return `${this.#prefix}{job:${id}}`;
  }

  #jobKeys(id: string): [job: string, results: string, seqs: string, order: string] {
    const job = this.#jobKey(id);
    return [job, `${job}:results`, `${job}:seqs`, `${job}:order`];
  }

  #eventsChannel(id: string): string {
    return `${this.#jobKey(id)}:events`;
  }

  get #cancellationsChannel(): string {
    return `${this.#prefix}cancellations`;
  }

  /** created, finished, active, idem, idemOf (and the creation counter, for INDEX_JOB). */
  #indexKeys(): [string, string, string, string, string] {
    const index = `${this.#prefix}{index}`;
    return [
      `${index}:created`,
      `${index}:finished`,
      `${index}:active`,
      `${index}:idem`,
      `${index}:idemOf`,
    ];
  }

  get #createSeqKey(): string {
    return `${this.#prefix}{index}:createSeq`;
  }

  // ---------------------------------------------------------------- records

  create(job: NewJob): Promise<JobRecord> {
    return this.#create(job, false);
  }

  async #create(job: NewJob, retried: boolean): Promise<JobRecord> {
    await this.#sweepExpired();
    const [jobKey] = this.#jobKeys(job.id);
    const record: JobRecord = {
      id: job.id,
      status: 'queued',
      createdAt: job.createdAt,
      startedAt: null,
      finishedAt: null,
      options: job.options,
      targets: job.targets,
      progress: { total: job.targets.length, done: 0, ok: 0, failed: 0 },
      tallies: {},
      cancelRequested: false,
      caller: job.caller,
      owner: job.owner,
      idempotencyKey: job.idempotencyKey,
      requestHash: job.requestHash,
    };
    // Written first, indexed second: until indexed nobody knows the id, and a holder of an
    // idempotency key is always readable by the time a second create learns of it.
    const written = await this.#redis.hsetnx(jobKey, 'id', job.id);
    if (written === 0) throw new Error(`job ${job.id} already exists`);
    await this.#redis.hset(jobKey, this.#fields(record));
    const owned = job.idempotencyKey === null ? '' : ownedKey(job.owner, job.idempotencyKey);
    const reply = (await this.#redis.hpIndexJob(
      ...this.#indexKeys(),
      this.#createSeqKey,
      job.id,
      owned,
      this.#maxJobs,
    )) as Array<string | number>;
    if (reply[0] !== 'ok') {
      await this.#redis.del(jobKey);
      if (reply[0] === 'full') {
        throw new JobStoreFullError(`all ${this.#maxJobs} kept jobs are still active`);
      }
      const holderId = String(reply[1]);
      const holder = await this.get(holderId);
      if (holder !== null) throw new IdempotencyKeyInUseError(holder);
      // The holder is gone (expired, or its keys forgotten by Redis): free its key, once.
      if (retried) throw new Error(`idempotency key held by ${holderId}, which is gone`);
      await this.#redis.hpUnindexJob(...this.#indexKeys(), holderId);
      return this.#create(job, true);
    }
    for (const evicted of reply.slice(2)) await this.#dropKeys(String(evicted));
    return record;
  }

  #fields(record: JobRecord): Record<string, string | number> {
    return {
      status: record.status,
      createdAt: record.createdAt,
      startedAt: record.startedAt ?? '',
      finishedAt: record.finishedAt ?? '',
      options: JSON.stringify(record.options),
      targets: JSON.stringify(record.targets),
      total: record.progress.total,
      done: 0,
      ok: 0,
      failed: 0,
      cancelRequested: record.cancelRequested ? '1' : '0',
      caller: record.caller,
      owner: record.owner ?? '',
      idempotencyKey: record.idempotencyKey ?? '',
      requestHash: record.requestHash ?? '',
    };
  }

  #record(fields: Record<string, string>): JobRecord | null {
    if (fields.id === undefined || fields.total === undefined) return null;
    return {
      id: fields.id,
      status: fields.status as JobStatus,
      createdAt: Number(fields.createdAt),
      startedAt: numberOrNull(fields.startedAt),
      finishedAt: numberOrNull(fields.finishedAt),
      options: JSON.parse(fields.options!),
      targets: JSON.parse(fields.targets!),
      progress: {
        total: Number(fields.total),
        done: Number(fields.done),
        ok: Number(fields.ok),
        failed: Number(fields.failed),
      },
      tallies: talliesIn(fields),
      cancelRequested: fields.cancelRequested === '1',
      caller: fields.caller!,
      owner: orNull(fields.owner),
      idempotencyKey: orNull(fields.idempotencyKey),
      requestHash: orNull(fields.requestHash),
    };
  }

  #isExpired(record: JobRecord): boolean {
    return isExpired(record, this.#retentionMs, this.#now());
  }

  /** The record, unless unknown or expired (an expired one is deleted on the way). */
  async get(id: string): Promise<JobRecord | null> {
    const record = this.#record(await this.#redis.hgetall(this.#jobKey(id)));
    if (record === null) return null;
    if (this.#isExpired(record)) {
      await this.#remove(id);
      return null;
    }
    return record;
  }

  async findByIdempotencyKey(owner: string | null, key: string): Promise<JobRecord | null> {
    const [, , , idem] = this.#indexKeys();
    const id = await this.#redis.hget(idem, ownedKey(owner, key));
    if (id === null) return null;
    const record = await this.get(id);
    return record !== null && record.owner === owner && record.idempotencyKey === key
      ? record
      : null;
  }

  async list(query: JobListQuery): Promise<JobListPage> {
    const [created] = this.#indexKeys();
    let before = Number.POSITIVE_INFINITY;
    if (query.cursor !== undefined) {
      const lastSeq = Number((await this.#redis.get(this.#createSeqKey)) ?? 0);
      before = cursorSeq(query.cursor);
      if (before < 1 || before > lastSeq) {
        throw new InvalidCursorError('invalid cursor');
      }
    }
    const jobs: JobRecord[] = [];
    let lastSeq = 0;
    let more = false;
    // Newest first, a batch at a time, until one past the page (a full last page is told
    // from one with more behind it) or the oldest job.
    let max = before === Number.POSITIVE_INFINITY ? '+inf' : `(${before}`;
    for (;;) {
      const batch = await this.#redis.zrevrangebyscore(
        created,
        max,
        '-inf',
        'WITHSCORES',
        'LIMIT',
        0,
        LIST_BATCH,
      );
      if (batch.length === 0) break;
      // Sent together, not as one pipeline: on a Cluster the jobs live on different nodes, and
      // auto-pipelining still makes one write per node.
      const ids = batch.filter((_, i) => i % 2 === 0);
      const replies = await Promise.all(ids.map((id) => this.#redis.hgetall(this.#jobKey(id))));
      for (let i = 0; i < batch.length; i += 2) {
        const id = batch[i]!;
        const seq = Number(batch[i + 1]);
        const record = this.#record(replies[i / 2]!);
        if (record === null || this.#isExpired(record)) {
          // Expired, or gone by Redis's TTL: out of the index too.
          await this.#remove(id);
          continue;
        }
        if (query.status !== undefined && record.status !== query.status) continue;
        if (query.owner !== undefined && record.owner !== query.owner) continue;
        if (jobs.length === query.limit) {
          more = true;
          break;
        }
        jobs.push(record);
        lastSeq = seq;
      }
      if (more || batch.length < 2 * LIST_BATCH) break;
      max = `(${batch.at(-1)}`;
    }
    return { jobs, nextCursor: more ? encodeCursor(lastSeq) : null };
  }

  async markStarted(id: string, at: number): Promise<void> {
    await this.#redis.hpMarkStarted(this.#jobKey(id), at);
  }

  async appendResult(
    id: string,
    index: number,
    ok: boolean,
    json: string,
    tallies: readonly string[] = [],
  ): Promise<AppendOutcome> {
    if (!Number.isInteger(index)) throw new RangeError(`result index ${index} is not an integer`);
    const reply = (await this.#redis.hpAppendResult(
      ...this.#jobKeys(id),
      index,
      ok ? '1' : '0',
      json,
      this.#eventsChannel(id),
      ...tallies,
    )) as [number, number?, (number | string)?];
    switch (reply[0]) {
      case 1:
        return { result: { seq: reply[1]!, index, json }, appended: true };
      case 0:
        return { result: storedResult(reply[1]!, String(reply[2])), appended: false };
      case -2:
        throw new RangeError(`result index ${index} outside 0..${Number(reply[1]) - 1}`);
      case -3:
        throw new JobEndedError(id);
      default:
        throw new Error(`job ${id} not found`);
    }
  }

  async finish(id: string, status: JobStatus, at: number): Promise<void> {
    if (!isFinished(status)) throw new RangeError(`${status} is not a final status`);
    const ended = await this.#redis.hpFinishJob(
      this.#jobKey(id),
      status,
      at,
      this.#eventsChannel(id),
    );
    // Ended before (perhaps by this very call, its reply lost): the steps after it are safe to
    // repeat, and must not be skipped, or the job would stay counted as active for good.
    const finishedAt =
      ended === 1
        ? at
        : numberOrNull((await this.#redis.hget(this.#jobKey(id), 'finishedAt')) ?? '');
    if (finishedAt === null) return;
    const [, finished, active] = this.#indexKeys();
    await this.#redis.hpIndexFinished(active, finished, id, finishedAt);
    await Promise.all(
      this.#jobKeys(id).map((key) => this.#redis.pexpire(key, this.#retentionMs + TTL_SLACK_MS)),
    );
  }

  async delete(id: string): Promise<boolean> {
    const exists = (await this.get(id)) !== null;
    if (exists) await this.#remove(id);
    return exists;
  }

  async #remove(id: string): Promise<void> {
    await this.#redis.hpUnindexJob(...this.#indexKeys(), id);
    await this.#dropKeys(id);
  }

  async #dropKeys(id: string): Promise<void> {
    await this.#redis.del(...this.#jobKeys(id));
  }

  /** Finished jobs past retention, oldest first; stops at the first still kept. */
  async #sweepExpired(): Promise<void> {
    const [, finished] = this.#indexKeys();
    const due = await this.#redis.zrangebyscore(finished, '-inf', this.#now() - this.#retentionMs);
    for (const id of due) await this.#remove(id);
  }

  // ---------------------------------------------------------------- results

  async resultsAfter(id: string, afterSeq: number, limit: number): Promise<StoredResult[]> {
    const from = Math.max(0, Math.floor(afterSeq));
    if (limit <= 0) return [];
    const [, results] = this.#jobKeys(id);
    const entries = await this.#redis.lrange(results, from, from + limit - 1);
    return entries.map((entry, i) => storedResult(from + i + 1, entry));
  }

  async resultsInInputOrder(id: string, limit: number): Promise<StoredResult[]> {
    if (limit <= 0) return [];
    const [, results, , order] = this.#jobKeys(id);
    const reply = (await this.#redis.hpResultsInInputOrder(results, order, limit)) as Array<
      number | string
    >;
    const page: StoredResult[] = [];
    for (let i = 0; i < reply.length; i += 2) {
      page.push(storedResult(Number(reply[i]), String(reply[i + 1])));
    }
    return page;
  }

  async indicesWithoutResult(id: string, from: number, to: number): Promise<number[]> {
    const [job, , seqs] = this.#jobKeys(id);
    const total = Number((await this.#redis.hget(job, 'total')) ?? 0);
    const start = Math.max(0, from);
    const end = Math.min(to, total);
    if (end <= start) return [];
    const indices = Array.from({ length: end - start }, (_, i) => start + i);
    const stored = await this.#redis.hmget(seqs, ...indices.map(String));
    return indices.filter((_, i) => stored[i] === null);
  }

  // ---------------------------------------------------------------- events

  async subscribe(id: string, listener: (event: JobEvent) => void): Promise<() => void> {
    const channel = this.#eventsChannel(id);
    let unsubscribe = (): void => {};
    const onMessage = (message: string): void => {
      const event = parseEvent(message);
      if (event === null) return;
      emit([listener], event);
      // As in the memory store, a subscription ends by itself with the job.
      if (event.type === 'done') unsubscribe();
    };
    unsubscribe = await this.#listen(channel, onMessage);
    // Subscribed first, checked second: a job that ended before this has nothing to say.
    let record: JobRecord | null;
    try {
      record = await this.get(id);
    } catch (error) {
      unsubscribe();
      throw error;
    }
    if (record === null || record.finishedAt !== null) {
      unsubscribe();
      return () => {};
    }
    return unsubscribe;
  }

  async requestCancel(id: string): Promise<CancelOutcome> {
    const outcome = (await this.#redis.hpRequestCancel(
      this.#jobKey(id),
      this.#cancellationsChannel,
      `${this.#origin} ${id}`,
    )) as number;
    if (outcome === -1) return { job: null, requested: false };
    // Watchers in this process hear it now; those elsewhere from the channel.
    if (outcome === 2) emit(this.#cancellationWatchers, id);
    return { job: await this.get(id), requested: outcome > 0 };
  }

  async watchCancellations(listener: (id: string) => void): Promise<() => void> {
    const watcher = (id: string): void => listener(id);
    this.#cancellationWatchers.add(watcher);
    const stopListening = await this.#listen(this.#cancellationsChannel, (message) => {
      const [origin, id] = message.split(' ');
      if (origin !== this.#origin && id !== undefined && this.#cancellationWatchers.has(watcher)) {
        emit([watcher], id);
      }
    });
    return () => {
      this.#cancellationWatchers.delete(watcher);
      stopListening();
    };
  }

  /** Adds a listener to a channel, subscribing it first if needed; resolves once live. */
  async #listen(channel: string, listener: (message: string) => void): Promise<() => void> {
    let listeners = this.#listeners.get(channel);
    if (listeners === undefined) {
      listeners = new Set();
      this.#listeners.set(channel, listeners);
    }
    const wrapped = (message: string): void => listener(message);
    listeners.add(wrapped);
    let subscribing = this.#subscribing.get(channel);
    if (subscribing === undefined) {
      subscribing = this.#subscriber.subscribe(channel);
      this.#subscribing.set(channel, subscribing);
    }
    let stopped = false;
    const stop = (): void => {
      if (stopped) return;
      stopped = true;
      listeners.delete(wrapped);
      if (listeners.size > 0 || this.#listeners.get(channel) !== listeners) return;
      this.#listeners.delete(channel);
      this.#subscribing.delete(channel);
      this.#subscriber.unsubscribe(channel).catch(() => {});
    };
    try {
      await subscribing;
    } catch (error) {
      // Not subscribed (Redis away): the next listener asks again instead of reusing this.
      if (this.#subscribing.get(channel) === subscribing) this.#subscribing.delete(channel);
      stop();
      throw error;
    }
    return stop;
  }

  // ---------------------------------------------------------------- caps

  async queuedTargets(caller: string): Promise<QueuedTargets> {
    const [, , active] = this.#indexKeys();
    const ids = await this.#redis.smembers(active);
    if (ids.length === 0) return { total: 0, caller: 0 };
    const replies = await Promise.all(
      ids.map((id) => this.#redis.hmget(this.#jobKey(id), 'total', 'done', 'caller')),
    );
    let total = 0;
    let mine = 0;
    for (const [jobTotal, done, jobCaller] of replies) {
      if (jobTotal == null) continue;
      const queued = Number(jobTotal) - Number(done);
      total += queued;
      if (jobCaller === caller) mine += queued;
    }
    return { total, caller: mine };
  }
}
