// Every process the bench starts goes through ChildSet, which remembers its PID and ends
// it by that PID on close or on exit; measured runs go through rusage.py with a deadline.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { z } from 'zod';
import { builtBenchScript } from './bench-env.js';

const killGraceMs = 3000;

export class ChildSet {
  readonly #children = new Set<ChildProcess>();
  #closing: Promise<void> | undefined;

  spawn(command: string, args: string[], options: Parameters<typeof spawn>[2] = {}): ChildProcess {
    if (this.#closing) throw new Error('ChildSet is closed');
    const child = spawn(command, args, options);
    this.#children.add(child);
    child.once('exit', () => this.#children.delete(child));
    child.once('error', () => this.#children.delete(child));
    return child;
  }

  /**
   * Last resort from a synchronous 'exit' handler, where nothing can be awaited: SIGTERM by PID
   * (not SIGKILL, so rusage.py still kills its own child and the target server still exits).
   */
  killNow(): void {
    for (const child of this.#children) {
      if (child.pid !== undefined && child.exitCode === null) {
        try {
          process.kill(child.pid, 'SIGTERM');
        } catch {
          // Already gone between the check and the kill.
        }
      }
    }
  }

  /** SIGTERM each child by PID, SIGKILL after a grace period; idempotent. */
  close(): Promise<void> {
    this.#closing ??= Promise.all(
      [...this.#children].map(async (child) => {
        if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
        const exited = once(child, 'exit');
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), killGraceMs);
        await exited;
        clearTimeout(timer);
      }),
    ).then(() => undefined);
    return this.#closing;
  }
}

export interface TargetServer {
  readonly port: number;
  readonly pid: number;
  readonly delayMs: number;
  /** `node` (bench/shared/target-server.ts) or `c` (bench/shared/precise_target.c). */
  readonly kind: 'node' | 'c';
}

/** Starts bench/shared/target-server as its own process and resolves once it prints `ready PORT`. */
export function startTargetServer(
  children: ChildSet,
  script: string,
  delayMs: number,
  maxSeconds: number,
): Promise<TargetServer> {
  return startTarget(
    children,
    'node',
    process.execPath,
    [script, '--delay-ms', String(delayMs), '--max-seconds', String(maxSeconds), '--watch-stdin'],
    delayMs,
  );
}

/**
 * The delayed target for wait accuracy: bench/shared/precise_target.c, compiled into
 * `stateDir` with the machine's `cc`. At 500 connections the Node target reads requests and
 * fires its timers milliseconds late, and that lateness would be charged to the client under
 * test. Without a C compiler the Node target stands in, and the caller says so.
 */
export async function startDelayedTarget(
  children: ChildSet,
  root: string,
  stateDir: string,
  delayMs: number,
  maxSeconds: number,
): Promise<TargetServer> {
  const binary = compileCProgram(root, stateDir, 'shared/precise_target.c');
  if (binary === undefined) {
    const script = builtBenchScript(root, 'shared/target-server.js');
    return startTargetServer(children, script, delayMs, maxSeconds);
  }
  return startTarget(
    children,
    'c',
    binary,
    ['--delay-ms', String(delayMs), '--max-seconds', String(maxSeconds)],
    delayMs,
  );
}

/**
 * Compiles bench/SOURCE (a `.c` file) into `stateDir` with the machine's `cc -O2`; the binary's
 * path, or undefined when there is no compiler (the caller falls back to its Node twin).
 */
export function compileCProgram(
  root: string,
  stateDir: string,
  source: string,
): string | undefined {
  const binary = path.join(stateDir, path.basename(source, '.c'));
  const sourcePath = path.join(root, 'bench', source);
  const compiled = spawnSync('cc', ['-O2', '-o', binary, sourcePath], { stdio: 'inherit' });
  return compiled.status === 0 ? binary : undefined;
}

/** What the accuracy tables say about the target they were measured against. */
export function describeTarget(target: TargetServer): string {
  return target.kind === 'c'
    ? 'Target: bench/shared/precise_target.c (epoll + timerfd, compiled with cc)'
    : '**Target: the Node target-server (no C compiler found); its own lateness at 500 ' +
        'connections is part of these figures**';
}

async function startTarget(
  children: ChildSet,
  kind: TargetServer['kind'],
  command: string,
  args: string[],
  delayMs: number,
): Promise<TargetServer> {
  const child = children.spawn(command, args, { stdio: ['pipe', 'pipe', 'inherit'] });
  const port = await readyPort(child, 'target server');
  if (child.pid === undefined) throw new Error('target server has no pid');
  return { port, pid: child.pid, delayMs, kind };
}

/**
 * The PORT of the `ready PORT` line a bench server prints once listening (the targets, the
 * DNS server); rejects if it exits first or says nothing within 10 s. Stops reading stdout
 * then, so the caller may take over the rest of it.
 */
