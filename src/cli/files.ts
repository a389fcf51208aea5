// The command's file handling: streams opened before use (so a missing list or an unwritable
// output fails at once, not at the first read or write), lines read lazily, and whether a
// file ends with a newline (a resumed output whose last line was cut needs one).
import type { ReadStream, WriteStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';

/** Resolves with `stream` once its file is open; rejects with the open's error. */
export function opened<S extends ReadStream | WriteStream>(stream: S): Promise<S> {
  const events: NodeJS.EventEmitter = stream;
  return new Promise((resolve, reject) => {
    events.once('open', () => resolve(stream));
    events.once('error', reject);
  });
}

/** Every line of `stream`, read as it comes (`\r\n` counts as one break). */
export function eachLine(stream: Readable): AsyncIterable<string> {
  return createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY });
}

export async function endsWithNewline(path: string): Promise<boolean> {
  const file = await open(path, 'r');
  try {
    const { size } = await file.stat();
    if (size === 0) return true;
    const last = Buffer.alloc(1);
    await file.read(last, 0, 1, size - 1);
    return last[0] === 0x0a;
  } finally {
    await file.close();
  }
}
