// What the command says on stderr while it runs: a progress bar (cli-progress) only when
// stderr is a terminal, redrawn at most ten times a second and cleared at the end, then a
// one-line summary, also when stderr is not a terminal, unless --silent.
import type { Writable } from 'node:stream';
import cliProgress from 'cli-progress';
import type { ProbeResult } from '../schemas/probe-result.js';

export interface RunTally {
  read(count: number, complete: boolean): void;
  result(result: ProbeResult): void;
  /** A line for the user (a stream resumed, a busy service), above the bar; none with -s. */
  notice(message: string): void;
  /** Clears the bar and prints the summary. */
  finish(interrupted: boolean): void;
}

export function createTally(stderr: Writable & { isTTY?: boolean }, silent: boolean): RunTally {
  const started = performance.now();
  let ok = 0;
  let failed = 0;
  const errors = new Map<string, number>();
  const bar =
    stderr.isTTY === true && !silent
      ? new cliProgress.SingleBar(
          {
            stream: stderr,
            fps: 10,
            clearOnComplete: true,
            hideCursor: true,
            etaBuffer: 200,
            format:
              '{bar} {value}/{total}{more} | ok {ok} failed {failed} | {rate}/s | ETA {eta_formatted}',
          },
          cliProgress.Presets.shades_classic,
        )
      : null;
  bar?.start(0, 0, { ok: 0, failed: 0, rate: '0', more: '+' });
  const rate = () => {
    const seconds = (performance.now() - started) / 1000;
    return seconds > 0 ? Math.round((ok + failed) / seconds) : 0;
  };
  return {
    read(count, complete) {
      bar?.setTotal(count);
      bar?.update({ more: complete ? '' : '+' });
    },
    result(result) {
      if (result.ok) ok++;
      else {
        failed++;
        const code = result.error?.code ?? 'error';
        errors.set(code, (errors.get(code) ?? 0) + 1);
      }
      bar?.update(ok + failed, { ok, failed, rate: String(rate()) });
    },
    notice(message) {
      if (silent) return;
      // Over the bar's line; the bar draws itself again below at its next redraw.
      stderr.write(`${bar === null ? '' : '\r\x1b[K'}headprobe: ${message}\n`);
    },
    finish(interrupted) {
      bar?.stop();
      if (silent) return;
      const seconds = (performance.now() - started) / 1000;
      const byCode = [...errors]
        .sort((a, b) => b[1] - a[1])
        .map(([code, count]) => `${code} ${count}`)
        .join(', ');
      stderr.write(
        `headprobe: ${ok + failed} targets in ${seconds.toFixed(1)} s (${rate()}/s): ` +
          `${ok} ok, ${failed} failed${byCode === '' ? '' : ` (${byCode})`}` +
          `${interrupted ? '; interrupted' : ''}\n`,
      );
    },
  };
}
