// Entry point: load config, build the app, listen, and close gracefully on SIGTERM/SIGINT.
import closeWithGrace from 'close-with-grace';
import type { FastifyInstance } from 'fastify';
import { buildApp } from './app.js';
import { ConfigError, loadConfig } from './config.js';

/** Once jobs have ended, how long responses in flight get to finish before they are cut. */
const FLUSH_MS = 500;

async function main(): Promise<void> {
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`headprobe: ${error.message}`);
      process.exit(1);
    }
    throw error;
  }

  const app = await buildApp(config);
  // First signal: refuse new jobs (503, /readyz false), give running jobs the grace period,
  // then cancel what is left (every target still gets a result), cut what clients have not
  // finished sending, and close. A second signal exits at once (close-with-grace), and so
  // does a close that overruns the grace by 10 s.
  closeWithGrace(
    { delay: config.shutdownGraceMs + 10_000, logger: false },
    async ({ signal, err }) => {
      if (err) app.log.error({ err }, 'closing after an uncaught error');
      else app.log.info({ signal, graceMs: config.shutdownGraceMs }, 'closing');
      app.jobLifecycle.beginDrain();
      await app.jobLifecycle.waitForIdle(err ? 0 : config.shutdownGraceMs);
      await closeApp(app);
      app.log.info('closed');
    },
  );
  await app.listen({ port: config.port, host: config.host });
}

/**
 * Cancels what still runs, lets finished responses and the last stream lines go out, then
 * closes every connection left: a request half sent, or a client that never reads, must not
 * hold the process past its grace. The log names what was cut.
 */
async function closeApp(app: FastifyInstance): Promise<void> {
  await app.jobLifecycle.close();
  const closed = app.close();
  const cut = setTimeout(() => {
    const unfinished = app.openRequests.list();
    const connections = app.connections.open;
    if (connections === 0) return;
    app.log.warn(
      { connections, unfinished },
      `closing ${connections} connection(s) still open, ${unfinished.length} with an unfinished request`,
    );
    app.server.closeAllConnections();
  }, FLUSH_MS);
  await closed;
  clearTimeout(cut);
}

await main();
