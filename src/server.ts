// Entry point: load config, build the app, listen, and close gracefully on SIGTERM/SIGINT.
import closeWithGrace from 'close-with-grace';
import { buildApp } from './app.js';
import { ConfigError, loadConfig } from './config.js';

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
  // then cancel what is left (every target still gets a result) and close. A second signal
  // exits at once (close-with-grace), and so does a close that overruns the grace by 10 s.
  closeWithGrace(
    { delay: config.shutdownGraceMs + 10_000, logger: false },
    async ({ signal, err }) => {
      if (err) app.log.error({ err }, 'closing after an uncaught error');
      else app.log.info({ signal, graceMs: config.shutdownGraceMs }, 'closing');
      app.jobs.beginDrain();
      await app.jobs.waitForIdle(err ? 0 : config.shutdownGraceMs);
      await app.close();
      app.log.info('closed');
    },
  );
  await app.listen({ port: config.port, host: config.host });
}

await main();
