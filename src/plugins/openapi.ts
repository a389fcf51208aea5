// OpenAPI 3.1 generated from the routes' zod schemas, served at /openapi.json, with
// Swagger UI at /docs. The committed copy in openapi/ is checked fresh by a test.
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { jsonSchemaTransform, jsonSchemaTransformObject } from 'fastify-type-provider-zod';
import packageJson from '../../package.json' with { type: 'json' };
import { finishContract } from '../openapi/finish-contract.js';

async function openApiPlugin(app: FastifyInstance) {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'headprobe',
        description: packageJson.description,
        version: packageJson.version,
        license: { name: packageJson.license, identifier: packageJson.license },
        contact: { name: 'headprobe maintainers' },
      },
    },
    transform: jsonSchemaTransform,
    transformObject: (input) => finishContract(jsonSchemaTransformObject(input)),
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  app.get('/openapi.json', { schema: { hide: true } }, () => app.swagger());
}

export default fp(openApiPlugin, { name: 'openapi' });
