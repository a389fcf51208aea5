// /livez: the process answers. /readyz: it takes work (false while shutting down or shedding
// load).
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { Liveness, Readiness } from '../src/schemas/health.js';

const healthRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get(
    '/livez',
    { schema: { tags: ['health'], summary: 'The process is up', response: { 200: Liveness } } },
    () => ({ status: 'ok' as const }),
  );

  app.get(
    '/readyz',
    {
      schema: {
        tags: ['health'],
        summary: 'Ready to take jobs',
        response: { 200: Readiness, 503: Readiness },
      },
    },
    async (_request, reply) => {
      if (app.jobSubmissions.draining) {
        reply.header('Retry-After', '5');
        return reply.code(503).send({ status: 'draining' });
      }
      if (!app.jobStoreReachable()) {
        reply.header('Retry-After', '5');
        return reply.code(503).send({ status: 'store_unavailable' });
      }
      if (app.load.pressure() !== null) {
        reply.header('Retry-After', '5');
        return reply.code(503).send({ status: 'overloaded' });
      }
      return { status: 'ready' as const };
    },
  );
};

export default healthRoutes;
