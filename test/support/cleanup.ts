// What a test started (servers, browser contexts, folders), ended after it in reverse order
// of starting: a file that imports this gets the afterEach that does it.
import { afterEach } from 'vitest';

const closers: Array<() => unknown> = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

/** Runs `close` after the current test. */
export function onCleanup(close: () => unknown): void {
  closers.push(close);
}

/** Awaits something closable and closes it after the current test. */
export async function track<T extends { close(): Promise<void> }>(thing: Promise<T>): Promise<T> {
  const handle = await thing;
  onCleanup(() => handle.close());
  return handle;
}
