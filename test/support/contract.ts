// Every response an API test provokes, checked against the committed OpenAPI document: its
// status is documented for the operation, its media type is one the status lists, the
// headers headprobe sets are documented, a JSON body validates against the schema, and so
// does each NDJSON line and SSE event a stream writes.
// startApp (test/helper.ts) hooks this into every app it builds; the afterEach there fails
// the test on any mismatch.
import { readFileSync } from 'node:fs';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';

type Json = Record<string, unknown>;

const document = JSON.parse(
  readFileSync(new URL('../../openapi/openapi.json', import.meta.url), 'utf8'),
) as Json;
const ajv = new Ajv2020({ strict: false, allErrors: true });
(addFormats as unknown as (ajv: Ajv2020) => void)(ajv);
ajv.addSchema({ ...document, $id: 'openapi' });

/** Headers headprobe sets on purpose: each must be documented where it is sent. */
const OWN_HEADERS = ['location', 'retry-after', 'preference-applied', 'www-authenticate'];

const pointer = (...parts: string[]) =>
  parts.map((part) => part.replaceAll('~', '~0').replaceAll('/', '~1')).join('/');

const validators = new Map<string, ReturnType<typeof ajv.compile>>();
function validatorFor(ref: string) {
  let validate = validators.get(ref);
  if (validate === undefined) {
    validate = ajv.compile({ $ref: `openapi#/${ref}` });
    validators.set(ref, validate);
  }
  return validate;
}

export interface ObservedResponse {
  readonly method: string;
  /** Fastify's route pattern (`/v1/jobs/:id`), or undefined when no route matched. */
  readonly route: string | undefined;
  readonly status: number;
  readonly headers: Record<string, unknown>;
  readonly payload: unknown;
}

/** What does not match the document, as readable sentences; empty when all is well. */
export function contractViolations(response: ObservedResponse): string[] {
  if (response.route === undefined) return [];
  const path = response.route.replace(/:(\w+)/g, '{$1}');
  const method = response.method.toLowerCase();
  const operation = ((document.paths as Json)[path] as Json | undefined)?.[method] as
    | Json
    | undefined;
  // Hidden routes (/metrics, /openapi.json, /docs) are not part of the contract.
  if (operation === undefined) return [];
  const where = `${response.method} ${path} → ${response.status}`;
  const documented = (operation.responses as Json)[String(response.status)] as Json | undefined;
  if (documented === undefined) return [`${where}: status not documented`];
  const problems: string[] = [];
  const headerDocs = (documented.headers ?? {}) as Json;
  const documentedHeaders = new Set(Object.keys(headerDocs).map((name) => name.toLowerCase()));
  for (const name of OWN_HEADERS) {
    if (response.headers[name] !== undefined && !documentedHeaders.has(name)) {
      problems.push(`${where}: header ${name} not documented`);
    }
  }
  const content = (documented.content ?? {}) as Json;
  const mediaType = String(response.headers['content-type'] ?? '')
    .split(';')[0]!
    .trim();
  if (mediaType === '') {
    if (Object.keys(content).length > 0 && response.status !== 204) {
      problems.push(`${where}: no content type, documented ${Object.keys(content).join(', ')}`);
    }
    return problems;
  }
  if (content[mediaType] === undefined) {
    problems.push(`${where}: media type ${mediaType} not documented`);
    return problems;
  }
  const isJson = mediaType === 'application/json' || mediaType === 'application/problem+json';
  if (!isJson || typeof response.payload !== 'string') return problems;
  let body: unknown;
  try {
    body = JSON.parse(response.payload);
  } catch {
    return [...problems, `${where}: body is not JSON`];
  }
  const validate = validatorFor(
    pointer(
      'paths',
      path,
      method,
      'responses',
      String(response.status),
      'content',
      mediaType,
      'schema',
    ),
  );
  if (!validate(body)) {
    problems.push(`${where}: body does not match: ${ajv.errorsText(validate.errors)}`);
  }
  return problems;
}

const STREAM_SCHEMAS: Record<string, string> = {
  'application/x-ndjson': pointer(
    'paths',
    '/v1/jobs/{id}/results',
    'get',
    'responses',
    '200',
    'content',
    'application/x-ndjson',
    'schema',
  ),
  'text/event-stream': pointer(
    'paths',
    '/v1/jobs/{id}/events',
    'get',
    'responses',
    '200',
    'content',
    'text/event-stream',
    'schema',
  ),
};

/** Parses what is written to a stream response into its items: NDJSON lines or SSE events. */
function streamItems(mediaType: string, text: string): unknown[] {
  if (mediaType === 'application/x-ndjson') {
    return text
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as unknown);
  }
  const events: unknown[] = [];
  for (const block of text.split('\n\n')) {
    const fields: Record<string, string> = {};
    for (const line of block.split('\n')) {
      if (line === '' || line.startsWith(':')) continue; // heartbeats are comments
      const at = line.indexOf(':');
      fields[line.slice(0, at)] = line.slice(at + 1).replace(/^ /, '');
    }
    if (fields.event === undefined) continue;
    events.push({ event: fields.event, id: fields.id, data: JSON.parse(fields.data ?? 'null') });
  }
  return events;
}

/**
 * Checks every NDJSON line and SSE event the server writes against the document, by
 * watching what each response writes (streams bypass Fastify's onSend).
 */
export function watchStreams(server: Server, report: (violation: string) => void): void {
  server.on('request', (_request: IncomingMessage, response: ServerResponse) => {
    let buffered = '';
    let mediaType: string | null = null;
    const write = response.write.bind(response) as (...args: unknown[]) => boolean;
    const end = response.end.bind(response) as (...args: unknown[]) => ServerResponse;
    const take = (chunk: unknown) => {
      mediaType ??= String(response.getHeader('content-type') ?? '')
        .split(';')[0]!
        .trim();
      if (STREAM_SCHEMAS[mediaType] === undefined || chunk === undefined || chunk === null) return;
      if (typeof chunk !== 'string' && !Buffer.isBuffer(chunk)) return;
      buffered += chunk.toString();
      // Only whole items: a line (NDJSON) or an event (SSE) may span writes.
      const separator = mediaType === 'text/event-stream' ? '\n\n' : '\n';
      const cut = buffered.lastIndexOf(separator);
      if (cut === -1) return;
      const complete = buffered.slice(0, cut + separator.length);
      buffered = buffered.slice(cut + separator.length);
      const validate = validatorFor(STREAM_SCHEMAS[mediaType]!);
      try {
        for (const item of streamItems(mediaType, complete)) {
          if (!validate(item)) {
            report(`${mediaType} item does not match: ${ajv.errorsText(validate.errors)}`);
          }
        }
      } catch (error) {
        report(`${mediaType} item is not readable: ${String(error)}`);
      }
    };
    response.write = ((chunk: unknown, ...rest: unknown[]) => {
      take(chunk);
      return write(chunk, ...rest);
    }) as typeof response.write;
    response.end = ((chunk?: unknown, ...rest: unknown[]) => {
      if (typeof chunk !== 'function') take(chunk);
      return end(chunk, ...rest);
    }) as typeof response.end;
  });
}

/** Why `value` does not match the schema at `schemaPointer` (`paths/…/schema`), or null. */
export function schemaMismatch(schemaPointer: string, value: unknown): string | null {
  const validate = validatorFor(schemaPointer);
  return validate(value) ? null : ajv.errorsText(validate.errors);
}

export { pointer as jsonPointer };
