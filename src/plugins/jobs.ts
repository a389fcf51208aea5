// Decorates the app with the JobService (the process's one Scheduler, its DNS resolver and
// the job store) and closes it with the app, so every target ends with a result.
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { Config, DnsConfig } from '../config.js';
import { JobService } from '../jobs/job-service.js';
import type { JobStore } from '../jobs/job-store.js';
import { MemoryJobStore } from '../jobs/memory-job-store.js';
import { createAddressPolicy } from '../policy/address-policy.js';
import { createDnsResolver, type DnsResolver, type ProbeLimits } from '../probe/index.js';

declare module 'fastify' {
  interface FastifyInstance {
    jobs: JobService;
    /** Where jobs and their results are kept: routes read through this, not through `jobs`. */
    jobStore: JobStore;
  }
}

export interface JobServicePluginOptions {
  readonly config: Config;
  /** Tests inject a resolver pointed at a loopback DNS server, or tighter limits. */
  readonly resolver?: DnsResolver;
  readonly store?: JobStore;
  readonly limits?: ProbeLimits;
}

function resolverFromConfig(dns: DnsConfig): DnsResolver {
  return createDnsResolver({
    mode: dns.mode,
    servers: dns.servers,
    queryTimeoutMs: dns.queryTimeoutMs === 0 ? undefined : dns.queryTimeoutMs,
    maxQueriesInFlight: dns.maxQueriesInFlight,
    cache: {
      maxEntries: dns.cacheEntries,
      minTtlS: dns.cacheMinTtlS,
      maxTtlS: dns.cacheMaxTtlS,
      negativeTtlS: dns.negativeTtlS,
    },
  });
}

function isAddressInfo(value: string | AddressInfo): value is AddressInfo {
  return typeof value !== 'string';
}

async function jobServicePlugin(app: FastifyInstance, options: JobServicePluginOptions) {
  const { config } = options;
  // Read once when the server starts listening: asking the socket per target costs a syscall.
  let self: AddressInfo[] = [];
  app.addHook('onListen', async () => {
    self = app.addresses().filter(isAddressInfo);
  });
  const resolver = options.resolver ?? resolverFromConfig(config.dns);
  const service = new JobService({
    store:
      options.store ??
      new MemoryJobStore({ maxJobs: config.maxJobs, retentionMs: config.jobRetentionMs }),
    resolver,
    concurrency: config.concurrency,
    concurrencyPerCaller: config.concurrencyPerCaller,
    concurrencyPerDestination: config.concurrencyPerDestination,
    maxConcurrencyPerDestination: config.maxConcurrencyPerDestination,
    maxQueuedTargets: config.maxQueuedTargets,
    maxQueuedTargetsPerCaller: config.maxQueuedTargetsPerKey,
    headerBudget: {
      maxHeaderBytes: config.maxHeaderBytes,
      maxJobHeaderBytes: config.maxJobHeaderBytes,
    },
    observer: app.metrics.jobObserver,
    limits: options.limits,
    policy: createAddressPolicy({
      allowCidrs: config.allowCidrs,
      allowPorts: config.allowPorts,
      // Known once listening; the service never probes itself.
      selfEndpoints: () => self,
    }),
  });
  app.decorate('jobs', service);
  app.decorate('jobStore', service.store);
  // Before the server stops: cancelled jobs end, so their open streams end and the close completes.
  app.addHook('preClose', () => service.close());
  // An injected resolver belongs to whoever made it; ours goes with the app.
  if (options.resolver === undefined) app.addHook('onClose', async () => resolver.close?.());
}

export default fp(jobServicePlugin, { name: 'job-service', dependencies: ['metrics'] });
