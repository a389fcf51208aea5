#!/usr/bin/env node
// The `headprobe` command. In a checkout (src/ and the dev dependencies there) it runs the
// TypeScript source through tsx, so `npx headprobe` works right after `npm ci` and never runs
// a stale build; elsewhere (the container image) the compiled dist/.
import { existsSync } from 'node:fs';

const source = new URL('../src/cli/run.ts', import.meta.url);
let tsx = null;
if (existsSync(source)) {
  try {
    tsx = await import('tsx/esm/api');
  } catch {
    // No dev dependencies: the build it is.
  }
}
if (tsx === null) await import('../dist/src/cli/run.js');
else {
  tsx.register();
  await import(source.href);
}
