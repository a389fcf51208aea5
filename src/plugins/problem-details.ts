// The one error handler: every error leaves as RFC 9457 application/problem+json with a
// stable `code`. Validation failures name their fields; a 5xx never carries internals.
import type { FastifyError, FastifyInstance, FastifyReply } from 'fastify';
import fp from 'fastify-plugin';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { type ProblemCode, problemDefinition, ServiceError } from '../errors.js';
import { PROBLEM_TYPE_BASE, problemJson } from '../http/pre-route-errors.js';
import { isStoreUnavailable } from '../jobs/redis-connection.js';
import type { Problem } from '../schemas/problem.js';

/** Fastify's own 4xx errors, under the catalog's codes (its `FST_ERR_*` names are internal). */
// Details are ours too: Fastify's messages may quote what the client sent.
const FASTIFY_CODES: Record<string, [ProblemCode, string]> = {
  FST_ERR_CTP_INVALID_JSON_BODY: ['invalid_json', 'the body is not valid JSON'],
  FST_ERR_CTP_EMPTY_JSON_BODY: ['invalid_json', 'the body is empty'],
  FST_ERR_CTP_BODY_TOO_LARGE: ['body_too_large', 'the request body is too large'],
  FST_ERR_CTP_INVALID_MEDIA_TYPE: [
    'unsupported_media_type',
    'send the body as Content-Type: application/json',
  ],
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: [
    'malformed_request',
    'the request body does not match its Content-Length',
  ],
};

/** The path, if short: an error never sends a long request back to its sender. */
function quotedPath(url: string): string {
  const path = url.split('?')[0] ?? '';
  return path.length <= 100 ? path : `(a path of ${path.length} characters)`;
}

/** Sends the catalog's problem for `code`; `status` only for one of the code's other statuses. */
export function sendProblem(
  reply: FastifyReply,
  code: ProblemCode,
  fields: Pick<Problem, 'detail' | 'errors'> & { readonly status?: number } = {},
): FastifyReply {
  const { status = problemDefinition(code).status, ...rest } = fields;
  return reply
    .code(status)
    .type('application/problem+json')
    .send({
      type: `${PROBLEM_TYPE_BASE}${code}`,
      title: problemDefinition(code).title,
      status,
      code,
      ...rest,
    });
}

/** Codes for error bodies that plugins write in Fastify's own shape, by status. */
const STRAY_CODES: Record<number, [ProblemCode, string]> = {
  406: ['not_acceptable', 'this resource is only served as text/event-stream'],
  503: ['shutting_down', 'the service is shutting down'],
};

/** `{"statusCode":406,"error":"Not Acceptable",…}`, as plugins answer (e.g. @fastify/sse). */
function isFastifyStyleError(payload: unknown): boolean {
  if (typeof payload !== 'string' || !payload.startsWith('{"statusCode":')) return false;
  try {
    const body = JSON.parse(payload) as { statusCode?: unknown; error?: unknown };
    return typeof body.statusCode === 'number' && typeof body.error === 'string';
  } catch {
    return false;
  }
}

async function problemDetailsPlugin(app: FastifyInstance) {
  // The net under plugins that answer errors themselves: their bodies become problems too.
  app.addHook('onSend', async (_request, reply, payload) => {
    if (reply.statusCode < 400 || !isFastifyStyleError(payload)) return payload;
    const [code, detail] = STRAY_CODES[reply.statusCode] ?? [
      reply.statusCode >= 500 ? 'internal_error' : 'malformed_request',
      'the request cannot be handled',
    ];
    // The catalog's status for the code: a problem's status and its code always agree.
    reply.code(problemDefinition(code).status).type('application/problem+json');
    return problemJson(code, detail);
  });

  app.setNotFoundHandler((request, reply) =>
    sendProblem(reply, 'not_found', {
      detail: `No route for ${request.method} ${quotedPath(request.url)}`,
    }),
  );

  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (error instanceof ServiceError) {
      if (error.retryAfterS !== undefined) reply.header('Retry-After', String(error.retryAfterS));
      return sendProblem(reply, error.code, { status: error.statusCode, detail: error.message });
    }
    if (hasZodFastifySchemaValidationErrors(error)) {
      return sendProblem(reply, 'validation_failed', {
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
    if (isStoreUnavailable(error)) {
      request.log.warn({ err: error }, 'job store unavailable');
      reply.header('Retry-After', String(problemDefinition('store_unavailable').retryAfterS));
      return sendProblem(reply, 'store_unavailable', {
        detail: 'The job store does not answer; retry shortly.',
      });
    }
    const status = error.statusCode ?? 500;
    if (status >= 500) {
      request.log.error({ err: error }, 'unhandled error');
      return sendProblem(reply, 'internal_error');
    }
    // Fastify's own 4xx errors (bad JSON, body too large, wrong media type), in the catalog.
    const [code, detail] = FASTIFY_CODES[error.code] ?? [
      'malformed_request',
      'the request cannot be handled',
    ];
    return sendProblem(reply, code, { detail });
  });
}

export default fp(problemDetailsPlugin, { name: 'problem-details' });
