// API keys: `Authorization: Bearer <key>` on everything under /v1 when HEADPROBE_API_KEYS (or
// HEADPROBE_OPERATOR_KEYS) is set. Keys are held only as SHA-256 hashes and compared in
// constant time; failed attempts are rate-limited per client address. Health, docs and the
// OpenAPI document stay open. A request learns who it is for: its caller (limits, fairness),
// its owner (the key's hash: which jobs it may see), and whether it sees every job (an
// operator key, or an open API).
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { RateLimiterRes } from 'rate-limiter-flexible';
import type { Config } from '../config.js';
import { TooManyAuthFailuresError, UnauthorizedError } from '../policy/caller-errors.js';
import { limiterFactory } from '../policy/limiters.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Who is calling, for per-caller limits and logs: `key:<hash prefix>` or `ip:<address>`. */
    caller: string;
    /** SHA-256 (hex) of the key presented; null when the API is open. */
    owner: string | null;
    /** True for operator keys and when the API is open: every job is visible. */
    seesEveryJob: boolean;
  }
}

function bearerToken(request: FastifyRequest): string | null {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.authorization ?? '');
  return match?.[1] ?? null;
}

async function apiKeysPlugin(app: FastifyInstance, { config }: { config: Config }) {
  app.decorateRequest('caller', '');
  app.decorateRequest('owner', null);
  app.decorateRequest('seesEveryJob', true);
  const operators = new Set(config.operatorKeyHashes);
  const hashes = [...new Set([...config.apiKeyHashes, ...config.operatorKeyHashes])].map((hex) =>
    Buffer.from(hex, 'hex'),
  );
  if (hashes.length === 0) {
    app.log.warn('HEADPROBE_API_KEYS is not set: the API is open to anyone who can reach it');
  }
  const shared = app.redis === null ? null : { redis: app.redis.redis, prefix: app.redis.prefix };
  const failures = limiterFactory(shared)({
    name: 'auth-failures',
    points: config.authFailuresPerMin,
    durationS: 60,
  });

  app.addHook('onRequest', async (request, reply) => {
    request.caller = `ip:${request.ip}`;
    request.owner = null;
    request.seesEveryJob = hashes.length === 0;
    // The route Fastify matched, not the raw URL: `/%761/jobs` is routed to /v1/jobs too.
    const route = request.routeOptions.url;
    if (hashes.length === 0 || route === undefined || !route.startsWith('/v1/')) return;
    const token = bearerToken(request);
    const presented = createHash('sha256')
      .update(token ?? '')
      .digest();
    // Compare against every key, always: the time taken does not tell which one matched.
    let matched: Buffer | null = null;
    for (const hash of hashes)
      if (timingSafeEqual(hash, presented) && matched === null) matched = hash;
    if (token === null || matched === null) {
      // Only failures are throttled: a valid key is never refused because someone else
      // behind the same address (a NAT, a proxy) kept getting theirs wrong. Keys are 16+
      // characters, so guessing stays hopeless at any rate; the throttle keeps logs and CPU
      // from a flood of bad attempts.
      const seen = await failures.get(request.ip);
      if (seen !== null && seen.remainingPoints <= 0) {
        throw new TooManyAuthFailuresError(Math.max(1, Math.ceil(seen.msBeforeNext / 1000)));
      }
      await failures.consume(request.ip).catch((error: unknown) => {
        if (!(error instanceof RateLimiterRes)) throw error;
      });
      reply.header('WWW-Authenticate', 'Bearer realm="headprobe"');
      throw new UnauthorizedError();
    }
    const owner = matched.toString('hex');
    request.caller = `key:${owner.slice(0, 12)}`;
    request.owner = owner;
    request.seesEveryJob = operators.has(owner);
  });
}

export default fp(apiKeysPlugin, { name: 'api-keys', dependencies: ['redis'] });
