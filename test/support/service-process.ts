// The service in a child process, for what must be seen from outside: the heap a hostile
// client makes it hold (measured after a forced GC), its behaviour at a low open-file limit,
// and how it ends on SIGTERM. Runs src/server.ts through tsx, so no build is needed; with
// `inspectHeap` it runs test/support/heap-probe-server.ts instead, which answers IPC requests
// for its heap figures.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';

const ROOT = new URL('../..', import.meta.url).pathname;

export interface ServiceProcess {
  readonly child: ChildProcess;
  readonly port: number;
  /** Every log line so far (JSON). */
  readonly logs: string[];
  /** Heap used plus buffer bytes after a full GC, and what pending bodies reserve. */
  heapAfterGc(): Promise<{ heap: number; pendingBodyBytes: number }>;
  /** Resolves with the exit code and how long after `signal()` the process took to exit. */
  stop(signal?: NodeJS.Signals): Promise<{ code: number | null; ms: number }>;
}

export interface ServiceProcessOptions {
  readonly env?: NodeJS.ProcessEnv;
  /** `ulimit -n` for the child. */
  readonly fileLimit?: number;
  readonly inspectHeap?: boolean;
}

/**
 * The port the service logs "Server listening at http://127.0.0.1:PORT" for; every stdout
 * line goes to `logs` as it comes, before and after. Rejects if the process exits first.
 */
export function listeningPort(child: ChildProcess, logs: string[], what: string): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    let pending = '';
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (chunk: string) => {
      pending += chunk;
      const lines = pending.split('\n');
      pending = lines.pop()!;
      for (const line of lines) {
        logs.push(line);
        const match = /Server listening at http:\/\/127\.0\.0\.1:(\d+)/.exec(line);
        if (match) resolve(Number(match[1]));
      }
    });
    child.once('exit', (code) => reject(new Error(`${what} exited with ${code} at start`)));
  });
}

export async function startServiceProcess(
  options: ServiceProcessOptions = {},
): Promise<ServiceProcess> {
  const entry = options.inspectHeap ? 'test/support/heap-probe-server.ts' : 'src/server.ts';
  const node = [process.execPath, '--expose-gc', '--import', 'tsx', entry];
  const command =
    options.fileLimit === undefined
      ? node
      : ['bash', '-c', `ulimit -n ${options.fileLimit} && exec "$@"`, 'bash', ...node];
  const child = spawn(command[0]!, command.slice(1), {
    cwd: ROOT,
    env: {
      ...process.env,
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      HEADPROBE_ALLOW_CIDRS: '127.0.0.0/8',
      HEADPROBE_DNS_SERVERS: '127.0.0.1:9',
      ...options.env,
    },
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
  });
  const logs: string[] = [];
  const port = await listeningPort(child, logs, 'the service');

  return {
    child,
    port,
    logs,
    async heapAfterGc() {
      child.send('heap');
      const [figures] = (await once(child, 'message')) as [
        { heap: number; pendingBodyBytes: number },
      ];
      return figures;
    },
    async stop(signal = 'SIGTERM') {
      // Already gone (killed by the test, say): there is no exit left to wait for.
      if (child.exitCode !== null || child.signalCode !== null) {
        return { code: child.exitCode, ms: 0 };
      }
      const started = Date.now();
      const exited = once(child, 'exit') as Promise<[number | null]>;
      child.kill(signal);
      const [code] = await exited;
      return { code, ms: Date.now() - started };
    },
  };
}
