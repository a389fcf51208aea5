// GET /v1/loop: the shared scheduler's live state — targets in flight and queued, globally and
// per job, the caps, and how the event loop is doing.
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
    () => app.jobs.scheduler.snapshot(),
  );
};

export default loopRoutes;
