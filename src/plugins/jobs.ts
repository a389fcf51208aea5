// Decorates the app with the job core: the store, submissions (admission, idempotency, the
// dispatcher), control of stored jobs (wait, cancel, delete) and this process's runner (its
// one Scheduler and DNS resolver). The runner closes with the app, so every target ends
// with a result.
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { Config, DnsConfig } from '../config.js';
import { JobAdmission } from '../jobs/job-admission.js';
import { JobControl } from '../jobs/job-control.js';
import { InProcessDispatcher } from '../jobs/job-dispatcher.js';
import { JobRunner } from '../jobs/job-runner.js';
import type { JobStore } from '../jobs/job-store.js';
import { JobSubmissions } from '../jobs/job-submissions.js';
import { MemoryJobStore } from '../jobs/memory-job-store.js';
import { openRedisJobStore } from '../jobs/redis-connection.js';
import { createAddressPolicy } from '../policy/address-policy.js';
import { createDnsResolver, type DnsResolver, type ProbeLimits } from '../probe/index.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** Where jobs and their results are kept. */
    jobStore: JobStore;
    /** False while the store cannot be reached (a Redis that is away); always true in memory. */
    jobStoreReachable: () => boolean;
    jobSubmissions: JobSubmissions;
    jobControl: JobControl;
    /** Runs targets on this process's shared loop; /v1/loop and /metrics read its state. */
    jobRunner: JobRunner;
  }
}

export interface JobsPluginOptions {
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

async function jobsPlugin(app: FastifyInstance, options: JobsPluginOptions) {
  const { config } = options;
  // Read once when the server starts listening: asking the socket per target costs a syscall.
  let self: AddressInfo[] = [];
  app.addHook('onListen', async () => {
    self = app.addresses().filter(isAddressInfo);
  });
  const resolver = options.resolver ?? resolverFromConfig(config.dns);
  let store: JobStore;
  let reachable = () => true;
  if (options.store !== undefined) store = options.store;
  else if (config.redis !== null) {
    const redis = await openRedisJobStore(
      { ...config.redis, maxJobs: config.maxJobs, retentionMs: config.jobRetentionMs },
      { warn: (message) => app.log.warn(message), info: (message) => app.log.info(message) },
    );
    store = redis.store;
    reachable = redis.connected;
    // After preClose: the runner has written its last results by then.
    app.addHook('onClose', () => redis.close());
  } else {
    store = new MemoryJobStore({ maxJobs: config.maxJobs, retentionMs: config.jobRetentionMs });
  }
  const runner = new JobRunner({
    store,
    resolver,
    concurrency: config.concurrency,
    concurrencyPerCaller: config.concurrencyPerCaller,
    observer: app.metrics.jobObserver,
    limits: options.limits,
    policy: createAddressPolicy({
      allowCidrs: config.allowCidrs,
      allowPorts: config.allowPorts,
      // Known once listening; the service never probes itself.
      selfEndpoints: () => self,
    }),
  });
  await runner.start();
  const submissions = new JobSubmissions({
    store,
    admission: new JobAdmission(store, {
      maxQueuedTargets: config.maxQueuedTargets,
      maxQueuedTargetsPerCaller: config.maxQueuedTargetsPerKey,
    }),
    dispatcher: new InProcessDispatcher(runner),
    concurrencyPerCaller: config.concurrencyPerCaller,
    concurrencyPerDestination: config.concurrencyPerDestination,
    maxConcurrencyPerDestination: config.maxConcurrencyPerDestination,
    headerBudget: {
      maxHeaderBytes: config.maxHeaderBytes,
      maxJobHeaderBytes: config.maxJobHeaderBytes,
    },
  });
  app.decorate('jobStore', store);
  app.decorate('jobStoreReachable', reachable);
  app.decorate('jobSubmissions', submissions);
  app.decorate('jobControl', new JobControl(store));
  app.decorate('jobRunner', runner);
  // Before the server stops: cancelled jobs end, so their open streams end and the close completes.
  app.addHook('preClose', async () => {
    submissions.beginDrain();
    await runner.close();
  });
  // An injected resolver belongs to whoever made it; ours goes with the app.
  if (options.resolver === undefined) app.addHook('onClose', async () => resolver.close?.());
}

export default fp(jobsPlugin, { name: 'jobs', dependencies: ['metrics'] });
