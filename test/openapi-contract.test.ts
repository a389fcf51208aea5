// The committed OpenAPI document as a contract: every operation is named, tagged, secured
// and says what each status sends; problems are application/problem+json; the streams are
// documented; nothing in components is unused.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { jsonPointer, schemaMismatch } from './support/contract.js';

// biome-ignore lint/suspicious/noExplicitAny: a parsed JSON document, walked by path in assertions
type Json = Record<string, any>;
const document = JSON.parse(
  readFileSync(new URL('../openapi/openapi.json', import.meta.url), 'utf8'),
) as Json;
const operations = Object.entries(document.paths as Json).flatMap(([path, item]) =>
  Object.entries(item as Json).map(([method, operation]) => ({ path, method, operation })),
);

describe('the OpenAPI document', () => {
  it('names a server and a bearer scheme', () => {
    expect(document.servers[0].url).toBe('http://127.0.0.1:3000');
    expect(document.components.securitySchemes.bearerAuth).toMatchObject({
      type: 'http',
      scheme: 'bearer',
    });
  });

  it('gives every operation a unique id, a tag, a summary and its security', () => {
    const ids = operations.map(({ operation }) => operation.operationId);
    expect(ids.every((id) => typeof id === 'string')).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    for (const { path, method, operation } of operations) {
      const where = `${method} ${path}`;
      expect(operation.tags?.length, where).toBeGreaterThan(0);
      expect(operation.summary, where).toEqual(expect.any(String));
      expect(operation.security, where).toEqual(
        path.startsWith('/v1/') ? [{ bearerAuth: [] }] : [],
      );
    }
  });

  it('describes every status, problems as application/problem+json with their headers', () => {
    for (const { path, method, operation } of operations) {
      for (const [status, response] of Object.entries(operation.responses as Json)) {
        const where = `${method} ${path} ${status}`;
        expect(response.description, where).not.toBe('Default Response');
        const content = response.content ?? {};
        if (content['application/problem+json'] !== undefined) {
          expect(Object.keys(content), where).toEqual(['application/problem+json']);
          if (status === '429' || status === '503') {
            expect(response.headers?.['Retry-After'], where).toBeDefined();
          }
          if (status === '401') expect(response.headers?.['WWW-Authenticate'], where).toBeDefined();
        }
        expect(content['application/json']?.schema?.$ref, where).not.toBe(
          '#/components/schemas/Problem',
        );
      }
      if (path.startsWith('/v1/'))
        expect(operation.responses['401'], `${method} ${path}`).toBeDefined();
    }
    const submit = document.paths['/v1/jobs'].post.responses;
    expect(Object.keys(submit['202'].headers)).toEqual(
      expect.arrayContaining(['Location', 'Retry-After']),
    );
    expect(submit['415']).toBeDefined();
    // Submit answers 404 only for a job deleted during its Prefer: wait.
    expect(submit['404'].description).toContain('Prefer: wait');
  });

  it('documents the NDJSON, CSV and HAR results and the SSE events with Last-Event-ID', () => {
    const results = document.paths['/v1/jobs/{id}/results'].get.responses['200'];
    expect(Object.keys(results.content)).toEqual([
      'application/json',
      'application/x-ndjson',
      'text/csv',
      'application/har+json',
    ]);
    expect(Object.keys(results.headers)).toEqual(['Vary', 'Content-Disposition']);
    const formats = document.paths['/v1/jobs/{id}/results'].get.parameters.find(
      (p: Json) => p.name === 'format',
    );
    expect(formats.schema.enum).toEqual(['json', 'ndjson', 'csv', 'har']);
    const events = document.paths['/v1/jobs/{id}/events'].get;
    const stream = events.responses['200'].content['text/event-stream'].schema;
    expect(stream.oneOf.map((event: Json) => event.properties.event.const)).toEqual([
      'result',
      'progress',
      'done',
    ]);
    expect(events.parameters.map((p: Json) => p.name)).toContain('last-event-id');
  });

  it('has examples, and each validates against its schema', () => {
    let checked = 0;
    for (const { path, method, operation } of operations) {
      const bodies: Array<[string[], Json]> = Object.entries(
        (operation.requestBody?.content ?? {}) as Json,
      ).map(([media, content]) => [['requestBody', 'content', media], content]);
      for (const [status, response] of Object.entries(operation.responses as Json)) {
        for (const [media, content] of Object.entries((response.content ?? {}) as Json)) {
          bodies.push([['responses', status, 'content', media], content]);
        }
      }
      for (const [at, content] of bodies) {
        const examples = Object.values((content.examples ?? {}) as Json).map((e) => e.value);
        if (content.example !== undefined) examples.push(content.example);
        for (const example of examples) {
          const schema = jsonPointer('paths', path, method, ...at, 'schema');
          expect(schemaMismatch(schema, example), `${method} ${path} ${at.join(' ')}`).toBeNull();
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThanOrEqual(2);
  });

  it('keeps no component nothing refers to', () => {
    const text = JSON.stringify(document.paths) + JSON.stringify(document.components.schemas);
    for (const name of Object.keys(document.components.schemas)) {
      expect(text, name).toContain(`"#/components/schemas/${name}"`);
    }
  });
});
