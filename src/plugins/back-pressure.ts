// Back-pressure: when the process is saturated (event-loop delay, heap, RSS), new jobs get
// 503 + Retry-After while running jobs, polls and streams go on.
import underPressure from '@fastify/under-pressure';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { Config } from '../config.js';
import { OverloadedError } from '../policy/caller-errors.js';

export interface BackPressureOptions {
  readonly config: Config;
  /** How often load is sampled (tests sample fast). */
  readonly sampleIntervalMs?: number;
}

async function backPressurePlugin(
  app: FastifyInstance,
  { config, sampleIntervalMs }: BackPressureOptions,
) {
  await app.register(underPressure, {
    sampleInterval: sampleIntervalMs ?? 1000,
    maxEventLoopDelay: config.maxEventLoopDelayMs,
    maxHeapUsedBytes: config.maxHeapUsedBytes,
    maxRssBytes: config.maxRssBytes,
    exposeStatusRoute: false,
    // Only new work is refused; returning nothing lets every other request through.
    pressureHandler: (request, _reply, type) => {
      // The matched route, not the raw URL, which may be percent-encoded.
      if (request.method === 'POST' && request.routeOptions.url === '/v1/jobs') {
        // A rejection goes to the error handler, which answers 503 problem + Retry-After.
        return Promise.reject(new OverloadedError(type));
      }
      return undefined;
    },
  });
}

export default fp(backPressurePlugin, { name: 'back-pressure' });
