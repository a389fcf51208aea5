// The probe engine's public surface: one target in, one ProbeResult out.
export {
  createDnsResolver,
  type DnsMode,
  type DnsResolver,
  type DnsResolverOptions,
  type DnsStats,
} from './dns/index.js';
export { defaultProbeLimits, type ProbeLimits } from './limits.js';
export { type ProbeContext, probeOnce, unprobedResult } from './probe.js';
export { probeTarget } from './redirects.js';
export { defaultUserAgent } from './request.js';
export { destinationOf, type ParsedTarget, parseTarget } from './target.js';
