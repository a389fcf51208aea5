// buildApp(config) → a ready Fastify instance with every plugin and route. Never listens:
// src/server.ts does, and tests use the instance directly.
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import healthRoutes from '../routes/health.js';
import type { Config } from './config.js';
import openApi from './plugins/openapi.js';
import problemDetails from './plugins/problem-details.js';

export interface AppOverrides {
  /** Replaces the logger settings (tests pass `false`). */
  readonly logger?: FastifyServerOptions['logger'];
}

export async function buildApp(
  config: Config,
  overrides: AppOverrides = {},
): Promise<FastifyInstance> {
  const app = Fastify({
    logger: overrides.logger ?? { level: config.logLevel },
    bodyLimit: 1024 * 1024,
  });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);

  await app.register(problemDetails);
  await app.register(openApi);
  await app.register(healthRoutes);

  await app.ready();
  return app;
}
