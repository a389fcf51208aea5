// The shared answer cache: one entry per (name, record type), as a resolver caches RRsets.
// Positive answers live for their TTL clamped to [floor, ceiling], negative ones (NXDOMAIN,
// no data) for their SOA-derived TTL capped short; failures are never cached. Bounded in
// entries (least recently used go first), and single-flight: while a question is on the wire,
// every other asker waits for the same answer instead of asking again.
import { LRUCache } from 'lru-cache';
import type { QueryOutcome, RecordType } from './dns-client.js';

export type CachedAnswer = Extract<QueryOutcome, { kind: 'answer' }>;

export interface RRsetCacheOptions {
  readonly maxEntries: number;
  /** Seconds. A TTL below the floor is raised to it: no re-query storm for TTL 0 records. */
  readonly minTtlS: number;
  readonly maxTtlS: number;
  /** Seconds a negative answer is kept at most (and when the server sent no SOA). */
  readonly negativeTtlS: number;
  /** Milliseconds on a monotonic clock; tests move it to expire entries without waiting. */
  readonly now?: () => number;
}

interface Entry {
  readonly answer: CachedAnswer;
  /** performance.now() when the entry goes stale. */
  readonly expiresAt: number;
}

export interface RRsetLookup {
  readonly outcome: QueryOutcome;
  readonly fromCache: boolean;
  /** Seconds left for a cached answer; the answer's own TTL otherwise. */
  readonly ttl: number | null;
}

export class RRsetCache {
  readonly #entries: LRUCache<string, Entry>;
  readonly #inFlight = new Map<string, Promise<RRsetLookup>>();
  readonly #options: RRsetCacheOptions;
  readonly #now: () => number;
  hits = 0;
  misses = 0;

  constructor(options: RRsetCacheOptions) {
    this.#options = options;
    this.#now = options.now ?? (() => performance.now());
    this.#entries = new LRUCache({ max: Math.max(1, options.maxEntries) });
  }

  get size(): number {
    return this.#entries.size;
  }

  /**
   * The answer for (name, type): cached when fresh (unless `useCache` is false), else the
   * question already on the wire, else a new one from `ask`.
   */
  lookup(
    name: string,
    type: RecordType,
    useCache: boolean,
    ask: () => Promise<QueryOutcome>,
  ): Promise<RRsetLookup> {
    const key = `${type} ${name}`;
    if (useCache) {
      const entry = this.#entries.get(key);
      if (entry !== undefined) {
        const leftMs = entry.expiresAt - this.#now();
        if (leftMs > 0) {
          this.hits++;
          return Promise.resolve({
            outcome: entry.answer,
            fromCache: true,
            ttl: Math.ceil(leftMs / 1000),
          });
        }
        this.#entries.delete(key);
      }
    }
    const flying = this.#inFlight.get(key);
    if (flying !== undefined) return flying;
    this.misses++;
    const asked = ask().then((outcome) => {
      this.#inFlight.delete(key);
      this.#store(key, outcome);
      return { outcome, fromCache: false, ttl: outcome.kind === 'answer' ? outcome.ttl : null };
    });
    this.#inFlight.set(key, asked);
    return asked;
  }

  #store(key: string, outcome: QueryOutcome): void {
    if (outcome.kind !== 'answer') return;
    const { minTtlS, maxTtlS, negativeTtlS } = this.#options;
    const negative = outcome.addresses.length === 0;
    const ttl = negative
      ? Math.min(outcome.ttl ?? negativeTtlS, negativeTtlS)
      : Math.min(Math.max(outcome.ttl ?? 0, minTtlS), maxTtlS);
    if (ttl > 0) {
      this.#entries.set(key, { answer: outcome, expiresAt: this.#now() + ttl * 1000 });
    }
  }

  clear(): void {
    this.#entries.clear();
  }
}