export function readyPort(child: ChildProcess, what: string): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    let seen = '';
    const settle = (outcome: () => void) => {
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.off('exit', onExit);
      child.off('error', onError);
      outcome();
    };
    const onData = (chunk: Buffer) => {
      seen += chunk.toString();
      const match = /^ready (\d+)$/m.exec(seen);
      if (match?.[1]) settle(() => resolve(Number(match[1])));
    };
    const onExit = (code: number | null) =>
      settle(() => reject(new Error(`${what} exited (code ${code}) before ready`)));
    const onError = (err: Error) => settle(() => reject(err));
    const timer = setTimeout(
      () => settle(() => reject(new Error(`${what} not ready within 10 s`))),
      10_000,
    );
    child.stdout?.on('data', onData);
    child.once('exit', onExit);
    child.once('error', onError);
  });
}

// USER_HZ, the unit of /proc/<pid>/stat times, is 100 on every mainstream Linux ABI.
const clockTicksPerSecond = 100;

/** CPU seconds (user + sys) a process has used so far, from /proc; undefined off Linux. */
/**
 * The ChildSet of one bench run, stopped however the run ends: normal exit, Ctrl-C/SIGTERM
 * (exit 130), or overrunning `benchMaxS` (exit 2). Clear `hardStop` once the run is done.
 */
export function superviseChildren(
  benchMaxS: number,
  log: (line: string) => void,
): { children: ChildSet; hardStop: NodeJS.Timeout } {
  const children = new ChildSet();
  process.once('exit', () => children.killNow());
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      log(`bench: ${signal}, stopping children`);
      void children.close().finally(() => process.exit(130));
    });
  }
  const hardStop = setTimeout(() => {
    log(`bench: exceeded BENCH_MAX_S=${benchMaxS}, stopping children`);
    void children.close().finally(() => process.exit(2));
  }, benchMaxS * 1000);
  hardStop.unref();
  return { children, hardStop };
}

/** One number per line (blank and non-numeric lines dropped): the --waits files. */
export async function readNumbers(file: string): Promise<number[]> {
  const text = await readFile(file, 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map(Number)
    .filter(Number.isFinite);
}

export function processCpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / clockTicksPerSecond;
  } catch {
    return undefined;
  }
}

/** CPU seconds all cores have spent busy since boot (user, nice, system, irq, softirq, steal). */
export function machineBusySeconds(): number | undefined {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] ?? '';
    const [user, nice, system, , , irq, softirq, steal] = line
      .trim()
      .split(/\s+/)
      .slice(1)
      .map(Number);
    const busy = [user, nice, system, irq, softirq, steal].reduce<number>(
      (sum, v) => sum + (v ?? 0),
      0,
    );
    return busy / clockTicksPerSecond;
  } catch {
    return undefined;
  }
}

const Rusage = z.object({
  rc: z.number().int(),
  timed_out: z.boolean(),
  wall_s: z.number(),
  user_s: z.number(),
  sys_s: z.number(),
  maxrss_kb: z.number(),
});
export type Rusage = z.infer<typeof Rusage>;

export interface MeasuredRun {
  /** Commands run one after another; their costs add up. */
  commands: string[][];
  cwd: string;
  stdoutFile: string;
  stderrFile: string;
  specFile: string;
  timeoutS: number;
}

/** Runs the commands under rusage.py (wall, CPU and peak RSS of the whole run). */
export async function measure(
  children: ChildSet,
  python: string,
  wrapper: string,
  run: MeasuredRun,
): Promise<Rusage> {
  const spec = {
    cmds: run.commands,
    cwd: run.cwd,
    stdout: run.stdoutFile,
    stderr: run.stderrFile,
    timeout_s: run.timeoutS,
  };
  await writeFile(run.specFile, `${JSON.stringify(spec, null, 1)}\n`);
  const child = children.spawn(python, [wrapper, run.specFile], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let report = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    report += chunk.toString();
  });
  // rusage.py enforces timeoutS itself; this only catches a wedged wrapper.
  let escalate: NodeJS.Timeout | undefined;
  const backstop = setTimeout(
    () => {
      child.kill('SIGTERM');
      escalate = setTimeout(() => child.kill('SIGKILL'), killGraceMs);
    },
    (run.timeoutS + 15) * 1000,
  );
  const [code] = (await once(child, 'exit')) as [number | null];
  clearTimeout(backstop);
  clearTimeout(escalate);
  const line = report.trim().split('\n').pop() ?? '';
  try {
    return Rusage.parse(JSON.parse(line));
  } catch {
    throw new Error(`rusage wrapper exited ${code} without a report (spec ${run.specFile})`);
  }
}
