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
  // Test targets live on loopback, which the policy denies unless opted in.
  return loadConfig({ LOG_LEVEL: 'silent', HEADPROBE_ALLOW_CIDRS: '127.0.0.0/8,::1/128', ...env });
}

export async function startApp(
  env: NodeJS.ProcessEnv = {},
  overrides: AppOverrides = {},
): Promise<FastifyInstance> {
  const app = await buildApp(testConfig(env), { logger: false, ...overrides });
  open.push(app);
  return app;
}
