// Decorates the app with the job core: the store, submissions (admission, idempotency, the
// dispatcher), control of stored jobs (wait, cancel, delete) and this process's runner (its
// one Scheduler and DNS resolver). The runner closes with the app, so every target ends
// with a result.
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { Config, DnsConfig } from '../config.js';
import { ChunkWorker, QueueDispatcher } from '../jobs/chunk-queue.js';
import { JobAdmission } from '../jobs/job-admission.js';
import { JobControl } from '../jobs/job-control.js';
import { InProcessDispatcher, type JobDispatcher } from '../jobs/job-dispatcher.js';
import { JobRunner } from '../jobs/job-runner.js';
import type { JobStore } from '../jobs/job-store.js';
import { JobSubmissions } from '../jobs/job-submissions.js';
import { MemoryJobStore } from '../jobs/memory-job-store.js';
import { defaultOrphanSweep, OrphanSweep, type OrphanSweepOptions } from '../jobs/orphan-sweep.js';
import { isStoreUnavailable } from '../jobs/redis-connection.js';
import { WorkerRegistry } from '../jobs/worker-registry.js';
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
    /** How the job side of this process stops (server.ts and the close hook use it). */
    jobLifecycle: JobLifecycle;
    /** The chunk queue this process feeds (an API process on Redis); null otherwise. */
    jobQueue: QueueDispatcher | null;
    /** The workers of the cluster and their loops (with Redis); null in one process. */
    workerRegistry: WorkerRegistry | null;
  }
}

export interface JobLifecycle {
  /** Takes no new jobs (503, /readyz false) and, as a worker, no new chunks. */
  beginDrain(): void;
  /** Resolves when this process runs no target, or after `timeoutMs`. */
  waitForIdle(timeoutMs: number): Promise<void>;
  /**
   * Stops what still runs: in one process its jobs are cancelled, every target ending with a
   * result; a worker hands its running chunks back to the queue instead. Idempotent.
   */
  close(): Promise<void>;
}

export interface JobsPluginOptions {
  readonly config: Config;
  /** Tests inject a resolver pointed at a loopback DNS server, or tighter limits. */
  readonly resolver?: DnsResolver;
  readonly store?: JobStore;
  readonly limits?: ProbeLimits;
  /** How often an API process on Redis re-queues jobs left queued (tests make it quick). */
  readonly orphanSweep?: OrphanSweepOptions;
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
  const redis = app.redis;
  let store: JobStore;
  let reachable = () => true;
  if (options.store !== undefined) store = options.store;
  else if (redis !== null) {
    store = redis.store;
    reachable = redis.connected;
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
    isTransient: isStoreUnavailable,
    policy: createAddressPolicy({
      allowCidrs: config.allowCidrs,
      allowPorts: config.allowPorts,
      // Known once listening; the service never probes itself.
      selfEndpoints: () => self,
    }),
  });
  await runner.start();
  // With Redis, jobs go through the queue: the API side cuts them into chunks, the worker
  // side (a worker process, or this one in role `all`) runs them.
  let dispatcher: JobDispatcher = new InProcessDispatcher(runner);
  let queue: QueueDispatcher | null = null;
  let chunkWorker: ChunkWorker | null = null;
  let sweep: OrphanSweep | null = null;
  const registry = redis === null ? null : new WorkerRegistry(redis.redis, redis.prefix);
  if (redis !== null && config.redis !== null) {
    const connection = { redis: redis.queueRedis, prefix: config.redis.prefix };
    if (config.role !== 'worker') {
      queue = new QueueDispatcher(connection, config.redis.chunkSize);
      dispatcher = queue;
      sweep = new OrphanSweep(store, queue, options.orphanSweep ?? defaultOrphanSweep);
      sweep.start();
    }
    if (config.role !== 'api') {
      chunkWorker = new ChunkWorker({
        connection,
        store,
        runner,
        // One chunk more than fills the global cap, so the next is there as one drains.
        concurrency: Math.ceil(config.concurrency / config.redis.chunkSize) + 1,
        lockDurationMs: config.redis.chunkLockMs,
      });
      registry?.start(config.concurrency, () => runner.counts());
    }
  }
  const submissions = new JobSubmissions({
    store,
    admission: new JobAdmission(store, {
      maxQueuedTargets: config.maxQueuedTargets,
      maxQueuedTargetsPerCaller: config.maxQueuedTargetsPerKey,
    }),
    dispatcher,
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
  let closing: Promise<void> | null = null;
  const lifecycle: JobLifecycle = {
    beginDrain() {
      submissions.beginDrain();
      chunkWorker?.stopTaking().catch(() => {});
    },
    waitForIdle: (timeoutMs) => runner.waitForIdle(timeoutMs),
    close() {
      closing ??= (async () => {
        lifecycle.beginDrain();
        sweep?.stop();
        if (chunkWorker === null) await runner.close();
        else {
          await runner.close({ handBack: true });
          await chunkWorker.close();
          await registry?.stop();
        }
        await queue?.close();
      })();
      return closing;
    },
  };
  app.decorate('jobLifecycle', lifecycle);
  app.decorate('jobQueue', queue);
  app.decorate('workerRegistry', registry);
  // Before the server stops: cancelled jobs end, so their open streams end and the close completes.
  app.addHook('preClose', () => lifecycle.close());
  // An injected resolver belongs to whoever made it; ours goes with the app.
  if (options.resolver === undefined) app.addHook('onClose', async () => resolver.close?.());
}

export default fp(jobsPlugin, { name: 'jobs', dependencies: ['metrics', 'redis'] });
