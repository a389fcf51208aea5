// The shared answer cache: one entry per (name, record type), as a resolver caches RRsets.
// Positive answers live for their TTL clamped to [floor, ceiling], negative ones (NXDOMAIN,
// no data) for their SOA-derived TTL capped short, and failures (SERVFAIL, silence) for a few
// seconds, as RFC 9520 asks, so a broken name costs one query per family, not one per target.
// Bounded in entries (least recently used go first), and single-flight: while a question is
// on the wire, every other asker waits for the same answer instead of asking again.
import { LRUCache } from 'lru-cache';
import type { QueryOutcome, RecordType } from './dns-message.js';

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

/** RFC 9520 §3.2: resolution failures are cached for at least a second, here five. */
const FAILURE_TTL_S = 5;

/** Someone who waits for an answer; `abandoned` once it no longer needs one. */
export interface Asker {
  readonly abandoned: boolean;
}

interface Entry {
  readonly outcome: QueryOutcome;
  /** performance.now() when the entry goes stale. */
  readonly expiresAt: number;
}

interface Flight {
  readonly answer: Promise<RRsetLookup>;
  readonly askers: Array<Asker | undefined>;
}

export interface RRsetLookup {
  readonly outcome: QueryOutcome;
  readonly fromCache: boolean;
  /** Seconds left for a cached answer; the answer's own TTL otherwise. */
  readonly ttl: number | null;
}

export class RRsetCache {
  readonly #entries: LRUCache<string, Entry>;
  readonly #inFlight = new Map<string, Flight>();
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
   * The answer for (name, type): cached when fresh (unless `useCache` is false), at once and
   * without a promise; else the question already on the wire, else a new one from `ask`, which
   * is told whether anyone still wants the answer (an asker that abandons it stops counting).
   */
  lookup(
    name: string,
    type: RecordType,
    useCache: boolean,
    asker: Asker | undefined,
    ask: (wanted: () => boolean) => Promise<QueryOutcome>,
  ): RRsetLookup | Promise<RRsetLookup> {
    const key = `${type} ${name}`;
    if (useCache) {
      const entry = this.#entries.get(key);
      if (entry !== undefined) {
        const leftMs = entry.expiresAt - this.#now();
        if (leftMs > 0) {
          this.hits++;
          return { outcome: entry.outcome, fromCache: true, ttl: Math.ceil(leftMs / 1000) };
        }
        this.#entries.delete(key);
      }
    }
    const flying = this.#inFlight.get(key);
    if (flying !== undefined) {
      flying.askers.push(asker);
      return flying.answer;
    }
    this.misses++;
    const askers: Array<Asker | undefined> = [asker];
    const wanted = () => askers.some((a) => a === undefined || !a.abandoned);
    const answer = ask(wanted).then((outcome) => {
      this.#inFlight.delete(key);
      this.#store(key, outcome);
      return { outcome, fromCache: false, ttl: outcome.kind === 'answer' ? outcome.ttl : null };
    });
    this.#inFlight.set(key, { answer, askers });
    return answer;
  }

  #store(key: string, outcome: QueryOutcome): void {
    const ttl = this.#ttlOf(outcome);
    if (ttl > 0) this.#entries.set(key, { outcome, expiresAt: this.#now() + ttl * 1000 });
  }

  /** Seconds to keep an outcome; 0 for what must not be kept (a dropped or unusable query). */
  #ttlOf(outcome: QueryOutcome): number {
    const { minTtlS, maxTtlS, negativeTtlS } = this.#options;
    switch (outcome.kind) {
      case 'answer':
        return outcome.addresses.length === 0
          ? Math.min(outcome.ttl ?? negativeTtlS, negativeTtlS)
          : Math.min(Math.max(outcome.ttl ?? 0, minTtlS), maxTtlS);
      case 'rcode':
      case 'timeout':
        return Math.min(FAILURE_TTL_S, negativeTtlS);
      case 'error':
        return 0;
    }
  }

  clear(): void {
    this.#entries.clear();
  }
}
