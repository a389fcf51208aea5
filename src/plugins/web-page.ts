// The results page (web/, built into dist/web by `npm run build`): its HTML at / and at
// /jobs/{id} (a job's shareable URL, reload-safe), its hashed assets under /assets/, beside
// the API and outside its contract (hidden from the OpenAPI document). The page loads nothing
// but its own files and talks to nothing but this service, and its CSP says exactly that.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply } from 'fastify';
import fp from 'fastify-plugin';

export interface WebPageOptions {
  /** The built page; absent: dist/web of this checkout or image. */
  readonly root?: string;
}

export const PAGE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/**
 * dist/web, seen from src/plugins (tsx) or from dist/src/plugins (compiled). A built page
 * has assets/; the source web/ (which tsx would reach as ../../web) has none.
 */
function builtPage(): string | null {
  for (const up of ['../../dist/web', '../../web']) {
    const dir = fileURLToPath(new URL(up, import.meta.url));
    if (existsSync(join(dir, 'index.html')) && existsSync(join(dir, 'assets'))) return dir;
  }
  return null;
}

async function webPage(app: FastifyInstance, options: WebPageOptions) {
  const root = options.root ?? builtPage();
  if (root === null) {
    app.log.warn('the results page is not built (npm run build): / answers 404');
    return;
  }
  const html = readFileSync(join(root, 'index.html'));
  await app.register(fastifyStatic, {
    root: join(root, 'assets'),
    prefix: '/assets/',
    decorateReply: false,
    index: false,
    // File names carry a hash of their content: a new build has new names.
    immutable: true,
    maxAge: '365d',
    schemaHide: true,
  });
  const page = {
    schema: { hide: true },
    handler: async (_request: unknown, reply: FastifyReply) =>
      reply
        .type('text/html; charset=utf-8')
        .header('Content-Security-Policy', PAGE_CSP)
        .header('X-Content-Type-Options', 'nosniff')
        .header('Referrer-Policy', 'no-referrer')
        .header('Cache-Control', 'no-cache')
        .send(html),
  };
  app.get('/', page);
  app.get('/jobs/:id', page);
}

export default fp(webPage, { name: 'web-page' });
