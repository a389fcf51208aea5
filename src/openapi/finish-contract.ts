// What the zod schemas cannot say about the wire, added to the generated document in one
// place: operation ids, security, servers, a description, media type and headers for every
// status an operation answers with (problems as application/problem+json, the statuses the
// HTTP server itself may answer before a route runs), the NDJSON and SSE forms of the result
// streams, and no component that nothing refers to.

import { PROBLEMS, type ProblemCode, type ProblemDefinition } from '../errors.js';
import { CSV_COLUMNS } from '../exports/result-row.js';

type Json = Record<string, unknown>;

interface OperationDoc {
  readonly operationId: string;
  /** Used where the route schema gives none. */
  readonly description?: string;
  /** Problem statuses this operation answers with beyond those its route schema lists. */
  readonly problems?: readonly number[];
  /** Statuses its route schema lists that it never answers with. */
  readonly never?: readonly number[];
}

const OPERATIONS: Record<string, OperationDoc> = {
  'get /livez': {
    operationId: 'getLiveness',
    description: 'Answers 200 while the process runs (the container HEALTHCHECK asks this).',
  },
  'get /readyz': {
    operationId: 'getReadiness',
    description:
      '200 while new jobs are taken; 503 while shutting down, shedding load, or while the job ' +
      'store (Redis) does not answer.',
  },
  'post /v1/jobs': { operationId: 'submitJob', problems: [406, 415] },
  'get /v1/jobs': {
    operationId: 'listJobs',
    problems: [406],
    description: "This caller's jobs (every job for an operator key or an open API), by page.",
  },
  'get /v1/jobs/{id}': {
    operationId: 'getJob',
    problems: [406, 414],
    description: 'Status, progress, options and the first results in input order.',
  },
  'delete /v1/jobs/{id}': {
    operationId: 'deleteJob',
    problems: [406, 414],
    description: 'Cancels the job if it runs, then forgets it and its results.',
  },
  'get /v1/jobs/{id}/results': { operationId: 'getJobResults', problems: [406, 414] },
  'get /v1/jobs/{id}/events': { operationId: 'streamJobEvents', problems: [406, 414] },
  'post /v1/jobs/{id}/cancel': {
    operationId: 'cancelJob',
    problems: [406, 414],
    description: 'Queued and running targets end as cancelled; a finished job is unchanged.',
  },
  'get /v1/loop': {
    operationId: 'getLoop',
    problems: [406],
    description:
      "The shared scheduler now: caps, targets in flight and queued, this caller's jobs, " +
      "other callers' as totals, the resolver, and event-loop delay since the last read.",
  },
};

/** Answered by the HTTP server before any route runs, whatever the route. */
const SERVER_PROBLEMS = [400, 408, 431, 503];
/** Answered under /v1 when API keys are on. */
const AUTH_PROBLEMS = [401, 429];

/** What the catalog's codes cannot say about a status on an operation. */
const PROBLEM_NOTES: Record<number, string> = {
  404: 'on submit, also a job deleted during Prefer: wait',
};

/** The catalog's codes sent with `status`, and their titles: the catalog is the one list. */
function problemDescription(status: number): string {
  const codes = Object.entries(PROBLEMS as Record<ProblemCode, ProblemDefinition>)
    .filter(([, problem]) => problem.status === status || problem.otherStatuses?.includes(status))
    .map(([code, problem]) => `${code} (${problem.title})`);
  if (codes.length === 0) return 'A problem.';
  const note = PROBLEM_NOTES[status];
  return `${codes.join(', ')}${note === undefined ? '' : `; ${note}`}`;
}

const SUCCESS_DESCRIPTIONS: Record<string, string> = {
  'post /v1/jobs 200': 'The job ended within Prefer: wait.',
  'post /v1/jobs 202': 'Accepted: the job runs; poll Location.',
  'get /readyz 503': 'Not taking jobs: draining (shutting down), overloaded, or store_unavailable.',
  'delete /v1/jobs/{id} 204': 'Deleted.',
  'get /v1/jobs/{id}/results 200':
    'A page of results (JSON); with Accept: application/x-ndjson one JobResult per line as ' +
    'targets finish, until the job ends; or the finished job as CSV or HAR.',
  'get /v1/jobs/{id}/events 200': 'The event stream; it ends after `done`.',
};

const header = (description: string, schema: Json = { type: 'string' }) => ({
  description,
  schema,
});
const RETRY_AFTER = header('Seconds to wait before trying again.', { type: 'integer' });

