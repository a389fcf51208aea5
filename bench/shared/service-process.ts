// The headprobe service as a bench subject: started as `node dist/src/server.js` in its own
// process (through ChildSet, so it is ended by PID), found on its ephemeral port, measured
// from /proc (CPU seconds, peak RSS with a per-scenario reset) and stopped by PID.
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { readdir, readFile, readlink, writeFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ChildSet } from './bench-processes.js';

const readyWithinMs = 15_000;
const pollMs = 50;
const stopGraceMs = 5_000;

/** The settings every service run uses: loopback opted in, no caps that a bench would hit. */
export function serviceEnvironment(concurrency: number): Record<string, string> {
  return {
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    HEADPROBE_ALLOW_CIDRS: '127.0.0.0/8',
    HEADPROBE_CONCURRENCY: String(concurrency),
    // The bench is one caller and compares against peers at the same C: the whole cap is its
    // (a service shared by callers keeps 10% free for the others by default).
    HEADPROBE_CONCURRENCY_PER_CALLER: String(concurrency),
    HEADPROBE_MAX_TARGETS: '100000',
    HEADPROBE_MAX_QUEUED_TARGETS: '1000000',
    HEADPROBE_MAX_QUEUED_TARGETS_PER_KEY: '1000000',
    HEADPROBE_RATE_LIMIT_TARGETS_PER_MIN: '0',
    HEADPROBE_MAX_EVENT_LOOP_DELAY_MS: '0',
    HEADPROBE_INLINE_RESULTS: '0',
    // Scenario 2 follows 20 jobs at once, over the default 16 streams per caller.
    HEADPROBE_MAX_STREAMS_PER_CALLER: '1000',
  };
}

export interface ServiceProcess {
  readonly pid: number;
  readonly port: number;
  readonly child: ChildProcess;
}

const listeningLine = /Server listening at http:\/\/127\.0\.0\.1:(\d+)/;

/**
 * The port of a socket the process listens on, from /proc: its socket inodes matched against
 * the LISTEN (state 0A) rows of /proc/PID/net/tcp. Needed because at LOG_LEVEL=warn Fastify's
 * "Server listening at" (an info line) is never printed.
 */
async function listeningPortFromProc(pid: number): Promise<number | undefined> {
  const inodes = new Set<string>();
  for (const fd of await readdir(`/proc/${pid}/fd`).catch(() => [])) {
    const target = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '');
    const match = /^socket:\[(\d+)\]$/.exec(target);
    if (match?.[1]) inodes.add(match[1]);
  }
  const table = await readFile(`/proc/${pid}/net/tcp`, 'utf8').catch(() => '');
  for (const row of table.split('\n').slice(1)) {
    const cells = row.trim().split(/\s+/);
    const [, local, , state] = cells;
    const inode = cells[9];
    if (state !== '0A' || inode === undefined || !inodes.has(inode) || local === undefined) {
      continue;
    }
    return Number.parseInt(local.split(':')[1] ?? '', 16);
  }
  return undefined;
}

/** The node flags of `npm start` and the Dockerfile, plus SERVICE_NODE_FLAGS (e.g. --cpu-prof). */
export function serviceNodeFlags(): string[] {
  return ['--min-semi-space-size=8', ...(process.env.SERVICE_NODE_FLAGS ?? '').split(' ')].filter(
    Boolean,
  );
}

/** Starts the service, finds its port (log line or /proc) and waits for /livez to answer. */
export async function startService(
  children: ChildSet,
  root: string,
  environment: Record<string, string>,
  logPrefix: string,
  /** `ulimit -n` for the service (through bash); the caller's limit when absent. */
  fileLimit?: number,
): Promise<ServiceProcess> {
  const node = [process.execPath, ...serviceNodeFlags(), 'dist/src/server.js'];
  const [command, ...args] =
    fileLimit === undefined
      ? node
      : ['bash', '-c', `ulimit -n ${fileLimit} && exec "$@"`, 'bash', ...node];
  // Only the variables above: a stray HEADPROBE_API_KEYS in the caller's shell must not apply.
  const child = children.spawn(command!, args, {
    cwd: root,
    env: environment,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const stdoutLog = createWriteStream(`${logPrefix}.stdout`);
  const stderrLog = createWriteStream(`${logPrefix}.stderr`);
  let seen = '';
  let exited: string | undefined;
  child.stdout?.on('data', (chunk: Buffer) => {
    stdoutLog.write(chunk);
    if (seen.length < 64 * 1024) seen += chunk.toString();
  });
  child.stderr?.pipe(stderrLog);
  child.once('exit', (code, signal) => {
    exited = `code ${code}, signal ${signal}`;
    stdoutLog.end();
  });
  child.once('error', (err) => {
    exited = err.message;
  });

  const deadline = performance.now() + readyWithinMs;
  let port: number | undefined;
  while (port === undefined && performance.now() < deadline && exited === undefined) {
    const logged = listeningLine.exec(seen)?.[1];
    port = logged === undefined ? undefined : Number(logged);
    if (port === undefined && child.pid !== undefined) {
      port = await listeningPortFromProc(child.pid);
    }
    if (port === undefined) await sleep(pollMs);
  }
  if (exited !== undefined) throw new Error(`service exited (${exited}) before listening`);
  if (port === undefined || child.pid === undefined) {
    await stopService(child);
    throw new Error(`service not listening within ${readyWithinMs / 1000} s`);
  }
  while (performance.now() < deadline) {
    const live = await fetch(`http://127.0.0.1:${port}/livez`, {
      signal: AbortSignal.timeout(1000),
    }).catch(() => undefined);
    if (live?.ok) return { pid: child.pid, port, child };
    await sleep(pollMs);
  }
  await stopService(child);
  throw new Error(`service on port ${port} did not answer /livez within ${readyWithinMs / 1000} s`);
}

/** SIGTERM by PID (the service drains), SIGKILL after a grace period. */
export async function stopService(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), stopGraceMs);
  await exited;
  clearTimeout(timer);
}

async function statusKb(pid: number, field: 'VmHWM' | 'VmRSS'): Promise<number | undefined> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
  return match?.[1] === undefined ? undefined : Number(match[1]);
}

/** Peak resident set since start or the last resetPeakRss, in kB. */
export function peakRssKb(pid: number): Promise<number | undefined> {
  return statusKb(pid, 'VmHWM');
}

/**
 * `echo 5 > /proc/PID/clear_refs` sets VmHWM back to the current RSS (Linux ≥ 4.0), so one
 * service can report a peak per scenario. Returns false when the kernel did not reset it.
 */
export async function resetPeakRss(pid: number): Promise<boolean> {
  try {
    await writeFile(`/proc/${pid}/clear_refs`, '5');
  } catch {
    return false;
  }
  const [peak, current] = await Promise.all([statusKb(pid, 'VmHWM'), statusKb(pid, 'VmRSS')]);
  // The process keeps running between the two reads, so allow a little growth.
  return peak !== undefined && current !== undefined && peak <= current + 1024;
}
