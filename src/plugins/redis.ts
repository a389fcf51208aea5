// Opens Redis once for the whole app when HEADPROBE_REDIS_URL is set: the job store, the
// queue and the rate limiters all use it, and it closes after everything else has.
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { Config } from '../config.js';
import { openRedisJobStore, type RedisStoreHandle } from '../jobs/redis-connection.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** The shared Redis, or null when jobs live in memory. */
    redis: RedisStoreHandle | null;
  }
}

async function redisPlugin(app: FastifyInstance, { config }: { config: Config }) {
  if (config.redis === null) {
    app.decorate('redis', null);
    return;
  }
  const handle = await openRedisJobStore(
    { ...config.redis, maxJobs: config.maxJobs, retentionMs: config.jobRetentionMs },
    { warn: (message) => app.log.warn(message), info: (message) => app.log.info(message) },
  );
  app.decorate('redis', handle);
  // onClose hooks run after every preClose: the runner has written its last results by then.
  app.addHook('onClose', () => handle.close());
}

export default fp(redisPlugin, { name: 'redis' });
