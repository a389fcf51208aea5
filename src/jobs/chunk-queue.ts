// Jobs as chunks of targets on a BullMQ queue, for API and worker processes on one Redis.
// The API side cuts an accepted job into chunks of HEADPROBE_CHUNK_SIZE indices; a worker
// takes as many chunks as its one Scheduler can keep busy and runs each on the JobRunner,
// which writes every result as it lands. At least once, shown once: a chunk whose worker
// died (its lock ran out) goes to another worker, which runs only the indices still without
// a result, and the store keeps the first result per index.
//
// Fairness between jobs: BullMQ's open-source queue has no groups, so chunks are ordered by
// priority = their place within their job (chunk 0 of every job first, then every chunk 1,
// …). A 5-target job submitted behind a 100,000-target one is one chunk of priority 1 and
// goes ahead of the big job's chunks not yet taken; inside a worker the Scheduler's
// round-robin between callers and jobs does the rest.
import { Queue, type Job as QueuedChunk, WaitingError, Worker } from 'bullmq';
import type { JobDispatcher } from './job-dispatcher.js';
import type { JobRunner } from './job-runner.js';
import type { JobRecord, JobStore } from './job-store.js';
import type { RedisClient } from './redis-client.js';
import { settleWithin } from './settle-within.js';

/** One chunk of a job: the indices [from, to). */
export interface Chunk {
  readonly jobId: string;
  readonly from: number;
  readonly to: number;
}

const QUEUE_NAME = 'chunks';
const DEPTH_WITHIN_MS = 1_000;
const GIVE_UP_TRIES = 10;
/** Tries of a chunk; a hand-back at a worker's shutdown is not one. */
const CHUNK_ATTEMPTS = 100;
/** How long the queue may take to accept a job's chunks before the submit answers 503. */
const DISPATCH_WITHIN_MS = 5_000;

export interface QueueDepth {
  readonly waiting: number;
  readonly active: number;
}
/** BullMQ's largest priority (2^21). */
const MAX_PRIORITY = 2_097_152;

/** Where chunks are queued: the store's Redis, under the same prefix. */
export interface ChunkQueueConnection {
  readonly redis: RedisClient;
  /** BullMQ prefixes its keys itself; ours goes before (`headprobe:{bull}:chunks:…`). */
  readonly prefix: string;
}

/** One hash tag for every key of the queue: BullMQ's scripts touch several at once. */
function bullPrefix(prefix: string): string {
  return `${prefix}{bull}`;
}

/** The chunks of a job, in order, each with its priority within the job. */
export function chunksOf(job: JobRecord, chunkSize: number) {
  const chunks = [];
  for (let from = 0, k = 0; from < job.targets.length; from += chunkSize, k++) {
    const data: Chunk = { jobId: job.id, from, to: Math.min(job.targets.length, from + chunkSize) };
    chunks.push({
      name: 'chunk',
      data,
      opts: {
        // One queue entry per chunk, however often the job is dispatched.
        jobId: `${job.id}.${k}`,
        priority: Math.min(k + 1, MAX_PRIORITY),
        // Redis holds what the job store keeps, not a history of chunks.
        removeOnComplete: true,
        removeOnFail: true,
        // A chunk handed back at a worker's shutdown, or failed on a store outage, runs again;
        // one that fails every try (a second apart) gives its targets internal_error results.
        attempts: CHUNK_ATTEMPTS,
        backoff: { type: 'fixed', delay: 1_000 },
      },
    });
  }
  return chunks;
}

/** The API side: an accepted job becomes its chunks on the queue. */
export class QueueDispatcher implements JobDispatcher {
  readonly #queue: Queue<Chunk>;
  readonly #chunkSize: number;

