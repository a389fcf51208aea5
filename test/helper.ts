// A fresh app per test, closed after it: tests never share a server or a port.
import type { FastifyInstance } from 'fastify';
import { afterEach } from 'vitest';
import { type AppOverrides, buildApp } from '../src/app.js';
import { type Config, loadConfig } from '../src/config.js';

const open: FastifyInstance[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((app) => app.close()));
});

export function testConfig(env: NodeJS.ProcessEnv = {}): Config {
  return loadConfig({ LOG_LEVEL: 'silent', ...env });
}

export async function startApp(
  env: NodeJS.ProcessEnv = {},
  overrides: AppOverrides = {},
): Promise<FastifyInstance> {
  const app = await buildApp(testConfig(env), { logger: false, ...overrides });
  open.push(app);
  return app;
}
