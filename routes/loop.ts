// GET /v1/loop: the shared scheduler's live state — targets in flight and queued, globally and
// per job (the caller's own jobs; other callers' only as totals), the caps, targets waiting
// for their destination, the resolver, and how the event loop is doing.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { acceptsAny, NotAcceptableError } from '../src/http/accept.js';
import { LoopState } from '../src/schemas/loop.js';
import { Problem } from '../src/schemas/problem.js';

const loopRoutes: FastifyPluginAsyncZod = async (app) => {
  app.addHook('onRequest', async (request) => {
    if (!acceptsAny(request.headers.accept, ['application/json'])) {
      throw new NotAcceptableError(['application/json']);
    }
  });
  app.get(
    '/v1/loop',
    {
      schema: {
        tags: ['loop'],
        summary: 'The shared loop: in-flight and queued targets, caps, event-loop delay',
        response: { 200: LoopState, 401: Problem },
      },
    },
    async (request) => {
      const dns = app.jobRunner.dnsStats();
      const queue = (await app.jobQueue?.depth()) ?? null;
      // Hosts and process ids are the operator's business.
      const workers =
        app.workerRegistry === null || !request.seesEveryJob
          ? null
          : await app.workerRegistry.list().then(
              (list) => list.map((w) => ({ ...w, seenAt: new Date(w.seenAt).toISOString() })),
              () => null,
            );
      const { jobs, ...loop } = app.jobRunner.snapshot();
      const visible = (owner: string | null) => request.seesEveryJob || owner === request.owner;
      const others = jobs.filter((job) => !visible(job.owner));
      return {
        ...loop,
        queue,
        workers,
        jobs: jobs.filter((job) => visible(job.owner)).map(({ owner, ...job }) => job),
        otherCallersJobs: {
          jobs: others.length,
          running: others.reduce((sum, job) => sum + job.running, 0),
          queued: others.reduce((sum, job) => sum + job.queued, 0),
        },
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
