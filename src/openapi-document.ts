// The committed OpenAPI file's exact text, shared by `npm run openapi` and the freshness test.
import type { FastifyInstance } from 'fastify';

export function renderOpenApi(app: FastifyInstance): string {
  return `${JSON.stringify(app.swagger(), null, 2)}\n`;
}