  constructor(connection: ChunkQueueConnection, chunkSize: number) {
    this.#queue = new Queue<Chunk>(QUEUE_NAME, {
      connection: connection.redis,
      prefix: bullPrefix(connection.prefix),
    });
    this.#chunkSize = chunkSize;
    // Redis away: dispatch fails (the store's 503 comes first), and the log has the outage.
    this.#queue.on('error', () => {});
  }

  async dispatch(job: JobRecord): Promise<void> {
    // A job of no targets has nothing to queue: the store already counts it as complete.
    const chunks = chunksOf(job, this.#chunkSize);
    if (chunks.length === 0) return;
    // BullMQ's connection waits for a Redis that is away; a submit must not.
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error('Command timed out: the queue did not take the job')),
        DISPATCH_WITHIN_MS,
      );
    });
    try {
      await Promise.race([this.#queue.addBulk(chunks), timedOut]);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Chunks waiting and being run, across the cluster; null when Redis does not answer within
   * a second (BullMQ's connection waits for Redis to come back: a reader must not).
   */
  async depth(): Promise<QueueDepth | null> {
    let depth: QueueDepth | null = null;
    const read = this.#queue
      .getJobCounts('waiting', 'prioritized', 'active', 'delayed')
      .then((counts) => {
        depth = {
          waiting: (counts.waiting ?? 0) + (counts.prioritized ?? 0) + (counts.delayed ?? 0),
          active: counts.active ?? 0,
        };
      })
      .catch(() => {});
    await settleWithin(read, DEPTH_WITHIN_MS);
    return depth;
  }

  close(): Promise<void> {
    return this.#queue.close();
  }
}

export interface ChunkWorkerOptions {
  readonly connection: ChunkQueueConnection;
  readonly store: JobStore;
  readonly runner: JobRunner;
  /** Chunks run at once: enough to keep the Scheduler's global cap busy. */
  readonly concurrency: number;
  /** How long a chunk's lock lasts unrenewed: a dead worker's chunks move on after this. */
  readonly lockDurationMs: number;
}

/** The worker side: takes chunks and runs the indices of each that have no result yet. */
export class ChunkWorker {
  readonly #worker: Worker<Chunk>;
  readonly #store: JobStore;
  readonly #runner: JobRunner;

  constructor(options: ChunkWorkerOptions) {
    this.#store = options.store;
    this.#runner = options.runner;
    this.#worker = new Worker<Chunk>(QUEUE_NAME, (chunk, token) => this.#run(chunk, token), {
      connection: options.connection.redis,
      prefix: bullPrefix(options.connection.prefix),
      concurrency: options.concurrency,
      lockDuration: options.lockDurationMs,
      stalledInterval: options.lockDurationMs,
      // A chunk whose workers keep dying is still run: every run writes what it finished.
      maxStalledCount: 100,
    });
    // Failed chunks are retried (attempts); the error says why, the log has it.
    this.#worker.on('error', () => {});
    this.#worker.on('failed', (queued, error) => {
      if (queued === undefined || queued.attemptsMade < (queued.opts.attempts ?? 1)) return;
      void this.#giveUp(queued.data, error).catch(() => {});
    });
  }

  /**
   * The last try failed: the chunk's targets without a result get one saying so. Tried again
   * a few times itself (the store may be what failed), as nothing else will end the job.
   */
  async #giveUp({ jobId, from, to }: Chunk, error: Error): Promise<void> {
    for (let attempt = 1; attempt <= GIVE_UP_TRIES; attempt++) {
      try {
        const job = await this.#store.get(jobId);
        if (job === null || job.finishedAt !== null) return;
        const missing = await this.#store.indicesWithoutResult(jobId, from, to);
        const message = `its chunk failed ${CHUNK_ATTEMPTS} times: ${error.message}`;
        await this.#runner.failTargets(job, missing, message);
        return;
      } catch {
        await new Promise((resolve) => setTimeout(resolve, 1_000 * attempt));
      }
    }
  }

  async #run(queued: QueuedChunk<Chunk>, token: string | undefined): Promise<void> {
    const { jobId, from, to } = queued.data;
    const job = await this.#store.get(jobId);
    // Deleted, expired or over (a cancelled job's queued chunks end here).
    if (job === null || job.finishedAt !== null) return;
    const missing = await this.#store.indicesWithoutResult(jobId, from, to);
    // Even with nothing missing: the run finishes a job whose last worker died in between.
    const running = this.#runner.run(job, missing);
    // A cancellation heard between the read above and the run's start found nothing to stop.
    if (!job.cancelRequested && (await this.#store.get(jobId))?.cancelRequested) {
      this.#runner.cancel(jobId);
    }
    const outcome = await running;
    if (outcome === 'handed-back') {
      // Back to the queue at its priority, its tries untouched: a rolling deploy that stops
      // workers over and over must not use up a chunk's tries and fail its targets.
      await queued.moveToWait(token);
      throw new WaitingError();
    }
    if (outcome === 'unwritten') throw new Error('a result could not be written');
  }

  /** Takes no more chunks; the running ones go on. */
  stopTaking(): Promise<void> {
    return this.#worker.pause(true);
  }

  /**
   * Closes the worker once its chunks have ended: call it after the runner has handed its
   * runs back, so no chunk is running. Forced, so it does not wait on a blocking fetch that
   * a Redis restart left hanging.
   */
  close(): Promise<void> {
    return this.#worker.close(true);
  }
}
