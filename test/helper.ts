// A fresh app per test, closed after it: tests never share a server or a port.
import type { FastifyInstance } from 'fastify';
import { afterEach, expect } from 'vitest';
import { type AppOverrides, buildApp } from '../src/app.js';
import { type Config, loadConfig } from '../src/config.js';
import { contractViolations, watchStreams } from './support/contract.js';
import { NO_DNS_SERVER } from './support/loopback-resolver.js';

const open: FastifyInstance[] = [];
const violations: string[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((app) => app.close()));
  // Every response of the test, against the committed OpenAPI document.
  expect(violations.splice(0)).toEqual([]);
});

export function testConfig(env: NodeJS.ProcessEnv = {}): Config {
  // Test targets live on loopback, which the policy denies unless opted in. Names go to a
  // loopback port where no DNS server listens unless a test starts its own: no test may ask
  // the machine's nameservers (the hosts file still answers for localhost).
  return loadConfig({
    LOG_LEVEL: 'silent',
    HEADPROBE_ALLOW_CIDRS: '127.0.0.0/8,::1/128',
    HEADPROBE_DNS_SERVERS: NO_DNS_SERVER,
    ...env,
  });
}

export async function startApp(
  env: NodeJS.ProcessEnv = {},
  overrides: AppOverrides = {},
): Promise<FastifyInstance> {
  const app = await buildApp(testConfig(env), {
    logger: false,
    onSend: (request, reply, payload) => {
      violations.push(
        ...contractViolations({
          method: request.method,
          route: request.routeOptions.url,
          status: reply.statusCode,
          headers: reply.getHeaders(),
          payload,
        }),
      );
    },
    ...overrides,
  });
  watchStreams(app.server, (violation) => violations.push(violation));
  open.push(app);
  return app;
}
