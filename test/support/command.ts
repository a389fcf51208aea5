// The `headprobe` command as a child process (bin/headprobe.js, the source through tsx): run
// to its end with stdin given, or under a real pseudo-terminal (Python's pty module sets one
// up, 120 columns wide, and hands back every byte the command wrote to it).
import { type ChildProcess, spawn } from 'node:child_process';

const ROOT = new URL('../..', import.meta.url).pathname;
export const COMMAND = `${ROOT}bin/headprobe.js`;

export interface CommandRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Starts the command; `stdin` is written and closed (none: closed at once). */
export function startCommand(
  args: readonly string[],
  options: { stdin?: string; env?: NodeJS.ProcessEnv } = {},
): { child: ChildProcess; done: Promise<CommandRun> } {
  const child = spawn(process.execPath, [COMMAND, ...args], {
    cwd: ROOT,
    env: { ...process.env, NO_COLOR: '', ...options.env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
  });
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  child.stdin!.end(options.stdin ?? '');
  const done = new Promise<CommandRun>((resolve) => {
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
  return { child, done };
}

export function runCommand(
  args: readonly string[],
  options: { stdin?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<CommandRun> {
  return startCommand(args, options).done;
}

const PTY_RUN = `
import fcntl, os, pty, struct, sys, termios
pid, fd = pty.fork()
if pid == 0:
    os.execv(sys.argv[1], sys.argv[1:])
fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack('HHHH', 40, 120, 0, 0))
out = b''
while True:
    try:
        data = os.read(fd, 65536)
    except OSError:
        break
    if not data:
        break
    out += data
_, status = os.waitpid(pid, 0)
sys.stdout.buffer.write(out)
sys.exit(os.waitstatus_to_exitcode(status))
`;

/** Runs the command with stdin, stdout and stderr on one pseudo-terminal. */
export function runInTerminal(args: readonly string[]): Promise<CommandRun> {
  const child = spawn('python3', ['-c', PTY_RUN, process.execPath, COMMAND, ...args], {
    cwd: ROOT,
    env: { ...process.env, NO_COLOR: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  return new Promise((resolve) => {
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}
