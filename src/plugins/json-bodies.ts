// JSON request bodies, read by src/http/body-reader.ts (bounded memory per pending body and
// across them) and parsed by Fastify's own prototype-poisoning-safe JSON parser.
import type { IncomingMessage } from 'node:http';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { type BodyLimits, PendingBodyBudget, readBody } from '../http/body-reader.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** Bytes held by request bodies still being read (for /metrics). */
    pendingBodies: PendingBodyBudget;
  }
}

export interface JsonBodiesOptions {
  readonly maxBodyBytes: number;
  readonly maxPendingBodyBytes: number;
}

async function jsonBodiesPlugin(app: FastifyInstance, options: JsonBodiesOptions) {
  const limits: BodyLimits = {
    maxBytes: options.maxBodyBytes,
    budget: new PendingBodyBudget(options.maxPendingBodyBytes, options.maxBodyBytes),
  };
  app.decorate('pendingBodies', limits.budget);
  const parseJson = app.getDefaultJsonParser('error', 'error');
  // JSON is the only body the API takes; Fastify's text/plain parser would buffer chunk by
  // chunk, outside the budget, before the schema refused it. Anything else is 415 at once.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', (request, payload, done) => {
    readBody(payload as IncomingMessage, limits).then(
      // Invalid UTF-8 becomes U+FFFD here; the schemas refuse it where it matters (targets).
      (body) => parseJson(request, body.toString('utf8'), done),
      (error: Error) => done(error, undefined),
    );
  });
}

export default fp(jsonBodiesPlugin, { name: 'json-bodies' });
