// The default resolver: the machine's configuration (hosts file, then resolv.conf's servers,
// search list and ndots) with asynchronous queries on the event loop instead of getaddrinfo
// on libuv's four threads. A and AAAA go out together; once one family has addresses the
// other gets a short grace (RFC 8305's resolution delay) and the name is dialled with what
// is there, the late answer still landing in the shared cache.
import type { DnsFacts } from '../../schemas/probe-result.js';
import { DeadlineQueue, type DeadlineTicket } from './deadline-queue.js';
import type {
  DnsAnswer,
  DnsFailureCode,
  DnsResolver,
  DnsStats,
  ResolvedAddress,
  ResolveOptions,
} from './dns-answer.js';
import { DnsClient } from './dns-client.js';
import { isDnsName, normalizeName, type QueryOutcome, type RecordType } from './dns-message.js';
import { asciiLowerCase } from './dns-wire.js';
import type { HostsTable } from './hosts-file.js';
import type { ResolvConf } from './resolv-conf.js';
import { type Asker, RRsetCache, type RRsetCacheOptions, type RRsetLookup } from './rrset-cache.js';

export interface StubResolverOptions {
  readonly conf: ResolvConf;
  readonly hosts: HostsTable;
  readonly cache: RRsetCacheOptions;
  /** Per try; resolv.conf's `timeout` when it has one. */
  readonly queryTimeoutMs: number;
  /** Tries per server; resolv.conf's `attempts` when it has one. */
  readonly attempts: number;
  readonly maxQueriesInFlight: number;
  /** Addresses kept per family and name. */
  readonly maxAddresses?: number;
}

/** RFC 8305 §3: how long to wait for the other family once one has answered with addresses. */
const RESOLUTION_DELAY_MS = 50;

/** What one candidate name (the name itself, or name.search-domain) came to. */
type CandidateOutcome =
  | { readonly kind: 'found'; readonly facts: DnsFacts; readonly addresses: ResolvedAddress[] }
  | {
      readonly kind: 'failed';
      readonly code: DnsFailureCode;
      readonly rank: FailureRank;
      readonly detail: string;
      readonly facts: DnsFacts;
    };

/**
 * Which failure a lookup reports when every candidate fails (the highest), and whether the
 * search goes on: after NXDOMAIN, no data or a failure rcode it does; after silence or an
 * unusable answer it stops, as glibc's res_search does on TRY_AGAIN without SERVFAIL.
 */
const FailureRank = { NxDomain: 0, NoData: 1, Rcode: 2, Timeout: 3, Error: 4 } as const;
type FailureRank = (typeof FailureRank)[keyof typeof FailureRank];

function toAddresses(
  lookup: RRsetLookup | undefined,
  family: ResolvedAddress['family'],
): ResolvedAddress[] {
  if (lookup === undefined || lookup.outcome.kind !== 'answer') return [];
  return lookup.outcome.addresses.map((address) => ({ address, family }));
}

function minTtl(a: number | null, b: number | null): number | null {
  if (a === null) return b;
  return b === null ? a : Math.min(a, b);
}

function whenKnown(lookup: RRsetLookup | Promise<RRsetLookup>, then: (l: RRsetLookup) => void) {
  if (lookup instanceof Promise) lookup.then(then);
  else then(lookup);
}

/** The candidate names for `hostname`, in the order glibc's res_search tries them. */
function candidateNames(hostname: string, conf: ResolvConf): string[] {
  if (hostname.endsWith('.')) return [hostname.slice(0, -1)];
  if (conf.search.length === 0) return [hostname];
  const dots = hostname.split('.').length - 1;
  // A search domain that makes the name too long for DNS is skipped.
  const searched = conf.search.map((domain) => `${hostname}.${domain}`).filter(isDnsName);
  return dots >= conf.ndots ? [hostname, ...searched] : [...searched, hostname];
}

