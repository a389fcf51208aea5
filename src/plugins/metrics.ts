// Prometheus metrics at /metrics (prom-client): HTTP requests; jobs and targets by outcome;
// probe phase durations like blackbox_exporter's probe_http_duration_seconds; the scheduler's
// queue; the resolver's queries and cache; event-loop delay and utilisation; default process
// metrics.

import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { JobObserver } from '../jobs/job-runner.js';
import { UtilizationWindow } from '../loop/event-loop-stats.js';
import type { DnsStats } from '../probe/index.js';
import type { ProbeResult } from '../schemas/probe-result.js';

declare module 'fastify' {
  interface FastifyInstance {
    metrics: { readonly registry: Registry; readonly jobObserver: JobObserver };
  }
}

export const PHASES = ['dns', 'tcp', 'tls', 'wait'] as const;

/** TLS only on https; a lookup only for a name (not an address literal or a pinned name). */
function happened(phase: (typeof PHASES)[number], result: ProbeResult): boolean {
  if (phase === 'tls') return result.tls !== null;
  if (phase === 'dns') return result.dns !== null && result.dns.source !== 'pinned';
  return true;
}

/**
 * Targets by outcome and probe phase durations, and the observer every ended target goes
 * through (bench/micro/micro-service-costs.ts measures this very function).
 */
