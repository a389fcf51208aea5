// Name resolution for probes. The default is headprobe's own stub resolver, configured the
// way the machine is (hosts file, resolv.conf); `system` is getaddrinfo on the thread pool.
// Failures come back as classified answers, never as thrown errors.
import type { DnsResolver } from './dns-answer.js';
import { type HostsTable, readHostsFile } from './hosts-file.js';
import { parseDnsServer, type ResolvConf, readResolvConf } from './resolv-conf.js';
import type { RRsetCacheOptions } from './rrset-cache.js';
import { StubResolver } from './stub-resolver.js';
import { createSystemResolver } from './system-resolver.js';

export type {
  DnsAnswer,
  DnsFacts,
  DnsResolver,
  DnsStats,
  ResolvedAddress,
  ResolveOptions,
} from './dns-answer.js';
export { type HostsTable, parseHostsFile } from './hosts-file.js';
export { parseDnsServer, parseResolvConf, type ResolvConf } from './resolv-conf.js';

export type DnsMode = 'builtin' | 'system';

export interface DnsResolverOptions {
  readonly mode?: DnsMode;
  /** `host[:port]` servers asked instead of resolv.conf's (HEADPROBE_DNS_SERVERS). */
  readonly servers?: readonly string[];
  /** The machine's files by default; tests pass their own. */
  readonly resolvConf?: ResolvConf;
  readonly hosts?: HostsTable;
  /** Per try; default resolv.conf's `timeout`, else 2 s. */
  readonly queryTimeoutMs?: number;
  /** Tries per server; default resolv.conf's `attempts`, else 2. */
  readonly attempts?: number;
  readonly maxQueriesInFlight?: number;
  readonly cache?: Partial<RRsetCacheOptions>;
}

export const defaultDnsCache: RRsetCacheOptions = Object.freeze({
  maxEntries: 50_000,
  minTtlS: 1,
  maxTtlS: 300,
  negativeTtlS: 30,
});

/** Two tries of 2 s per server: a dead server costs a target 4 s, not glibc's 10. */
const DEFAULT_QUERY_TIMEOUT_MS = 2_000;
const DEFAULT_ATTEMPTS = 2;
const DEFAULT_MAX_QUERIES_IN_FLIGHT = 1_000;

export function createDnsResolver(options: DnsResolverOptions = {}): DnsResolver {
  if (options.mode === 'system') return createSystemResolver();
  const machine = options.resolvConf ?? readResolvConf();
  const servers = (options.servers ?? []).map((text) => {
    const server = parseDnsServer(text);
    if (server === null) throw new RangeError(`not a DNS server address: ${text}`);
    return server;
  });
  const conf = servers.length === 0 ? machine : { ...machine, nameservers: servers };
  return new StubResolver({
    conf,
    hosts: options.hosts ?? readHostsFile(),
    cache: { ...defaultDnsCache, ...options.cache },
    queryTimeoutMs: options.queryTimeoutMs ?? conf.timeoutMs ?? DEFAULT_QUERY_TIMEOUT_MS,
    attempts: options.attempts ?? conf.attempts ?? DEFAULT_ATTEMPTS,
    maxQueriesInFlight: options.maxQueriesInFlight ?? DEFAULT_MAX_QUERIES_IN_FLIGHT,
  });
}
