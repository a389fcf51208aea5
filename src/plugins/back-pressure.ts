// Back-pressure: when the process is saturated (event-loop delay, heap, RSS), new jobs get
// 503 + Retry-After while running jobs, polls and streams go on.
import underPressure from '@fastify/under-pressure';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { Config } from '../config.js';
import { OverloadedError } from '../policy/caller-errors.js';

async function backPressurePlugin(app: FastifyInstance, { config }: { config: Config }) {
  await app.register(underPressure, {
    maxEventLoopDelay: config.maxEventLoopDelayMs,
    maxHeapUsedBytes: config.maxHeapUsedBytes,
    maxRssBytes: config.maxRssBytes,
    exposeStatusRoute: false,
    // Only new work is refused; returning nothing lets every other request through.
    pressureHandler: (request, _reply, type) => {
      if (request.method === 'POST' && request.url.split('?')[0] === '/v1/jobs') {
        throw new OverloadedError(type);
      }
    },
  });
}

export default fp(backPressurePlugin, { name: 'back-pressure' });
