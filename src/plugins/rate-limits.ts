// The per-caller target budget (HEADPROBE_RATE_LIMIT_TARGETS_PER_MIN) as a service on the
// instance, built once like the other services rather than inside a route plugin.
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { Config } from '../config.js';
import { limiterFactory } from '../policy/limiters.js';
import { TargetRateLimit } from '../policy/target-rate-limit.js';

declare module 'fastify' {
  interface FastifyInstance {
    targetRateLimit: TargetRateLimit;
  }
}

async function rateLimitsPlugin(app: FastifyInstance, { config }: { config: Config }) {
  const shared = app.redis === null ? null : { redis: app.redis.redis, prefix: app.redis.prefix };
  app.decorate(
    'targetRateLimit',
    new TargetRateLimit(config.rateLimitTargetsPerMin, limiterFactory(shared)),
  );
}

export default fp(rateLimitsPlugin, { name: 'rate-limits', dependencies: ['redis'] });
