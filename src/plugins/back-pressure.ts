// Back-pressure: when the process is saturated (event-loop delay, heap, RSS, or a resource
// such as file descriptors ran out), new jobs get 503 + Retry-After and /readyz says so,
// while running jobs, polls and streams go on.
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { Config } from '../config.js';
import { OverloadedError } from '../policy/caller-errors.js';
import { LoadMonitor } from '../policy/load-monitor.js';

const LOG_EVERY_MS = 5_000;

declare module 'fastify' {
  interface FastifyInstance {
    load: LoadMonitor;
  }
}

export interface BackPressureOptions {
  readonly config: Config;
  /** How often load is sampled (tests sample fast). */
  readonly sampleIntervalMs?: number;
}

async function backPressurePlugin(
  app: FastifyInstance,
  { config, sampleIntervalMs }: BackPressureOptions,
) {
  let lastLogged = 0;
  const load = new LoadMonitor({
    maxEventLoopDelayMs: config.maxEventLoopDelayMs,
    maxHeapUsedBytes: config.maxHeapUsedBytes,
    maxRssBytes: config.maxRssBytes,
    sampleIntervalMs: sampleIntervalMs ?? 1000,
    onExhaustion: (what) => {
      const now = Date.now();
      if (now - lastLogged < LOG_EVERY_MS) return;
      lastLogged = now;
      app.log.warn({ what }, 'a resource ran out; refusing new jobs for a few seconds');
    },
  });
  app.decorate('load', load);
  load.start();
  app.addHook('onClose', async () => load.stop());
  // Only new work is refused. The matched route, not the raw URL, which may be percent-encoded.
  app.addHook('onRequest', async (request) => {
    if (request.method !== 'POST' || request.routeOptions.url !== '/v1/jobs') return;
    const why = load.pressure();
    if (why !== null) throw new OverloadedError(why);
  });
}

export default fp(backPressurePlugin, { name: 'back-pressure' });
