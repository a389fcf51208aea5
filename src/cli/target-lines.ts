// Where the command's targets come from, read lazily so a list of millions of lines runs in
// bounded memory: the arguments, then `-l FILE`, then stdin when it is not a terminal. One
// target per line; blank lines and `#` comments are skipped.
import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { eachLine, opened } from './files.js';

export interface TargetSources {
  readonly args: readonly string[];
  /** `-l FILE` ('-' for stdin). */
  readonly listFile?: string;
  readonly stdin: Readable & { isTTY?: boolean };
}

/** The target on one line of a list, or null for a line that holds none. */
export function targetOfLine(line: string): string | null {
  const target = line.trim();
  return target === '' || target.startsWith('#') ? null : target;
}

async function* linesOf(stream: Readable): AsyncGenerator<string> {
  for await (const line of eachLine(stream)) {
    const target = targetOfLine(line);
    if (target !== null) yield target;
  }
}

/** Every target of the sources, in order. Stdin is read when no other source is given. */
export async function* targetLines(sources: TargetSources): AsyncGenerator<string> {
  for (const arg of sources.args) {
    const target = targetOfLine(arg);
    if (target !== null) yield target;
  }
  if (sources.listFile !== undefined && sources.listFile !== '-') {
    yield* linesOf(await opened(createReadStream(sources.listFile)));
  } else if (sources.listFile === '-' || (sources.args.length === 0 && !sources.stdin.isTTY)) {
    yield* linesOf(sources.stdin);
  }
}
