// buildApp(config) → a ready Fastify instance with every plugin and route. Never listens:
// src/server.ts does, and tests use the instance directly.
import { readFileSync } from 'node:fs';
import sse, { type SSEPluginOptions } from '@fastify/sse';
import Fastify, {
  type FastifyInstance,
  type FastifyPluginAsync,
  type FastifyReply,
  type FastifyRequest,
  type FastifyServerOptions,
  LogController,
} from 'fastify';
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import healthRoutes from '../routes/health.js';
import jobRoutes from '../routes/jobs.js';
import loopRoutes from '../routes/loop.js';
import type { Config } from './config.js';
import { ConnectionGuard, derivedMaxConnections, openFileLimit } from './http/connection-guard.js';
import { OpenRequests } from './http/open-requests.js';
import { answerClientError, answerFrameworkError } from './http/pre-route-errors.js';
import type { JobStore } from './jobs/job-store.js';
import type { OrphanSweepOptions } from './jobs/orphan-sweep.js';
import apiKeys from './plugins/api-keys.js';
import backPressure from './plugins/back-pressure.js';
import jobs from './plugins/jobs.js';
import jsonBodies from './plugins/json-bodies.js';
import metrics from './plugins/metrics.js';
import openApi from './plugins/openapi.js';
import problemDetails from './plugins/problem-details.js';
import rateLimits from './plugins/rate-limits.js';
import redis from './plugins/redis.js';
import requestLog from './plugins/request-log.js';
import webPage from './plugins/web-page.js';
import { StreamSlots } from './policy/stream-slots.js';
import type { DnsResolver, ProbeLimits } from './probe/index.js';

/** Most bytes in one request body: 10,000 targets of a few hundred characters fit. */
const MAX_BODY_BYTES = 4 * 1024 * 1024;

declare module 'fastify' {
  interface FastifyInstance {
    connections: ConnectionGuard;
    openRequests: OpenRequests;
    streams: StreamSlots;
  }
}

export interface AppOverrides {
  /** Replaces the logger settings (tests pass `false`). */
  readonly logger?: FastifyServerOptions['logger'];
  /** Tests point DNS at a loopback server and tighten timeouts. */
  readonly resolver?: DnsResolver;
  readonly limits?: ProbeLimits;
  readonly store?: JobStore;
  /** How often back-pressure samples load (default 1 s). */
  readonly pressureSampleMs?: number;
  /** SSE comment heartbeat interval (default 15 s). */
  readonly sseHeartbeatMs?: number;
  /** How often an API process on Redis re-queues jobs left queued (default 30 s, after 60 s). */
  readonly orphanSweep?: OrphanSweepOptions;
  /** The built results page (tests build their own); absent: dist/web. */
  readonly webRoot?: string;
  /** Sees every response as it is sent (tests check each against the OpenAPI document). */
  readonly onSend?: (request: FastifyRequest, reply: FastifyReply, payload: unknown) => void;
}

export async function buildApp(
  config: Config,
  overrides: AppOverrides = {},
): Promise<FastifyInstance> {
  const app = Fastify({
    logger: overrides.logger ?? {
      level: config.logLevel,
      // Keys never reach the logs, whatever a serializer decides to print.
      redact: ['req.headers.authorization', 'headers.authorization', 'authorization'],
      // JSON lines for machines; readable lines only when a person watches a terminal.
      ...(process.stdout.isTTY ? { transport: { target: 'pino-pretty' } } : {}),
    },
    // One log line per request, written by the request-log plugin with the job id.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: MAX_BODY_BYTES,
    // The whole request, body included, within a deadline (Fastify's default of 0 turns off
    // Node's); checked every second, so a slow body is cut within a second of its deadline.
    requestTimeout: config.requestTimeoutMs,
    http: { headersTimeout: config.headersTimeoutMs, connectionsCheckingInterval: 1000 },
    // Requests that arrive while closing are served (polls, the last stream lines); new jobs
    // get the shutting_down problem, not Fastify's own plain 503.
    return503OnClosing: false,
    clientErrorHandler: answerClientError,
    frameworkErrors: answerFrameworkError,
  });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);

  const openRequests = new OpenRequests();
  openRequests.track(app);
  app.decorate('openRequests', openRequests);
  await app.register(problemDetails);
  await app.register(requestLog);
  await app.register(redis, { config });
  await app.register(apiKeys, { config });
  await app.register(backPressure, { config, sampleIntervalMs: overrides.pressureSampleMs });
  const connections = new ConnectionGuard({
    maxConnections:
      config.maxConnections ||
      derivedMaxConnections(
        openFileLimit(() => readFileSync('/proc/self/limits', 'utf8')),
        config.concurrency,
      ),
    maxConnectionsPerClient: config.maxConnectionsPerClient,
    log: app.log,
    onExhausted: (what) => app.load.noteExhaustion(what),
  });
  connections.attach(app.server);
  app.decorate('connections', connections);
  await app.register(jsonBodies, {
    maxBodyBytes: MAX_BODY_BYTES,
    maxPendingBodyBytes: config.maxPendingBodyBytes,
  });
  await app.register(openApi);
  // A CommonJS plugin: its default import is the fastify-plugin wrapped function, which the
  // package's typings describe as a module namespace under NodeNext.
  const ssePlugin = sse as unknown as FastifyPluginAsync<SSEPluginOptions>;
  await app.register(ssePlugin, { heartbeatInterval: overrides.sseHeartbeatMs ?? 15_000 });
  app.decorate('streams', new StreamSlots(config.maxStreams, config.maxStreamsPerCaller));
  await app.register(metrics, { role: config.redis === null ? null : config.role });
  await app.register(jobs, {
    config,
    resolver: overrides.resolver,
    limits: overrides.limits,
    store: overrides.store,
    orphanSweep: overrides.orphanSweep,
  });
  await app.register(rateLimits, { config });
  await app.register(healthRoutes);
  // A worker serves health, metrics and its own loop; jobs are taken by the API processes.
  if (config.role !== 'worker') await app.register(jobRoutes, { config });
  await app.register(loopRoutes);
  if (config.role !== 'worker') await app.register(webPage, { root: overrides.webRoot });

  // Last, so that it sees each response as it leaves, after every other onSend hook.
  const observe = overrides.onSend;
  if (observe !== undefined) {
    app.addHook('onSend', async (request, reply, payload) => {
      observe(request, reply, payload);
      return payload;
    });
  }
  await app.ready();
  return app;
}
