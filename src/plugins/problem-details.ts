// The one error handler: every error leaves as RFC 9457 application/problem+json with a
// stable `code`. Validation failures name their fields; a 5xx never carries internals.
import { STATUS_CODES } from 'node:http';
import type { FastifyError, FastifyInstance, FastifyReply } from 'fastify';
import fp from 'fastify-plugin';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { ServiceError } from '../errors.js';
import type { Problem } from '../schemas/problem.js';

const PROBLEM_TYPE_BASE = 'https://headprobe.dev/problems/';

export function sendProblem(reply: FastifyReply, problem: Omit<Problem, 'type'>): FastifyReply {
  return reply
    .code(problem.status)
    .type('application/problem+json')
    .send({ type: `${PROBLEM_TYPE_BASE}${problem.code}`, ...problem });
}

async function problemDetailsPlugin(app: FastifyInstance) {
  app.setNotFoundHandler((request, reply) =>
    sendProblem(reply, {
      status: 404,
      title: 'Not Found',
      code: 'not_found',
      detail: `No route for ${request.method} ${request.url.split('?')[0]}`,
    }),
  );

  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (error instanceof ServiceError) {
      if (error.retryAfterS !== undefined) reply.header('Retry-After', String(error.retryAfterS));
      return sendProblem(reply, {
        status: error.statusCode,
        title: STATUS_CODES[error.statusCode] ?? 'Error',
        code: error.code,
        detail: error.message,
      });
    }
    if (hasZodFastifySchemaValidationErrors(error)) {
      return sendProblem(reply, {
        status: 400,
        title: 'Bad Request',
        code: 'validation_failed',
        detail: 'The request does not match the schema.',
        errors: error.validation.map((issue) => ({
          // instancePath is "/options/timeoutMs"; report it as "body.options.timeoutMs".
          field: [error.validationContext, ...issue.instancePath.split('/').filter(Boolean)].join(
            '.',
          ),
          message: issue.message ?? 'invalid',
        })),
      });
    }
    const status = error.statusCode ?? 500;
    if (status >= 500) {
      request.log.error({ err: error }, 'unhandled error');
      return sendProblem(reply, {
        status: 500,
        title: 'Internal Server Error',
        code: 'internal_error',
      });
    }
    // Fastify's own 4xx errors (bad JSON, body too large, wrong media type) keep their code.
    return sendProblem(reply, {
      status,
      title: error.name,
      code: (error.code ?? 'bad_request').toLowerCase(),
      detail: error.message,
    });
  });
}

export default fp(problemDetailsPlugin, { name: 'problem-details' });
