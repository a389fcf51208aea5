// Resolves the names of a job's next targets while they still wait for a slot. Without it a
// job of distinct names runs in waves: a generation of C targets starts together, all wait
// the nameserver's round trip with the loop idle, connect together, end together, and the
// next generation waits again (bench/README.md, Names). With it, the answers are in the shared
// cache by the time a target starts, so its own lookup is a cache hit (`dns.source: cache`,
// namelookup ≈ 0) or joins the query already on the wire (`dns`, namelookup = what was left
// of it). Only resolvers with a shared cache take part; a job that skips the cache has none.
import type { ProbeOptions } from '../schemas/probe-options.js';
import type { DnsResolver } from './dns/index.js';
import type { Asker } from './dns/rrset-cache.js';
import { pinnedAddress } from './pins.js';
import { parseTarget } from './target.js';

export class NameLookahead implements Asker {
  readonly #targets: readonly string[];
  readonly #options: ProbeOptions;
  readonly #resolver: DnsResolver;
  readonly #window: number;
  readonly #maxPending: number;
  /** Targets below this index have been looked at. */
  #lookedTo = 0;
  /** Names asked for lately: a list of URLs on a few hosts costs a set lookup per target. */
  #recent = new Set<string>();
  #abandoned = false;

  /**
   * `window`: how many targets beyond the one starting have their names resolved, about as
   * many as the job has slots. The look-ahead asks only while the resolver has fewer queries
   * pending than a window of targets would have of their own (two each), so it makes no
   * burst bigger than a job of that many slots makes without it: a burst can overflow a
   * nameserver's socket buffer, and a lost query costs its asker a timeout.
   */
  constructor(
    targets: readonly string[],
    options: ProbeOptions,
    resolver: DnsResolver,
    window: number,
  ) {
    this.#targets = targets;
    this.#options = options;
    this.#resolver = resolver;
    this.#window = window;
    this.#maxPending = 2 * window;
  }

  /** Whether a job with these options gains from looking ahead on this resolver. */
  static helps(options: ProbeOptions, resolver: DnsResolver): boolean {
    return resolver.warm !== undefined && resolver.queriesPending !== undefined && options.dnsCache;
  }

  /** Once the job is cancelled or over, queries only the look-ahead wanted are dropped. */
  get abandoned(): boolean {
    return this.#abandoned;
  }

  abandon(): void {
    this.#abandoned = true;
  }

  /** Target `index` starts: resolve the names of the targets up to `index + window`. */
  started(index: number): void {
    // Topped up in batches, half a window at a time: the queries of one batch leave in one
    // burst, and each burst costs the sender a wake-up of the nameserver (bench/README.md).
    if (this.#abandoned || this.#lookedTo - index > this.#window / 2) return;
    const until = Math.min(this.#targets.length, index + 1 + this.#window);
    let next = Math.max(this.#lookedTo, index + 1);
    // What is not looked at now is looked at when a later target starts.
    while (next < until && this.#resolver.queriesPending! < this.#maxPending) {
      this.#lookAt(this.#targets[next++]!);
    }
    this.#lookedTo = next;
  }

  #lookAt(input: string): void {
    const parsed = parseTarget(input);
    if (!parsed.ok || parsed.target.ipFamily !== 0) return;
    const { hostname, port } = parsed.target;
    if (pinnedAddress(this.#options.resolve, hostname, port) !== undefined) return;
    if (this.#recent.has(hostname)) return;
    if (this.#recent.size >= 2 * this.#window) this.#recent = new Set();
    this.#recent.add(hostname);
    this.#resolver.warm!(hostname, this);
  }
}
