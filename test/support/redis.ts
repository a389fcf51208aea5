// The Redis the tests use: HEADPROBE_TEST_REDIS_URL, else this machine's 127.0.0.1:6379.
// CI (.ci/run) makes sure one answers and sets HEADPROBE_TEST_REDIS_REQUIRED=1, so there a
// missing Redis fails the suite; elsewhere the Redis tests skip with a visible message.
// Every test works under a key prefix of its own and deletes what it made.
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';

export const testRedisUrl = process.env.HEADPROBE_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const required = process.env.HEADPROBE_TEST_REDIS_REQUIRED === '1';

/** Connects without retrying: a test wants to know now whether Redis is there. */
export function connectTestRedis(): Redis {
  return new Redis(testRedisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
}

/** True when the test Redis answers PING; throws instead where CI requires it. */
export async function testRedisAvailable(): Promise<boolean> {
  const probe = new Redis(testRedisUrl, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  probe.on('error', () => {});
  try {
    await probe.connect();
    await probe.ping();
    return true;
  } catch (error) {
    if (required) throw new Error(`Redis at ${testRedisUrl} is required here: ${String(error)}`);
    console.warn(`skipping the Redis tests: no Redis at ${testRedisUrl} (${String(error)})`);
    return false;
  } finally {
    probe.disconnect();
  }
}

/** A prefix no other test uses. */
export function testPrefix(): string {
  return `headprobe-test:${randomUUID()}:`;
}

/** Deletes every key under each prefix, on a connection of its own. */
export async function deletePrefixes(prefixes: readonly string[]): Promise<void> {
  const redis = connectTestRedis();
  await redis.connect();
  try {
    for (const prefix of prefixes) await deleteKeys(redis, prefix);
  } finally {
    redis.disconnect();
  }
}

/** Deletes every key under `prefix`. */
export async function deleteKeys(redis: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) await redis.del(...keys);
  } while (cursor !== '0');
}
