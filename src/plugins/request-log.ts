// One log line per request, when the response is sent: method, URL, status, time, and the
// job id where the request was about one.
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';

async function requestLogPlugin(app: FastifyInstance) {
  app.addHook('onResponse', async (request, reply) => {
    request.log.info(
      {
        method: request.method,
        url: request.url,
        statusCode: reply.statusCode,
        responseTimeMs: Math.round(reply.elapsedTime * 10) / 10,
        jobId: request.jobId ?? undefined,
      },
      'request',
    );
  });
}

export default fp(requestLogPlugin, { name: 'request-log' });