const SUCCESS_HEADERS: Record<string, Json> = {
  'post /v1/jobs 202': {
    Location: header('The job: /v1/jobs/{id}.'),
    'Retry-After': header('Seconds before the first poll.', { type: 'integer' }),
    'Preference-Applied': header('wait=N when Prefer: wait=N was honoured.'),
  },
  'post /v1/jobs 200': {
    Location: header('The job: /v1/jobs/{id}.'),
    'Preference-Applied': header('wait=N, the Prefer: wait honoured.'),
  },
  'get /v1/jobs/{id} 200': {
    'Retry-After': header('While the job runs: seconds before the next poll.', { type: 'integer' }),
  },
  'get /readyz 503': { 'Retry-After': RETRY_AFTER },
  'get /v1/jobs/{id}/results 200': {
    Vary: header('Accept: the representation depends on it (unless ?format= is given).'),
    'Content-Disposition': header(
      'CSV and HAR only: attachment; filename="headprobe-{id}.csv" (or .har).',
    ),
  },
};

/** `text/event-stream` events of /events, each with its data. */
function sseEvents(): Json {
  const event = (name: string, data: Json, description: string) => ({
    type: 'object',
    description,
    properties: {
      event: { const: name },
      id: { type: 'string', description: 'The last result’s sequence number: Last-Event-ID.' },
      data,
    },
    required: ['event', 'id', 'data'],
  });
  return {
    description:
      'Server-Sent Events, one of these per message (data is JSON); comment lines are ' +
      'heartbeats every 15 s.',
    oneOf: [
      event('result', { $ref: '#/components/schemas/JobResult' }, 'A target finished.'),
      event(
        'progress',
        { $ref: '#/components/schemas/JobProgress' },
        'Counts after each burst of results.',
      ),
      event(
        'done',
        {
          type: 'object',
          properties: {
            status: { type: 'string', enum: ['succeeded', 'cancelled', 'failed'] },
            progress: { $ref: '#/components/schemas/JobProgress' },
          },
          required: ['status', 'progress'],
        },
        'The job ended; the stream closes.',
      ),
    ],
  };
}

/** Whether a code sent with `status` comes with a Retry-After of its own (409 job_not_finished). */
function retriedLater(status: number): boolean {
  return Object.values(PROBLEMS as Record<ProblemCode, ProblemDefinition>).some(
    (problem) => problem.status === status && problem.retryAfterS !== undefined,
  );
}

function problemResponse(status: number): Json {
  return {
    description: problemDescription(status),
    ...(status === 401
      ? { headers: { 'WWW-Authenticate': header('Bearer realm="headprobe"') } }
      : {}),
    ...(status === 429 || status === 503 || retriedLater(status)
      ? { headers: { 'Retry-After': RETRY_AFTER } }
      : {}),
    content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
  };
}

function isProblem(response: Json): boolean {
  const content = response.content as Record<string, { schema?: Json }> | undefined;
  return content?.['application/json']?.schema?.$ref === '#/components/schemas/Problem';
}

function finishOperation(key: string, path: string, operation: Json): void {
  const doc = OPERATIONS[key];
  if (doc !== undefined) operation.operationId = doc.operationId;
  if (doc?.description !== undefined && operation.description === undefined) {
    operation.description = doc.description;
  }
  const underV1 = path.startsWith('/v1/');
  operation.security = underV1 ? [{ bearerAuth: [] }] : [];
  const responses = (operation.responses ?? {}) as Record<string, Json>;
  for (const status of doc?.never ?? []) delete responses[status];
  const problems = [
    ...SERVER_PROBLEMS,
    ...(underV1 ? AUTH_PROBLEMS : []),
    ...(doc?.problems ?? []),
  ];
  for (const status of problems) {
    // /readyz's own 503 (draining) keeps its body; a refused connection is also a 503 there.
    if (responses[status] === undefined) responses[status] = problemResponse(status);
  }
  for (const [status, response] of Object.entries(responses)) {
    if (isProblem(response)) {
      responses[status] = problemResponse(Number(status));
      continue;
    }
    const success = `${key} ${status}`;
    response.description = SUCCESS_DESCRIPTIONS[success] ?? 'OK.';
    const headers = SUCCESS_HEADERS[success];
    if (headers !== undefined) response.headers = headers;
  }
  if (key === 'get /v1/jobs/{id}/results') {
    const content = responses['200']?.content as Json;
    content['application/x-ndjson'] = {
      schema: {
        description: 'One JobResult per line, in completion order.',
        $ref: '#/components/schemas/JobResult',
      },
    };
    content['text/csv'] = {
      schema: {
        type: 'string',
        description:
          'A header line, then one row per result in completion order (RFC 4180, UTF-8). ' +
          `Columns: ${CSV_COLUMNS.join(', ')}; times in ms, headers a JSON array of [name, value].`,
      },
    };
    content['application/har+json'] = {
      schema: {
        type: 'object',
        description:
          'A HAR 1.2 log: one entry per request, redirect hops first, in completion order; ' +
          'no content is ever read (size 0); _index, _target and _error are custom fields.',
        externalDocs: { url: 'http://www.softwareishard.com/blog/har-12-spec/' },
        required: ['log'],
        properties: {
          log: {
            type: 'object',
            required: ['version', 'creator', 'entries'],
            properties: {
              version: { const: '1.2' },
              creator: { type: 'object' },
              pages: { type: 'array' },
              entries: { type: 'array', items: { type: 'object' } },
            },
          },
        },
      },
    };
  }
  if (key === 'get /v1/jobs/{id}/events') {
    responses['200'] = {
      description: SUCCESS_DESCRIPTIONS[`${key} 200`],
      content: { 'text/event-stream': { schema: sseEvents() } },
    };
    const parameters = (operation.parameters ?? []) as Json[];
    parameters.push({
      in: 'header',
      name: 'last-event-id',
      required: false,
      description: 'Resume after this sequence number: no gaps, no repeats.',
      schema: { type: 'string' },
    });
    operation.parameters = parameters;
  }
  operation.responses = Object.fromEntries(
    Object.entries(responses).sort(([a], [b]) => Number(a) - Number(b)),
  );
}

