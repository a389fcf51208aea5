// The HTTP/2 bench's TLS target as a bench process: a self-signed P-256 certificate made with
// openssl into the run's state dir, bench/shared/h2-target-server.js started through ChildSet,
// and its served-request counts read over stdin before and after each run.
import { type ChildProcess, spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import { z } from 'zod';
import { type ChildSet, readyPort } from './bench-processes.js';

const countsWithinMs = 5_000;

const H2TargetCounts = z.object({
  tlsConnections: z.number(),
  tlsErrors: z.number(),
  h2Sessions: z.number(),
  h2Requests: z.number(),
  h1Requests: z.number(),
});
export type H2TargetCounts = z.infer<typeof H2TargetCounts>;

export interface SelfSignedCertificate {
  readonly cert: string;
  readonly key: string;
}

/**
 * A P-256 key and a self-signed certificate for 127.0.0.1, valid two days, written into
 * `stateDir` (the clients do not verify it: `-k`, `tlsVerify: false`).
 */
export function makeSelfSignedCertificate(stateDir: string): SelfSignedCertificate {
  const cert = path.join(stateDir, 'h2-target.cert.pem');
  const key = path.join(stateDir, 'h2-target.key.pem');
  const made = spawnSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      key,
      '-out',
      cert,
      '-days',
      '2',
      '-subj',
      '/CN=headprobe-bench',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
    ],
    { encoding: 'utf8', timeout: 30_000 },
  );
  if (made.status !== 0) {
    throw new Error(`openssl could not make the target's certificate: ${made.stderr ?? ''}`);
  }
  return { cert, key };
}

export class H2Target {
  readonly #child: ChildProcess;
  readonly #waiting: ((json: string) => void)[] = [];

  constructor(
    child: ChildProcess,
    readonly pid: number,
    readonly port: number,
  ) {
    this.#child = child;
    if (child.stdout) {
      createInterface({ input: child.stdout }).on('line', (line) => {
        if (line.startsWith('counts ')) this.#waiting.shift()?.(line.slice('counts '.length));
      });
    }
  }

  /** The target's counts so far; it answers requests in order, one line each. */
  counts(): Promise<H2TargetCounts> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`h2 target gave no counts within ${countsWithinMs} ms`)),
        countsWithinMs,
      );
      this.#waiting.push((json) => {
        clearTimeout(timer);
        try {
          resolve(H2TargetCounts.parse(JSON.parse(json)));
        } catch (err) {
          reject(err);
        }
      });
      this.#child.stdin?.write('counts\n');
    });
  }

  /** Runs `work` and returns what the target served meanwhile (after − before) beside it. */
  async during<T>(work: () => Promise<T>): Promise<{ result: T; served: H2TargetCounts }> {
    const before = await this.counts();
    const result = await work();
    const after = await this.counts();
    const served = H2TargetCounts.parse(
      Object.fromEntries(
        Object.entries(after).map(([key, count]) => [
          key,
          count - before[key as keyof H2TargetCounts],
        ]),
      ),
    );
    return { result, served };
  }
}

/** Starts the target on 0.0.0.0 with `certificate`; resolves once it prints `ready PORT`. */
export async function startH2Target(
  children: ChildSet,
  script: string,
  certificate: SelfSignedCertificate,
  maxSeconds: number,
): Promise<H2Target> {
  const child = children.spawn(
    process.execPath,
    [
      script,
      '--cert',
      certificate.cert,
      '--key',
      certificate.key,
      '--max-seconds',
      String(maxSeconds),
      '--watch-stdin',
    ],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  const port = await readyPort(child, 'h2 target');
  if (child.pid === undefined) throw new Error('h2 target has no pid');
  return new H2Target(child, child.pid, port);
}
