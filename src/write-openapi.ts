// `npm run openapi`: writes openapi/openapi.json from the app's zod schemas.
import { writeFileSync } from 'node:fs';
import { buildApp } from './app.js';
import { loadConfig } from './config.js';
import { renderOpenApi } from './openapi-document.js';

const app = await buildApp(loadConfig({}), { logger: false });
writeFileSync(new URL('../openapi/openapi.json', import.meta.url), renderOpenApi(app));
await app.close();
console.log('wrote openapi/openapi.json');
