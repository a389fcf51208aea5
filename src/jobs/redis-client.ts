// One Redis client of the kind the settings ask for: a single server (HEADPROBE_REDIS_URL), or
// a Redis Cluster reached through that URL as its seed node (HEADPROBE_REDIS_CLUSTER), whose
// other nodes the client discovers and follows through resharding and failover. The store,
// the queue and the limiters take either: each of their commands and scripts touches the keys
// of one slot.
import { Cluster, Redis, type RedisOptions } from 'ioredis';

export type RedisClient = Redis | Cluster;

export interface RedisTarget {
  readonly url: string;
  /** The URL names one node of a Redis Cluster. */
  readonly cluster: boolean;
}

export interface RedisClientOptions extends RedisOptions {
  readonly enableAutoPipelining?: boolean;
}

/** A client for `target`; on a Cluster, `options` apply to every node it connects to. */
export function createRedisClient(target: RedisTarget, options: RedisClientOptions): RedisClient {
  if (!target.cluster) return new Redis(target.url, options);
  const seed = new URL(target.url);
  const { lazyConnect, enableOfflineQueue, enableAutoPipelining, retryStrategy, ...perNode } =
    options;
  return new Cluster(
    [{ host: seed.hostname.replace(/^\[(.*)\]$/, '$1'), port: Number(seed.port || 6379) }],
    {
      lazyConnect,
      enableOfflineQueue,
      enableAutoPipelining,
      clusterRetryStrategy: retryStrategy,
      // The seed's credentials and TLS hold for the nodes found through it (one database: 0).
      redisOptions: {
        ...perNode,
        username: decodeURIComponent(seed.username) || undefined,
        password: decodeURIComponent(seed.password) || undefined,
        tls: seed.protocol === 'rediss:' ? {} : undefined,
      },
    },
  );
}

/** The servers whose settings matter: the one server, or every master of the Cluster. */
export function primaries(client: RedisClient): Redis[] {
  return client instanceof Cluster ? client.nodes('master') : [client];
}
