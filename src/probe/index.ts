// The probe engine's public surface: one target in, one ProbeResult out.
export { createDnsResolver, type DnsResolver, type DnsResolverOptions } from './dns.js';
export { defaultProbeLimits, type ProbeLimits } from './limits.js';
export { type ProbeContext, probeTarget } from './probe.js';
export { defaultUserAgent } from './request.js';
export { type ParsedTarget, parseTarget } from './target.js';
