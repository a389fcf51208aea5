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
    const child = spawn(
      'redis-server',
      [
        '--port',
        String(this.port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--dir',
        this.#dir,
        ...persistence,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    this.#child = child;
    const ready = new Promise<void>((resolve, reject) => {
      let seen = '';
      child.stdout!.on('data', (chunk: Buffer) => {
        seen += chunk.toString();
        if (seen.includes('Ready to accept connections')) resolve();
      });
      child.once('exit', (code) => reject(new Error(`redis-server exited (${code})`)));
    });
    await ready;
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
    if (child.exitCode === null && child.signalCode === null) {
      const exited = once(child, 'exit');
      child.kill('SIGKILL');
      await exited;
    }
  }
}
