// The rate limiters' counters: in the process's memory, or in Redis when the processes share
// one (HEADPROBE_REDIS_URL), so N API processes enforce one limit, not N.

import {
  type RateLimiterAbstract,
  RateLimiterMemory,
  RateLimiterRedis,
} from 'rate-limiter-flexible';
import type { RedisClient } from '../jobs/redis-client.js';

export interface LimiterSpec {
  /** What the counters are of, e.g. `targets`: part of their Redis keys. */
  readonly name: string;
  readonly points: number;
  readonly durationS: number;
}

export interface LimiterStore {
  readonly redis: RedisClient;
  /** HEADPROBE_REDIS_PREFIX. */
  readonly prefix: string;
}

export type MakeLimiter = (spec: LimiterSpec) => RateLimiterAbstract;

export function limiterFactory(store: LimiterStore | null): MakeLimiter {
  return ({ name, points, durationS }) =>
    store === null
      ? new RateLimiterMemory({ points, duration: durationS })
      : new RateLimiterRedis({
          storeClient: store.redis,
          keyPrefix: `${store.prefix}limit:${name}`,
          points,
          duration: durationS,
        });
}