export function targetMetrics(registry: Registry) {
  const targets = new Counter({
    name: 'headprobe_targets_total',
    help: 'Targets that ended, by outcome: ok, or the error code.',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  const probeDuration = new Histogram({
    name: 'headprobe_probe_duration_seconds',
    help: 'Duration of each probe phase (dns, tcp, tls, wait) and of the whole probe (total).',
    labelNames: ['phase'] as const,
    // Up to the longest timeoutMs a job may ask for (120 s).
    buckets: [
      0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120,
    ],
    registers: [registry],
  });
  const targetEnded = (result: ProbeResult): void => {
    targets.inc({ outcome: result.error?.code ?? 'ok' });
    const phases = result.timing.phases;
    for (const phase of PHASES) {
      const ms = phases[phase];
      // A phase that did not happen is not observed: the wire says 0 for TLS on plain http and
      // for the lookup of an address, which would drag those quantiles down.
      if (ms === null || !happened(phase, result)) continue;
      probeDuration.observe({ phase }, ms / 1000);
    }
    if (result.ok) probeDuration.observe({ phase: 'total' }, result.timing.total / 1000);
  };
  return { targets, probeDuration, targetEnded };
}

type Labelled = Array<[Record<string, string>, number]>;

/** A gauge set from `read` at each scrape; left as it was when `read` has no figure. */
function scrapedGauge(
  registry: Registry,
  name: string,
  help: string,
  read: () => number | undefined,
): void {
  new Gauge({
    name,
    help,
    registers: [registry],
    collect() {
      const value = read();
      if (value !== undefined) this.set(value);
    },
  });
}

/** A count kept where it happens: each scrape copies it (a counter reset and set to it). */
function scrapedCounter(
  registry: Registry,
  name: string,
  help: string,
  labelNames: string[],
  read: () => Labelled | undefined,
): void {
  new Counter({
    name,
    help,
    labelNames,
    registers: [registry],
    collect() {
      const counts = read();
      if (counts === undefined) return;
      this.reset();
      for (const [labels, value] of counts) this.inc(labels, value);
    },
  });
}

/** The resolver's figures, read at scrape time; absent for the system resolver. */
function dnsMetrics(registry: Registry, stats: () => DnsStats | undefined): void {
  const counter = (
    name: string,
    help: string,
    labelNames: string[],
    read: (figures: DnsStats) => Labelled,
  ) =>
    scrapedCounter(registry, name, help, labelNames, () => {
      const figures = stats();
      return figures === undefined ? undefined : read(figures);
    });
  const gauge = (name: string, help: string, read: (figures: DnsStats) => number) =>
    scrapedGauge(registry, name, help, () => {
      const figures = stats();
      return figures === undefined ? undefined : read(figures);
    });
  counter(
    'headprobe_dns_queries_total',
    'DNS queries sent by the builtin resolver (retries and TCP included), by record type.',
    ['type'],
    (f) => [
      [{ type: 'A' }, f.queriesSent.A],
      [{ type: 'AAAA' }, f.queriesSent.AAAA],
    ],
  );
  counter(
    'headprobe_dns_query_timeouts_total',
    'DNS queries no server answered in time, after every retry.',
    [],
    (f) => [[{}, f.queryTimeouts]],
  );
  counter(
    'headprobe_dns_tcp_fallbacks_total',
    'Truncated UDP answers asked again over TCP.',
    [],
    (f) => [[{}, f.tcpFallbacks]],
  );
  counter(
    'headprobe_dns_cache_lookups_total',
    'Lookups of the shared DNS cache (one per name and record type), by result.',
    ['result'],
    (f) => [
      [{ result: 'hit' }, f.cacheHits],
      [{ result: 'miss' }, f.cacheMisses],
    ],
  );
  counter(
    'headprobe_dns_lookaheads_total',
    'Names resolved ahead, into the shared cache, for targets still waiting for a slot.',
    [],
    (f) => [[{}, f.lookaheads]],
  );
  gauge('headprobe_dns_queries_in_flight', 'DNS queries on the wire.', (f) => f.queriesInFlight);
  gauge(
    'headprobe_dns_queries_waiting',
    'DNS queries waiting for a slot under HEADPROBE_DNS_MAX_QUERIES (not timed while waiting).',
    (f) => f.queriesWaiting,
  );
  gauge('headprobe_dns_cache_entries', 'Entries in the shared DNS cache.', (f) => f.cacheEntries);
}

/** What the service's own HTTP side holds and refuses: connections, bodies, streams, load. */
function protectionMetrics(registry: Registry, app: FastifyInstance): void {
  const counter = (name: string, help: string, read: () => number) =>
    scrapedCounter(registry, name, help, [], () => [[{}, read()]]);
  scrapedGauge(
    registry,
    'headprobe_http_connections_open',
    'Connections to the service.',
    () => app.connections.open,
  );
  counter(
    'headprobe_http_connections_refused_total',
    'Connections refused over HEADPROBE_MAX_CONNECTIONS or _PER_CLIENT.',
    () => app.connections.refused,
  );
  scrapedGauge(
    registry,
    'headprobe_http_pending_body_bytes',
    'Bytes held by request bodies still being read (capped by HEADPROBE_MAX_PENDING_BODY_MB).',
    () => app.pendingBodies.reserved,
  );
  scrapedGauge(
    registry,
    'headprobe_result_streams_open',
    'Open NDJSON and SSE result streams.',
    () => app.streams.open,
  );
  counter(
    'headprobe_resource_exhaustions_total',
    'Times a resource (file descriptors) ran out; each sheds new jobs for a few seconds.',
    () => app.load.exhaustions,
  );
  scrapedGauge(
    registry,
    'headprobe_shedding_load',
    '1 while new jobs are refused for load (memory, event-loop delay, descriptors), else 0.',
    () => (app.load.pressure() === null ? 0 : 1),
  );
}

export interface MetricsOptions {
  /** With Redis, every series is labelled with the process's role (all, api, worker). */
  readonly role: string | null;
}

/** The chunk queue's depth across the cluster, where this process feeds it. */
function queueMetrics(registry: Registry, app: FastifyInstance): void {
  new Gauge({
    name: 'headprobe_queue_chunks',
    help: 'Chunks on the queue across the cluster, by state: waiting or active (API processes on Redis).',
    labelNames: ['state'] as const,
    registers: [registry],
    async collect() {
      const depth = await app.jobQueue?.depth();
      if (depth === undefined || depth === null) return;
      this.set({ state: 'waiting' }, depth.waiting);
      this.set({ state: 'active' }, depth.active);
    },
  });
}

async function metricsPlugin(app: FastifyInstance, options: MetricsOptions) {
  const registry = new Registry();
  if (options.role !== null) {
    registry.setDefaultLabels({ role: options.role });
    queueMetrics(registry, app);
  }
  collectDefaultMetrics({ register: registry });
  // Gauges named like counters, which promtool refuses; their twins without _total stay.
  for (const name of [
    'nodejs_active_handles_total',
    'nodejs_active_requests_total',
    'nodejs_active_resources_total',
  ]) {
    registry.removeSingleMetric(name);
  }

  const httpDuration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP requests served, by method, route and status.',
    labelNames: ['method', 'route', 'status_code'] as const,
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30],
    registers: [registry],
  });
  const jobs = new Counter({
    name: 'headprobe_jobs_total',
    help: 'Jobs that ended, by final status.',
    labelNames: ['status'] as const,
    registers: [registry],
  });
  const { targetEnded } = targetMetrics(registry);
  const scheduler = () => app.jobRunner.counts();
  scrapedGauge(
    registry,
    'headprobe_targets_queued',
    'Targets waiting for a slot on the shared loop.',
    () => scheduler().queued,
  );
  scrapedGauge(
    registry,
    'headprobe_targets_running',
    'Targets in flight.',
    () => scheduler().running,
  );
  scrapedGauge(
    registry,
    'headprobe_targets_waiting_for_destination',
    'Queued targets whose host:port is at its per-destination cap.',
    () => scheduler().waitingForDestination,
  );
  scrapedGauge(
    registry,
    'headprobe_jobs_active',
    'Jobs with targets queued or running.',
    () => scheduler().jobs,
  );
  dnsMetrics(registry, () => app.jobRunner.dnsStats());
  protectionMetrics(registry, app);
  const utilization = new UtilizationWindow();
  scrapedGauge(
    registry,
    'headprobe_event_loop_utilization_ratio',
    'Share of time the event loop ran code since the previous scrape, 0..1.',
    () => utilization.read(),
  );

  const jobObserver: JobObserver = {
    targetEnded,
    jobEnded(status) {
      jobs.inc({ status });
    },
  };
  app.decorate('metrics', { registry, jobObserver });

  app.addHook('onResponse', async (request, reply) => {
    httpDuration.observe(
      {
        method: request.method,
        route: request.routeOptions.url ?? 'unmatched',
        status_code: reply.statusCode,
      },
      reply.elapsedTime / 1000,
    );
  });

  app.get('/metrics', { schema: { hide: true } }, async (_request, reply) =>
    reply.type(registry.contentType).send(await registry.metrics()),
  );
}

export default fp(metricsPlugin, { name: 'metrics' });
