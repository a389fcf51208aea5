// Where the processes that run chunks say how their loop is doing, so any API process can show
// the cluster (GET /v1/loop `workers`): each worker writes its counts to one Redis hash every
// couple of seconds, and a worker not heard from for a while is dropped from the view.
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { SchedulerCounts } from '../loop/index.js';
import type { RedisClient } from './redis-client.js';

export interface WorkerState extends SchedulerCounts {
  readonly id: string;
  readonly host: string;
  readonly pid: number;
  readonly concurrency: number;
  /** Epoch milliseconds of its last report. */
  readonly seenAt: number;
}

const REPORT_EVERY_MS = 2_000;
/** A worker silent this long is gone (killed, or cut off from Redis). */
const GONE_AFTER_MS = 10_000;

export class WorkerRegistry {
  readonly #redis: RedisClient;
  readonly #key: string;
  readonly #id = randomUUID();
  #timer: NodeJS.Timeout | null = null;

  constructor(redis: RedisClient, prefix: string) {
    this.#redis = redis;
    this.#key = `${prefix}{index}:workers`;
  }

  /** Reports this process's counts now and every few seconds until stop(). */
  start(concurrency: number, counts: () => SchedulerCounts): void {
    const report = (): void => {
      const state: WorkerState = {
        ...counts(),
        id: this.#id,
        host: hostname(),
        pid: process.pid,
        concurrency,
        seenAt: Date.now(),
      };
      // Redis away: the next report will do.
      this.#redis.hset(this.#key, this.#id, JSON.stringify(state)).catch(() => {});
    };
    report();
    this.#timer = setInterval(report, REPORT_EVERY_MS);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
    await this.#redis.hdel(this.#key, this.#id).catch(() => {});
  }

  /** The workers heard from lately, oldest report first; the silent ones are forgotten. */
  async list(): Promise<WorkerState[]> {
    const entries = await this.#redis.hgetall(this.#key);
    const now = Date.now();
    const live: WorkerState[] = [];
    const gone: string[] = [];
    for (const [id, json] of Object.entries(entries)) {
      const state = JSON.parse(json) as WorkerState;
      if (now - state.seenAt > GONE_AFTER_MS) gone.push(id);
      else live.push(state);
    }
    if (gone.length > 0) await this.#redis.hdel(this.#key, ...gone);
    return live.sort((a, b) => a.seenAt - b.seenAt);
  }
}