export class StubResolver implements DnsResolver {
  readonly #conf: ResolvConf;
  readonly #hosts: HostsTable;
  readonly #client: DnsClient;
  readonly #cache: RRsetCache;
  /** The other family's grace once one has addresses: one timer for every lookup. */
  readonly #graces = new DeadlineQueue<() => void>(RESOLUTION_DELAY_MS, (settle) => settle());
  #lookaheads = 0;

  constructor(options: StubResolverOptions) {
    this.#conf = options.conf;
    this.#hosts = options.hosts;
    this.#cache = new RRsetCache(options.cache);
    this.#client = new DnsClient({
      servers: options.conf.nameservers,
      timeoutMs: options.queryTimeoutMs,
      attempts: options.attempts,
      maxInFlight: options.maxQueriesInFlight,
      rotate: options.conf.rotate,
      maxAddresses: options.maxAddresses,
    });
  }

  async resolve(hostname: string, options: ResolveOptions = {}): Promise<DnsAnswer> {
    const name = normalizeName(hostname);
    const fromHosts = this.#hosts.get(name);
    if (fromHosts !== undefined) {
      const facts: DnsFacts = {
        source: 'hosts',
        name,
        cnames: [],
        addresses: [...fromHosts],
        ttl: null,
      };
      return { ok: true, addresses: fromHosts, facts };
    }
    const useCache = options.useCache ?? true;
    const asker = options.asker;
    let worst: Extract<CandidateOutcome, { kind: 'failed' }> | null = null;
    for (const candidate of candidateNames(asciiLowerCase(hostname), this.#conf)) {
      const outcome = await this.#resolveCandidate(candidate, useCache, asker);
      if (outcome.kind === 'found') {
        return { ok: true, addresses: outcome.addresses, facts: outcome.facts };
      }
      if (worst === null || outcome.rank > worst.rank) worst = outcome;
      if (outcome.rank >= FailureRank.Timeout || asker?.abandoned) break;
    }
    const failure = worst!;
    return {
      ok: false,
      code: failure.code,
      message: `${hostname}: ${failure.detail}`,
      // The name as asked: which search domain was tried last is the machine's business.
      facts: { ...failure.facts, name },
    };
  }

  get queriesPending(): number {
    return this.#client.inFlight + this.#client.waiting;
  }

  warm(hostname: string, asker: Asker): void {
    this.#lookaheads++;
    // resolve() never rejects; its answer lands in the cache, which is all that is wanted.
    void this.resolve(hostname, { asker });
  }

  /** Synchronous when both families are cached: most lookups of a bulk job (look-ahead). */
  #resolveCandidate(
    name: string,
    useCache: boolean,
    asker: ResolveOptions['asker'],
  ): CandidateOutcome | Promise<CandidateOutcome> {
    const v4 = this.#lookup(name, 'A', useCache, asker);
    const v6 = this.#lookup(name, 'AAAA', useCache, asker);
    if (!(v4 instanceof Promise) && !(v6 instanceof Promise)) return this.#combine(name, v4, v6);
    return new Promise((resolve) => {
      let heardV4: RRsetLookup | undefined;
      let heardV6: RRsetLookup | undefined;
      let grace: DeadlineTicket | undefined;
      let settled = false;
      const settle = (): void => {
        if (settled) return;
        settled = true;
        if (grace !== undefined) this.#graces.cancel(grace);
        resolve(this.#combine(name, heardV4, heardV6));
      };
      const heard = (lookup: RRsetLookup): void => {
        if (heardV4 !== undefined && heardV6 !== undefined) settle();
        else if (hasAddresses(lookup)) grace ??= this.#graces.add(settle);
      };
      whenKnown(v4, (lookup) => {
        heardV4 = lookup;
        heard(lookup);
      });
      whenKnown(v6, (lookup) => {
        heardV6 = lookup;
        heard(lookup);
      });
    });
  }

  #lookup(
    name: string,
    type: RecordType,
    useCache: boolean,
    asker: ResolveOptions['asker'],
  ): RRsetLookup | Promise<RRsetLookup> {
    const ask = (wanted: () => boolean): Promise<QueryOutcome> =>
      this.#client.query(name, type, wanted);
    return this.#cache.lookup(name, type, useCache, asker, ask);
  }

  #combine(
    name: string,
    v4: RRsetLookup | undefined,
    v6: RRsetLookup | undefined,
  ): CandidateOutcome {
    const addresses = [...toAddresses(v4, 'IPv4'), ...toAddresses(v6, 'IPv6')];
    const a4 = v4?.outcome.kind === 'answer' ? v4.outcome : undefined;
    const a6 = v6?.outcome.kind === 'answer' ? v6.outcome : undefined;
    // The longer CNAME chain (a family may have stopped at a name without its records).
    const cnames = (a6?.cnames.length ?? 0) > (a4?.cnames.length ?? 0) ? a6!.cnames : a4?.cnames;
    // The TTL of what is used: the families that gave addresses, else the negative answers.
    const useV4 = a4 !== undefined && (addresses.length === 0 || a4.addresses.length > 0);
    const useV6 = a6 !== undefined && (addresses.length === 0 || a6.addresses.length > 0);
    const facts: DnsFacts = {
      // From the cache only when no question had to go out for this answer.
      source:
        (v4 === undefined || v4.fromCache) && (v6 === undefined || v6.fromCache) ? 'cache' : 'dns',
      name,
      cnames: cnames === undefined ? [] : [...cnames],
      addresses,
      ttl: minTtl(useV4 ? v4!.ttl : null, useV6 ? v6!.ttl : null),
    };
    if (addresses.length > 0) return { kind: 'found', facts, addresses };

    // NXDOMAIN is authoritative for every type of the name; then an unusable answer, silence,
    // a server's failure, and last a name that exists without addresses.
    const outcomes = [v4?.outcome, v6?.outcome].filter((o) => o !== undefined);
    if (outcomes.some((o) => o.kind === 'answer' && o.rcode === 'NXDOMAIN')) {
      return fail('dns_not_found', FailureRank.NxDomain, 'no such name (NXDOMAIN)', facts);
    }
    for (const outcome of outcomes) {
      if (outcome.kind === 'error') {
        return fail('dns_error', FailureRank.Error, outcome.message, facts);
      }
    }
    for (const outcome of outcomes) {
      if (outcome.kind === 'timeout') {
        const detail = `no DNS server answered in time (${outcome.queriesSent} queries sent)`;
        return fail('dns_timeout', FailureRank.Timeout, detail, facts);
      }
    }
    for (const outcome of outcomes) {
      if (outcome.kind === 'rcode') {
        const detail = `DNS server answered ${outcome.rcode}`;
        return fail('dns_error', FailureRank.Rcode, detail, facts);
      }
    }
    return fail('dns_not_found', FailureRank.NoData, 'no A or AAAA records', facts);
  }

  stats(): DnsStats {
    return {
      queriesSent: { ...this.#client.sent },
      queriesInFlight: this.#client.inFlight,
      queriesWaiting: this.#client.waiting,
      queryTimeouts: this.#client.timeouts,
      tcpFallbacks: this.#client.tcpFallbacks,
      cacheHits: this.#cache.hits,
      lookaheads: this.#lookaheads,
      cacheMisses: this.#cache.misses,
      cacheEntries: this.#cache.size,
    };
  }

  close(): Promise<void> {
    this.#client.close();
    this.#graces.clear();
    this.#cache.clear();
    return Promise.resolve();
  }
}

function hasAddresses(lookup: RRsetLookup): boolean {
  return lookup.outcome.kind === 'answer' && lookup.outcome.addresses.length > 0;
}

function fail(
  code: DnsFailureCode,
  rank: FailureRank,
  detail: string,
  facts: DnsFacts,
): CandidateOutcome {
  return { kind: 'failed', code, rank, detail, facts };
}
