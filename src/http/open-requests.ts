// The requests the server is in the middle of, so that a shutdown can say what it cut.
import type { FastifyInstance } from 'fastify';
import { onResponseDone } from './response-done.js';

const SHOWN_URL_CHARS = 100;

export class OpenRequests {
  readonly #open = new Set<{ method: string; url: string }>();

  /** Counts every request from its head to its response (or its abort). */
  track(app: FastifyInstance): void {
    app.addHook('onRequest', async (request, reply) => {
      const entry = { method: request.method, url: request.url.slice(0, SHOWN_URL_CHARS) };
      this.#open.add(entry);
      onResponseDone(reply.raw, () => this.#open.delete(entry));
    });
  }

  /** `METHOD url` of each request still open, URLs cut short. */
  list(): string[] {
    return [...this.#open].map(({ method, url }) => `${method} ${url}`);
  }
}