/**
 * Request bodies carry their input schemas inline rather than by reference: a generator like
 * openapi-typescript makes a property with a default optional only inside a request body,
 * so `options: { timeoutMs: 5000 }` type-checks, while under components it would be required.
 */
function inlineInputs(node: unknown, schemas: Record<string, unknown>): unknown {
  if (Array.isArray(node)) return node.map((item) => inlineInputs(item, schemas));
  if (node === null || typeof node !== 'object') return node;
  const ref = (node as Json).$ref;
  if (typeof ref === 'string' && ref.endsWith('Input')) {
    const { $ref: _ref, ...rest } = node as Json;
    const target = schemas[ref.replace('#/components/schemas/', '')] as Json;
    return { ...(inlineInputs(structuredClone(target), schemas) as Json), ...rest };
  }
  return Object.fromEntries(
    Object.entries(node).map(([key, value]) => [key, inlineInputs(value, schemas)]),
  );
}

/** Every component reachable from the paths, following references inside components too. */
function reachable(document: Json): Set<string> {
  const schemas = ((document.components as Json)?.schemas ?? {}) as Record<string, unknown>;
  const seen = new Set<string>();
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) {
      for (const item of node) visit(item);
      return;
    }
    if (node === null || typeof node !== 'object') return;
    for (const [key, value] of Object.entries(node)) {
      if (key === '$ref' && typeof value === 'string') {
        const name = value.replace('#/components/schemas/', '');
        if (!seen.has(name)) {
          seen.add(name);
          visit(schemas[name]);
        }
      } else {
        visit(value);
      }
    }
  };
  visit(document.paths);
  return seen;
}

export function finishContract<T>(document: T): T {
  const doc = document as Json;
  doc.servers = [{ url: 'http://127.0.0.1:3000', description: '`npm start` with its defaults' }];
  doc.tags = [
    { name: 'health', description: 'Liveness and readiness, open without a key.' },
    { name: 'jobs', description: 'Submit batches of targets, follow them, read their results.' },
    { name: 'loop', description: 'The shared scheduler that runs every job.' },
  ];
  const paths = (doc.paths ?? {}) as Record<string, Record<string, Json>>;
  for (const [path, item] of Object.entries(paths)) {
    for (const [method, operation] of Object.entries(item)) {
      finishOperation(`${method} ${path}`, path, operation);
    }
  }
  const components = (doc.components ?? {}) as Json;
  const allSchemas = (components.schemas ?? {}) as Record<string, unknown>;
  for (const item of Object.values(paths)) {
    for (const operation of Object.values(item)) {
      if (operation.requestBody !== undefined) {
        operation.requestBody = inlineInputs(operation.requestBody, allSchemas);
      }
    }
  }
  components.securitySchemes = {
    bearerAuth: {
      type: 'http',
      scheme: 'bearer',
      description: 'An API key from HEADPROBE_API_KEYS; without keys configured the API is open.',
    },
  };
  const used = reachable(doc);
  const schemas = (components.schemas ?? {}) as Record<string, unknown>;
  for (const name of Object.keys(schemas)) if (!used.has(name)) delete schemas[name];
  doc.components = components;
  return document;
}
