// The resolver's answer to the probe: the addresses to dial, or a classified failure, and in
// both cases the facts a result reports about the name (its `dns` field).
import type { DnsFacts, ProbeErrorCode } from '../../schemas/probe-result.js';
import type { Asker } from './rrset-cache.js';

export type { DnsFacts };

/** One address a name resolved to, in the wire shape of `dns.addresses`. */
export interface ResolvedAddress {
  readonly address: string;
  readonly family: 'IPv4' | 'IPv6';
}

export type DnsFailureCode = Extract<ProbeErrorCode, 'dns_not_found' | 'dns_timeout' | 'dns_error'>;

export type DnsAnswer =
  | { readonly ok: true; readonly addresses: readonly ResolvedAddress[]; readonly facts: DnsFacts }
  | {
      readonly ok: false;
      readonly code: DnsFailureCode;
      readonly message: string;
      /** What is known of the name (a cached NXDOMAIN, say); null when nothing is. */
      readonly facts: DnsFacts | null;
    };

export interface ResolveOptions {
  /** False skips cached answers (fresh queries); the answers still refresh the cache. */
  readonly useCache?: boolean;
  /**
   * Who waits for the answer (the probe). Once it has abandoned the wait (its deadline ran
   * out, it was cancelled), queries only it wanted are dropped and the search list stops.
   */
  readonly asker?: Asker;
}

/** Counters and gauges for /metrics and GET /v1/loop. */
export interface DnsStats {
  /** Queries sent (UDP and TCP retries included), by record type. */
  readonly queriesSent: { readonly A: number; readonly AAAA: number };
  /** Queries on the wire now, and queries waiting for a free slot under the in-flight cap. */
  readonly queriesInFlight: number;
  readonly queriesWaiting: number;
  /** Queries no server answered in time (after every retry). */
  readonly queryTimeouts: number;
  /** Truncated UDP answers asked again over TCP. */
  readonly tcpFallbacks: number;
  readonly cacheHits: number;
  /** Names resolved ahead for targets still queued (NameLookahead). */
  readonly lookaheads: number;
  readonly cacheMisses: number;
  readonly cacheEntries: number;
}

export interface DnsResolver {
  /** Never rejects. Time spent waiting for a free query slot is never reported as a timeout. */
  resolve(hostname: string, options?: ResolveOptions): Promise<DnsAnswer>;
  /**
   * Resolves `hostname` into the shared cache for a lookup soon to come (a queued target's:
   * NameLookahead); `asker` says when it is no longer wanted. Absent for resolvers without a
   * cache (getaddrinfo), where it would only double the lookups.
   */
  warm?(hostname: string, asker: Asker): void;
  /** Queries on the wire or waiting for a slot; absent where warm is. */
  readonly queriesPending?: number;
  /** Absent for resolvers that keep no figures (the system resolver's are libuv's). */
  stats?(): DnsStats;
  /** Closes sockets; idempotent. Pending queries end as errors. */
  close?(): Promise<void>;
}
