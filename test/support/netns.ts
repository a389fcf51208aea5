// A network namespace of the test's own, with its own /etc/resolv.conf and /etc/hosts (which
// `ip netns exec` mounts over the real ones), for testing the machine's default resolver path
// for real. Needs root and iproute2; `netnsUnavailable()` says why not, for a visible skip.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';

export interface TestNetns {
  readonly name: string;
  /** argv prefix that runs a command inside the namespace. */
  readonly exec: readonly string[];
  remove(): void;
}

export function netnsUnavailable(): string | null {
  if (process.getuid?.() !== 0) return 'not root';
  try {
    execFileSync('ip', ['netns', 'list'], { stdio: 'ignore' });
    return null;
  } catch {
    return 'ip netns is unavailable';
  }
}

export function createNetns(files: { resolvConf: string; hosts?: string }): TestNetns {
  const name = `headprobe-test-${process.pid}-${Math.floor(Math.random() * 1e6)}`;
  const etc = `/etc/netns/${name}`;
  // The folder of every namespace's files: removed again if this made it and it is empty.
  const madeNetnsEtc = !existsSync('/etc/netns');
  mkdirSync(etc, { recursive: true });
  writeFileSync(`${etc}/resolv.conf`, files.resolvConf);
  if (files.hosts !== undefined) writeFileSync(`${etc}/hosts`, files.hosts);
  const remove = () => {
    try {
      execFileSync('ip', ['netns', 'del', name], { stdio: 'ignore' });
    } catch {
      // Never created, or already gone.
    }
    rmSync(etc, { recursive: true, force: true });
    if (madeNetnsEtc) {
      try {
        rmdirSync('/etc/netns');
      } catch {
        // Not empty: another namespace's files are there now.
      }
    }
  };
  try {
    execFileSync('ip', ['netns', 'add', name]);
    execFileSync('ip', ['netns', 'exec', name, 'ip', 'link', 'set', 'lo', 'up']);
  } catch (error) {
    remove();
    throw error;
  }
  return { name, exec: ['ip', 'netns', 'exec', name], remove };
}
