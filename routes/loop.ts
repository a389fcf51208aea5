// GET /v1/loop: the shared scheduler's live state — targets in flight and queued, globally and
// per job, the caps, targets waiting for their destination, the resolver, and how the event
// loop is doing.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { LoopState } from '../src/schemas/loop.js';
import { Problem } from '../src/schemas/problem.js';

const loopRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get(
    '/v1/loop',
    {
      schema: {
        tags: ['loop'],
        summary: 'The shared loop: in-flight and queued targets, caps, event-loop delay',
        response: { 200: LoopState, 401: Problem },
      },
    },
    () => {
      const dns = app.jobs.resolver.stats?.();
      return {
        ...app.jobs.scheduler.snapshot(),
        dns:
          dns === undefined
            ? null
            : {
                queriesInFlight: dns.queriesInFlight,
                queriesWaiting: dns.queriesWaiting,
                cacheEntries: dns.cacheEntries,
              },
      };
    },
  );
};

export default loopRoutes;
