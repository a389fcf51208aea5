// Name resolution for probes: the system resolver by default, or c-ares pointed at
// given servers. Failures come back as classified errors, never as thrown ones.
import { promises as dns } from 'node:dns';
import type { ProbeErrorCode } from '../schemas/probe-result.js';

export interface ResolvedAddress {
  readonly address: string;
  readonly family: 4 | 6;
}

export type DnsAnswer =
  | { readonly ok: true; readonly addresses: readonly ResolvedAddress[] }
  | {
      readonly ok: false;
      readonly code: Extract<ProbeErrorCode, 'dns_not_found' | 'dns_timeout' | 'dns_error'>;
      readonly message: string;
    };

export interface DnsResolver {
  /** Never rejects. The caller bounds the wait with its own phase timer. */
  resolve(hostname: string): Promise<DnsAnswer>;
}

export interface DnsResolverOptions {
  /** `host[:port]` servers, like HEADPROBE_DNS_SERVERS; empty means the system resolver. */
  readonly servers?: readonly string[];
  /** Per-query timeout of the c-ares resolver (ignored by the system resolver). */
  readonly queryTimeoutMs?: number;
}

const NOT_FOUND = new Set(['ENOTFOUND', 'ENODATA', 'NXDOMAIN', 'EAI_NONAME', 'EAI_NODATA']);
const TIMED_OUT = new Set(['ETIMEOUT', 'ETIMEDOUT']);

function classify(error: unknown, hostname: string): DnsAnswer {
  const code = (error as NodeJS.ErrnoException | null)?.code ?? 'EUNKNOWN';
  if (NOT_FOUND.has(code)) {
    return { ok: false, code: 'dns_not_found', message: `${hostname}: no such name (${code})` };
  }
  if (TIMED_OUT.has(code)) {
    return { ok: false, code: 'dns_timeout', message: `${hostname}: DNS query timed out` };
  }
  return { ok: false, code: 'dns_error', message: `${hostname}: DNS lookup failed (${code})` };
}

function noAddresses(hostname: string): DnsAnswer {
  return { ok: false, code: 'dns_not_found', message: `${hostname}: no A or AAAA records` };
}

/** getaddrinfo via dns.lookup: honours /etc/hosts and nsswitch, like curl. */
function createSystemResolver(): DnsResolver {
  return {
    async resolve(hostname) {
      try {
        const found = await dns.lookup(hostname, { all: true, order: 'verbatim' });
        if (found.length === 0) return noAddresses(hostname);
        return {
          ok: true,
          addresses: found.map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 })),
        };
      } catch (error) {
        return classify(error, hostname);
      }
    },
  };
}

/** c-ares: asks the given servers directly, A and AAAA in parallel, IPv4 answers first. */
function createServerResolver(servers: readonly string[], queryTimeoutMs: number): DnsResolver {
  const resolver = new dns.Resolver({ timeout: queryTimeoutMs, tries: 1 });
  resolver.setServers([...servers]);
  return {
    async resolve(hostname) {
      const [v4, v6] = await Promise.allSettled([
        resolver.resolve4(hostname),
        resolver.resolve6(hostname),
      ]);
      const addresses: ResolvedAddress[] = [];
      if (v4.status === 'fulfilled')
        for (const address of v4.value) addresses.push({ address, family: 4 });
      if (v6.status === 'fulfilled')
        for (const address of v6.value) addresses.push({ address, family: 6 });
      if (addresses.length > 0) return { ok: true, addresses };
      const failures = [v4, v6].flatMap((r) => (r.status === 'rejected' ? [r.reason] : []));
      if (failures.length === 0) return noAddresses(hostname);
      // NXDOMAIN is authoritative for both families; a timeout beats "no records of this type".
      const codeOf = (e: unknown) => (e as NodeJS.ErrnoException | null)?.code ?? '';
      const decisive =
        failures.find((e) => codeOf(e) === 'ENOTFOUND') ??
        failures.find((e) => TIMED_OUT.has(codeOf(e))) ??
        failures[0];
      return classify(decisive, hostname);
    },
  };
}

export function createDnsResolver(options: DnsResolverOptions = {}): DnsResolver {
  const servers = options.servers ?? [];
  return servers.length === 0
    ? createSystemResolver()
    : createServerResolver(servers, options.queryTimeoutMs ?? 5000);
}
