// The names scenario's network namespace: a fresh one with only loopback up and a resolv.conf
// (`ip netns exec` bind-mounts /etc/netns/NAME/resolv.conf over /etc/resolv.conf) naming the
// bench's DNS server on 127.0.0.1, so the service, curl and Python all resolve through it with
// their default settings. The bench re-runs itself inside it, so every process it starts and
// its own HTTP client share that loopback; the namespace and its /etc/netns folder are removed
// however the run ends.
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const netnsEtc = '/etc/netns';
/** Time the inner bench gets to stop its own children after a forwarded signal. */
const innerStopGraceMs = 20_000;

function ip(args: string[]): { ok: boolean; output: string } {
  const run = spawnSync('ip', args, { encoding: 'utf8', timeout: 10_000 });
  return { ok: run.status === 0, output: `${run.stdout ?? ''}${run.stderr ?? ''}`.trim() };
}

/** Why no namespace can be made here, or undefined when it can be tried. */
export function benchNamespaceUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root (ip netns add, a DNS server on port 53)';
  const list = ip(['netns', 'list']);
  if (!list.ok) return `\`ip netns\` unavailable: ${list.output || 'ip not found'}`;
  return undefined;
}

/** Removes the namespace, its /etc/netns folder (and /etc/netns if this made it and it is empty). */
function deleteBenchNamespace(name: string, madeEtc: boolean, log: (line: string) => void): void {
  // A process left inside (it should not be: every child is ended by PID) would keep the
  // namespace alive after its name is gone.
  const left = ip(['netns', 'pids', name]);
  for (const pid of left.ok ? left.output.split(/\s+/).filter(Boolean).map(Number) : []) {
    log(`netns ${name}: killing leftover pid ${pid}`);
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Gone meanwhile.
    }
  }
  const removed = ip(['netns', 'del', name]);
  if (!removed.ok && !/No such file/.test(removed.output)) {
    log(`netns ${name}: ip netns del failed: ${removed.output}`);
  }
  rmSync(path.join(netnsEtc, name), { recursive: true, force: true });
  if (madeEtc) {
    try {
      rmdirSync(netnsEtc);
    } catch {
      // Not empty: another namespace's files are there now.
    }
  }
}

/** Creates the namespace; throws (having removed what it made) if any step fails. */
function createBenchNamespace(name: string): { madeEtc: boolean } {
  const madeEtc = !existsSync(netnsEtc);
  try {
    for (const step of [
      ['netns', 'add', name],
      ['-n', name, 'link', 'set', 'lo', 'up'],
    ]) {
      const run = ip(step);
      if (!run.ok) throw new Error(`ip ${step.join(' ')}: ${run.output}`);
    }
    mkdirSync(path.join(netnsEtc, name), { recursive: true });
    writeFileSync(
      path.join(netnsEtc, name, 'resolv.conf'),
      "# headprobe service bench: the names scenario's DNS server\nnameserver 127.0.0.1\n",
    );
  } catch (err) {
    deleteBenchNamespace(name, madeEtc, () => {});
    throw err;
  }
  return { madeEtc };
}

export type NamespaceOutcome = { exitCode: number } | { skipped: string };

/**
 * Runs `node script ...argv --netns NAME` inside a fresh namespace and returns its exit code,
 * or why the namespace could not be made (the caller then runs without the names scenario).
 * SIGINT/SIGTERM are passed on to the inner bench, which stops its children; the namespace
 * goes once it has exited, or at this process's exit whatever happened.
 */
export async function runInBenchNamespace(
  script: string,
  argv: readonly string[],
  maxSeconds: number,
  log: (line: string) => void,
): Promise<NamespaceOutcome> {
  const unavailable = benchNamespaceUnavailable();
  if (unavailable !== undefined) return { skipped: unavailable };
  const name = `headprobe-bench-${process.pid}`;
  let made: { madeEtc: boolean };
  try {
    made = createBenchNamespace(name);
  } catch (err) {
    return { skipped: `could not create network namespace ${name}: ${(err as Error).message}` };
  }
  let cleaned = false;
  const cleanup = () => {
    if (cleaned) return;
    cleaned = true;
    deleteBenchNamespace(name, made.madeEtc, log);
  };
  process.once('exit', cleanup);
  log(`names: running the bench inside network namespace ${name} (lo, resolv.conf → 127.0.0.1)`);

  const child = spawn(
    'ip',
    [
      'netns',
      'exec',
      name,
      process.execPath,
      ...process.execArgv,
      script,
      ...argv,
      '--netns',
      name,
    ],
    { stdio: 'inherit' },
  );
  let killTimer: NodeJS.Timeout | undefined;
  const forward = (signal: NodeJS.Signals) => {
    log(`bench: ${signal}, stopping the bench inside ${name}`);
    child.kill('SIGTERM');
    killTimer ??= setTimeout(() => child.kill('SIGKILL'), innerStopGraceMs);
  };
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  // The inner bench has its own hard stop at maxSeconds; this only catches a wedged one.
  const backstop = setTimeout(() => forward('SIGTERM'), (maxSeconds + 60) * 1000);
  try {
    const [code, signal] = (await once(child, 'exit')) as [number | null, NodeJS.Signals | null];
    return { exitCode: code ?? 128 + (signal === null ? 0 : os.constants.signals[signal]) };
  } finally {
    clearTimeout(backstop);
    clearTimeout(killTimer);
    process.off('SIGINT', forward);
    process.off('SIGTERM', forward);
    cleanup();
    process.off('exit', cleanup);
  }
}
