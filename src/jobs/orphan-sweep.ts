// A job stored but never handed to the queue (its API process died between the two) would stay
// `queued` for good. API processes on Redis look now and then for queued jobs older than a
// while and queue them again. That is safe to repeat: the queue keeps one entry per chunk id,
// and a chunk runs only the indices that have no result yet.
import type { JobDispatcher } from './job-dispatcher.js';
import type { JobStore } from './job-store.js';

export interface OrphanSweepOptions {
  /** How often to look. */
  readonly everyMs: number;
  /** A queued job younger than this is left alone: its dispatch may be under way. */
  readonly olderThanMs: number;
  readonly now?: () => number;
}

export const defaultOrphanSweep: OrphanSweepOptions = Object.freeze({
  everyMs: 30_000,
  olderThanMs: 60_000,
});

const PAGE = 100;

export class OrphanSweep {
  readonly #store: JobStore;
  readonly #dispatcher: JobDispatcher;
  readonly #options: OrphanSweepOptions;
  #timer: NodeJS.Timeout | null = null;

  constructor(store: JobStore, dispatcher: JobDispatcher, options: OrphanSweepOptions) {
    this.#store = store;
    this.#dispatcher = dispatcher;
    this.#options = options;
  }

  start(): void {
    this.#timer ??= setInterval(() => void this.sweep().catch(() => {}), this.#options.everyMs);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
  }

  /** Queues again every queued job older than `olderThanMs`; resolves with how many. */
  async sweep(): Promise<number> {
    const before = (this.#options.now ?? Date.now)() - this.#options.olderThanMs;
    let requeued = 0;
    let cursor: string | undefined;
    do {
      const page = await this.#store.list({ status: 'queued', limit: PAGE, cursor });
      for (const job of page.jobs) {
        if (job.createdAt > before) continue;
        await this.#dispatcher.dispatch(job);
        requeued++;
      }
      cursor = page.nextCursor ?? undefined;
    } while (cursor !== undefined);
    return requeued;
  }
}
