// getaddrinfo through dns.lookup, on libuv's thread pool: the explicit choice
// (HEADPROBE_DNS=system) for machines whose nsswitch setup (LDAP, mDNS, …) only the C
// library knows. Four threads serve every lookup of the process, so bulk lists of names
// wait for a thread; that wait is reported as time, never as a DNS timeout.
import { promises as dns } from 'node:dns';
import type { DnsAnswer, DnsResolver } from './dns-answer.js';
import { normalizeName } from './dns-message.js';

const NOT_FOUND = new Set(['ENOTFOUND', 'ENODATA', 'EAI_NONAME', 'EAI_NODATA']);

export function createSystemResolver(): DnsResolver {
  return {
    async resolve(hostname) {
      const name = normalizeName(hostname);
      try {
        const found = await dns.lookup(hostname, { all: true, order: 'verbatim' });
        const addresses = found.map((a) => ({
          address: a.address,
          family: a.family === 6 ? ('IPv6' as const) : ('IPv4' as const),
        }));
        const facts = { source: 'system' as const, name, cnames: [], addresses, ttl: null };
        if (addresses.length === 0) {
          return { ok: false, code: 'dns_not_found', message: `${hostname}: no addresses`, facts };
        }
        return { ok: true, addresses, facts };
      } catch (error) {
        const code = (error as NodeJS.ErrnoException | null)?.code ?? 'EUNKNOWN';
        // getaddrinfo says EAI_AGAIN for a timeout and for SERVFAIL alike: it is not told which.
        const answer: DnsAnswer = NOT_FOUND.has(code)
          ? {
              ok: false,
              code: 'dns_not_found',
              message: `${hostname}: no such name (${code})`,
              facts: null,
            }
          : {
              ok: false,
              code: 'dns_error',
              message: `${hostname}: lookup failed (${code})`,
              facts: null,
            };
        return answer;
      }
    },
  };
}
