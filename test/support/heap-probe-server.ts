// The service as src/server.ts starts it, plus an IPC answer to 'heap': the heap used after
// a full GC (node --expose-gc), JS heap and buffers together,, for tests of what hostile clients make the service hold.
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';

const app = await buildApp(loadConfig());
process.on('message', (message) => {
  if (message !== 'heap') return;
  globalThis.gc?.();
  globalThis.gc?.();
  // Buffers' bytes live outside the V8 heap: both count.
  const { heapUsed, arrayBuffers } = process.memoryUsage();
  process.send?.({ heap: heapUsed + arrayBuffers, pendingBodyBytes: app.pendingBodies.reserved });
});
process.once('SIGTERM', () => {
  void app.close().then(() => process.exit(0));
});
await app.listen({ port: Number(process.env.PORT ?? 0), host: '127.0.0.1' });
