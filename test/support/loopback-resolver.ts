// The resolver for tests that need none of their own: the machine's hosts file still answers
// (localhost), and every other name goes to a loopback port where no DNS server listens, so
// no test ever asks the machine's nameservers.
import { createDnsResolver, type DnsResolver } from '../../src/probe/index.js';

export const NO_DNS_SERVER = '127.0.0.1:9';

export function loopbackResolver(): DnsResolver {
  return createDnsResolver({ servers: [NO_DNS_SERVER] });
}
