// A client generated from the committed document the way users make one (openapi-typescript
// types, openapi-fetch calls) type-checks a script that submits, polls, pages and cancels as
// the README does — `options: { timeoutMs: 5000 }` and nothing more — and runs it against a
// started app. The generated files go to .generated-client/ (gitignored, outside tsconfig).
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { startApp } from './helper.js';
import { normalResponse, respondWith, startTcpServer } from './support/servers.js';

const run = promisify(execFile);
const root = new URL('..', import.meta.url).pathname;
const dir = join(root, '.generated-client');

const CLIENT = `import createClient from 'openapi-fetch';
import type { paths } from './api.js';

export async function readmeSession(baseUrl: string, target: string) {
  // JSON bodies and problem+json errors (the results page also comes as NDJSON; openapi-fetch
  // types responses by the media types named here).
  const api = createClient<paths, 'application/json' | 'application/problem+json'>({ baseUrl });
  const submitted = await api.POST('/v1/jobs', {
    body: { targets: [target, target], options: { timeoutMs: 5000 } },
  });
  if (submitted.data === undefined) throw new Error(\`submit: \${submitted.response.status}\`);
  const id: string = submitted.data.id;
  let status: string = submitted.data.status;
  for (let polls = 0; status === 'queued' || status === 'running'; polls++) {
    if (polls > 200) throw new Error('the job did not end');
    await new Promise((resolve) => setTimeout(resolve, 25));
    const polled = await api.GET('/v1/jobs/{id}', { params: { path: { id } } });
    status = polled.data?.status ?? 'missing';
  }
  const statuses: number[] = [];
  let cursor: string | undefined;
  for (let pages = 0; pages < 10; pages++) {
    const page = await api.GET('/v1/jobs/{id}/results', {
      params: { path: { id }, query: { limit: 1, ...(cursor === undefined ? {} : { cursor }) } },
    });
    for (const result of page.data?.results ?? []) statuses.push(result.status ?? 0);
    if (page.data?.nextCursor == null) break;
    cursor = page.data.nextCursor;
  }
  const cancelled = await api.POST('/v1/jobs/{id}/cancel', { params: { path: { id } } });
  const missing = await api.GET('/v1/jobs/{id}', { params: { path: { id: 'no-such-job' } } });
  return { status, statuses, afterCancel: cancelled.data?.status, missingCode: missing.error?.code };
}
`;

describe('a client generated from the document', () => {
  it('type-checks the README’s calls and runs them against the service', async () => {
    mkdirSync(dir, { recursive: true });
    await run(join(root, 'node_modules/.bin/openapi-typescript'), [
      join(root, 'openapi/openapi.json'),
      '--output',
      join(dir, 'api.d.ts'),
    ]);
    writeFileSync(join(dir, 'client.ts'), CLIENT);
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        extends: '../tsconfig.json',
        compilerOptions: { noEmit: true, rootDir: '.' },
        include: ['client.ts', 'api.d.ts'],
      }),
    );
    // Fails the test with tsc's own message if a generated type refuses the README's body.
    await run(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', dir]);

    const app = await startApp();
    await app.listen({ port: 0, host: '127.0.0.1' });
    const target = await startTcpServer(respondWith(normalResponse));
    try {
      const { readmeSession } = (await import(join(dir, 'client.ts'))) as {
        readmeSession: (base: string, target: string) => Promise<Record<string, unknown>>;
      };
      const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
      expect(await readmeSession(base, `127.0.0.1:${target.port}`)).toEqual({
        status: 'succeeded',
        statuses: [200, 200],
        afterCancel: 'succeeded',
        missingCode: 'job_not_found',
      });
    } finally {
      await target.close();
    }
  }, 60_000);
});
