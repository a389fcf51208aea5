// `--skip-done FILE`: the targets an earlier run already wrote to its JSON Lines output, so a
// run cut short can be resumed by appending to the same file. A line cut off by the crash (no
// closing brace, not JSON) is ignored, so its target is probed again.
import { createReadStream } from 'node:fs';
import { eachLine, opened } from './files.js';

export async function targetsDone(path: string): Promise<Set<string>> {
  const done = new Set<string>();
  for await (const line of eachLine(await opened(createReadStream(path)))) {
    if (line === '') continue;
    try {
      const result = JSON.parse(line) as { target?: unknown };
      if (typeof result.target === 'string') done.add(result.target);
    } catch {
      // A partial last line.
    }
  }
  return done;
}
