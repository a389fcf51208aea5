// A redis-server of a test's own, for tests that stop and restart Redis: never the machine's.
// Loopback only, on a port found free; start() again brings it back on the same port, empty,
// or, when persistent, with every write it acknowledged (append-only file, fsync always).
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';

/** True when `redis-server` can be run; CI (HEADPROBE_TEST_REDIS_REQUIRED=1) requires it. */
export function redisServerInstalled(): boolean {
  const found = spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;
  if (!found && process.env.HEADPROBE_TEST_REDIS_REQUIRED === '1') {
    throw new Error('redis-server is required here (tests that stop Redis start their own)');
  }
  if (!found) console.warn('skipping the tests that stop Redis: redis-server is not installed');
  return found;
}

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, 'close');
  return port;
}

/** True when nothing listens on `port` of 127.0.0.1 now. */
async function portIsFree(port: number): Promise<boolean> {
  const probe = createServer();
  probe.listen(port, '127.0.0.1');
  const free = await new Promise<boolean>((resolve) => {
    probe.once('listening', () => resolve(true));
    probe.once('error', () => resolve(false));
  });
  if (free) {
    probe.close();
    await once(probe, 'close');
  }
  return free;
}

/**
 * A free port for a cluster node, whose bus port (port + 10000) is free too. Both are taken
 * below the kernel's ephemeral range (from 32768), where the suite's own client sockets
 * cannot take one between this check and redis-server's bind.
 */
async function freeClusterPort(taken: readonly number[]): Promise<number> {
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 2_700);
    if (taken.includes(port)) continue;
    if ((await portIsFree(port)) && (await portIsFree(port + 10_000))) return port;
  }
}

/**
 * Starts `redis-server` on loopback `port` with files in `dir`, resolving once it says it is
 * ready; rejects, with the end of what it printed, if it exits first.
 */
async function spawnRedisServer(
  port: number,
  dir: string,
  extraArgs: readonly string[],
): Promise<ChildProcess> {
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--dir', dir, ...extraArgs],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  await new Promise<void>((resolve, reject) => {
    let seen = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      seen += chunk.toString();
      if (seen.includes('Ready to accept connections')) resolve();
    });
    child.once('exit', (code) => {
      reject(new Error(`redis-server on port ${port} exited (${code}): ${seen.slice(-500)}`));
    });
  });
  return child;
}

/** SIGKILL (no goodbye to its clients), resolving once it has exited. */
async function killRedisServer(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGKILL');
  await exited;
}

export class OwnRedisServer {
  #child: ChildProcess | null = null;
  readonly #dir: string;

  private constructor(
    readonly port: number,
    readonly persistent: boolean,
  ) {
    this.#dir = mkdtempSync(join(tmpdir(), 'headprobe-redis-'));
  }

  static async start(options: { persistent?: boolean } = {}): Promise<OwnRedisServer> {
    const server = new OwnRedisServer(await freePort(), options.persistent ?? false);
    await server.start();
    return server;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Resolves once it answers PING. */
  async start(): Promise<void> {
    if (this.#child !== null) return;
    const persistence = this.persistent
      ? ['--appendonly', 'yes', '--appendfsync', 'always']
      : ['--appendonly', 'no'];
    this.#child = await spawnRedisServer(this.port, this.#dir, persistence);
    const probe = new Redis(this.url, { lazyConnect: true });
    await probe.connect();
    await probe.ping();
    probe.disconnect();
  }

  /** Stops it for good and removes its files. */
  async remove(): Promise<void> {
    await this.stop();
    rmSync(this.#dir, { recursive: true, force: true });
  }

  /** Kills it (SIGKILL: no goodbye to its clients) and resolves once it has exited. */
  async stop(): Promise<void> {
    const child = this.#child;
    if (child === null) return;
    this.#child = null;
    await killRedisServer(child);
  }
}

/**
 * A Redis Cluster of a test's own: three masters (no replicas) on loopback ports found free,
 * the 16,384 slots split between them by `redis-cli --cluster create`. Resolves once every
 * node reports `cluster_state:ok`.
 */
export class OwnRedisCluster {
  readonly #nodes: ChildProcess[] = [];
  readonly #dir = mkdtempSync(join(tmpdir(), 'headprobe-redis-cluster-'));
  readonly ports: number[] = [];

  static async start(masters = 3): Promise<OwnRedisCluster> {
    const cluster = new OwnRedisCluster();
    try {
      await cluster.#start(masters);
    } catch (error) {
      await cluster.remove();
      throw error;
    }
    return cluster;
  }

  /** One node's URL: a client given it finds the others. */
  get url(): string {
    return `redis://127.0.0.1:${this.ports[0]}`;
  }

  async #start(masters: number): Promise<void> {
    for (let i = 0; i < masters; i++) this.ports.push(await freeClusterPort(this.ports));
    await Promise.all(this.ports.map((port) => this.#startNode(port)));
    const created = spawnSync(
      'redis-cli',
      [
        '--cluster',
        'create',
        ...this.ports.map((port) => `127.0.0.1:${port}`),
        '--cluster-replicas',
        '0',
        '--cluster-yes',
      ],
      { encoding: 'utf8' },
    );
    if (created.status !== 0) throw new Error(`redis-cli --cluster create: ${created.stdout}`);
    for (const port of this.ports) {
      const node = new Redis(port, '127.0.0.1', { lazyConnect: true });
      await node.connect();
      try {
        // Slots are assigned at once; every node agreeing on them takes a moment.
        for (let tries = 0; !(await node.cluster('INFO')).includes('cluster_state:ok'); tries++) {
          if (tries === 200) throw new Error(`cluster node ${port} never reached state ok`);
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      } finally {
        node.disconnect();
      }
    }
  }

  async #startNode(port: number): Promise<void> {
    const args = ['--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${port}.conf`];
    this.#nodes.push(await spawnRedisServer(port, this.#dir, [...args, '--appendonly', 'no']));
  }

  /** Stops every node and removes their files. */
  async remove(): Promise<void> {
    await Promise.all(this.#nodes.splice(0).map(killRedisServer));
    rmSync(this.#dir, { recursive: true, force: true });
  }
}
