// The job API end to end through buildApp(): real loopback target servers, real probes.
import { once } from 'node:events';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import request from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryJobStore } from '../../src/jobs/memory-job-store.js';
import { startApp } from '../helper.js';
import { fakeClock } from '../jobs/job-store.contract.js';
import { normalResponse, respondWith, startTcpServer } from '../support/servers.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((close) => close()));
});

async function target(handler = respondWith(normalResponse)) {
  const server = await startTcpServer(handler);
  cleanups.push(() => server.close());
  return `127.0.0.1:${server.port}`;
}

/** A target that answers only when the test releases it: jobs stay running until then. */
async function gatedTarget() {
  let release!: () => void;
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  let arrivals = 0;
  let onArrival: (() => void) | null = null;
  const address = await target((socket) => {
    socket.once('data', () => {
      arrivals++;
      onArrival?.();
      void released.then(() => socket.end(normalResponse));
    });
  });
  const arrived = (count: number) =>
    new Promise<void>((resolve) => {
      const check = () => {
        if (arrivals >= count) resolve();
      };
      onArrival = check;
      check();
    });
  return { address, release, arrived };
}

function closedPort(): Promise<string> {
  return new Promise((resolve) => {
    const server = http.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(`127.0.0.1:${port}`));
    });
  });
}

async function submit(app: FastifyInstance, body: unknown, headers: Record<string, string> = {}) {
  return request(app.server)
    .post('/v1/jobs')
    .set(headers)
    .send(body as object);
}

describe('POST /v1/jobs', () => {
  it('accepts a batch: 202, Location, the job; Prefer: wait gives 200 with results in input order', async () => {
    const app = await startApp();
    const ok = await target();
    const refused = await closedPort();
    const accepted = await submit(app, { targets: [ok, refused] });
    expect(accepted.status).toBe(202);
    expect(accepted.headers.location).toBe(`/v1/jobs/${accepted.body.id}`);
    expect(accepted.headers['retry-after']).toBe('1');
    expect(accepted.body).toMatchObject({
      status: expect.stringMatching(/^(queued|running)$/),
      progress: { total: 2 },
      options: {
        method: 'GET',
        httpVersion: 'auto',
        timeoutMs: 10000,
        tlsVerify: true,
        // A caller's share: 90% of the global 500, leaving room for other callers.
        concurrency: 450,
      },
      links: { self: accepted.headers.location, results: `${accepted.headers.location}/results` },
    });

    const waited = await submit(
      app,
      { targets: [ok, 'ftp://nope', refused, ok] },
      { Prefer: 'wait=10' },
    );
    expect(waited.status).toBe(200);
    expect(waited.headers['preference-applied']).toBe('wait=10');
    expect(waited.body).toMatchObject({
      status: 'succeeded',
      progress: { total: 4, done: 4, ok: 2, failed: 2 },
      resultsTruncated: false,
    });
    expect(waited.body.startedAt).not.toBeNull();
    expect(waited.body.finishedAt).not.toBeNull();
    const results = waited.body.results;
    expect(results.map((r: { index: number }) => r.index)).toEqual([0, 1, 2, 3]);
    expect(results[0]).toMatchObject({ target: ok, ok: true, status: 200, error: null });
    expect(results[0].headers).toContainEqual([
      'Set-Cookie',
      'sessionid=8f14e45fceea167a; Path=/; HttpOnly; Secure',
    ]);
    expect(results[1].error).toMatchObject({ code: 'invalid_target', phase: 'parse' });
    expect(results[2].error).toMatchObject({ code: 'connection_refused', phase: 'connect' });
  });

  it('answers 202 with Preference-Applied when the wait runs out first', async () => {
    const app = await startApp();
    const gated = await gatedTarget();
    const response = await submit(
      app,
      { targets: [gated.address] },
      { Prefer: 'respond-async, wait=1' },
    );
    expect(response.status).toBe(202);
    expect(response.headers['preference-applied']).toBe('wait=1');
    expect(response.body.status).toBe('running');
    gated.release();
  });

  it('returns the same job for a retried Idempotency-Key, and 422 for a different body', async () => {
    const app = await startApp();
    const address = await target();
    const first = await submit(app, { targets: [address] }, { 'Idempotency-Key': 'batch-42' });
    const retry = await submit(app, { targets: [address] }, { 'Idempotency-Key': 'batch-42' });
    expect(retry.status).toBe(202);
    expect(retry.body.id).toBe(first.body.id);
    const other = await submit(
      app,
      { targets: [address, address] },
      { 'Idempotency-Key': 'batch-42' },
    );
    expect(other.status).toBe(422);
    expect(other.body).toMatchObject({ code: 'idempotency_key_reused', status: 422 });
    const list = await request(app.server).get('/v1/jobs').expect(200);
    expect(list.body.jobs).toHaveLength(1);
  });

  it.each([
    ['no targets', { targets: [] }, 'body.targets'],
    ['targets not a list', { targets: 'example.com' }, 'body.targets'],
    ['an unknown field', { targets: ['a.test'], extra: true }, 'body'],
    ['an unknown option', { targets: ['a.test'], options: { retries: 3 } }, 'body.options'],
    ['a bad method', { targets: ['a.test'], options: { method: 'POST' } }, 'body.options.method'],
    [
      'a timeout out of range',
      { targets: ['a.test'], options: { timeoutMs: 5 } },
      'body.options.timeoutMs',
    ],
    [
      'a CRLF in a header value',
      { targets: ['a.test'], options: { headers: { 'X-A': 'b\r\nEvil: 1' } } },
      'body.options.headers.X-A',
    ],
    [
      'a hop-by-hop header',
      { targets: ['a.test'], options: { headers: { Connection: 'keep-alive' } } },
      'body.options.headers.Connection',
    ],
    [
      'a bad resolve address',
      { targets: ['a.test'], options: { resolve: { 'a.test:80': 'nope' } } },
      'body.options.resolve.a.test:80',
    ],
    ['too many targets', { targets: ['a', 'b', 'c', 'd'] }, 'body.targets'],
  ])('rejects %s with a problem naming the field', async (_name, body, field) => {
    const app = await startApp({ HEADPROBE_MAX_TARGETS: '3' });
    const response = await submit(app, body);
    expect(response.status).toBe(400);
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(response.body).toMatchObject({ status: 400, code: 'validation_failed' });
    expect(response.body.errors.map((e: { field: string }) => e.field)).toContain(field);
  });

  it('rejects malformed JSON as a problem, not a crash', async () => {
    const app = await startApp();
    const response = await request(app.server)
      .post('/v1/jobs')
      .set('content-type', 'application/json')
      .send('{"targets": [');
    expect(response.status).toBe(400);
    expect(response.body).toMatchObject({ status: 400, code: 'invalid_json' });
  });

  it('clamps a job concurrency above the caller cap (90% of the global cap by default)', async () => {
    const app = await startApp({ HEADPROBE_CONCURRENCY: '10' });
    const response = await submit(app, { targets: [await target()], options: { concurrency: 50 } });
    expect(response.body.options.concurrency).toBe(9);
    const own = await startApp({
      HEADPROBE_CONCURRENCY: '10',
      HEADPROBE_CONCURRENCY_PER_CALLER: '10',
    });
    const whole = await submit(own, { targets: [await target()], options: { concurrency: 50 } });
    expect(whole.body.options.concurrency).toBe(10);
  });
});

describe('following a job', () => {
  it('moves queued → running → succeeded, with Retry-After until it ends', async () => {
    const app = await startApp();
    const gated = await gatedTarget();
    const created = await submit(app, { targets: [gated.address, gated.address] });
    await gated.arrived(2);
    const running = await request(app.server).get(`/v1/jobs/${created.body.id}`).expect(200);
    expect(running.body).toMatchObject({ status: 'running', progress: { done: 0 }, results: [] });
    expect(running.headers['retry-after']).toBe('1');
    gated.release();
    const done = await submit(app, { targets: [gated.address] }, { Prefer: 'wait=10' });
    expect(done.status).toBe(200);
    const finished = await request(app.server).get(`/v1/jobs/${created.body.id}`).expect(200);
    expect(finished.body).toMatchObject({ status: 'succeeded', progress: { done: 2, ok: 2 } });
    expect(finished.headers['retry-after']).toBeUndefined();
  });

  it('inlines results up to the cap and flags the cut', async () => {
    const app = await startApp({ HEADPROBE_INLINE_RESULTS: '2' });
    const address = await target();
    const job = await submit(app, { targets: [address, address, address] }, { Prefer: 'wait=10' });
    expect(job.body.results.map((r: { index: number }) => r.index)).toEqual([0, 1]);
    expect(job.body.resultsTruncated).toBe(true);
  });

  it('pages results with a cursor in completion order', async () => {
    const app = await startApp();
    const address = await target();
    const job = await submit(app, { targets: Array(5).fill(address) }, { Prefer: 'wait=10' });
    const seen: number[] = [];
    let cursor: string | null = '';
    for (let page = 0; cursor !== null && page < 10; page++) {
      const response: request.Response = await request(app.server)
        .get(`/v1/jobs/${job.body.id}/results`)
        .query(cursor === '' ? { limit: 2 } : { limit: 2, cursor })
        .expect(200);
      expect(response.body.results.length).toBeLessThanOrEqual(2);
      for (const result of response.body.results) seen.push(result.index);
      cursor = response.body.nextCursor;
    }
    expect(cursor).toBeNull();
    expect([...seen].sort()).toEqual([0, 1, 2, 3, 4]);
  });

  it('sends the NDJSON response head at once, before any target has finished', async () => {
    const app = await startApp();
    await app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = app.server.address() as AddressInfo;
    const gated = await gatedTarget();
    const job = await submit(app, { targets: [gated.address] });
    await gated.arrived(1);
    // The only target is held: the head must not wait for its result.
    const response = await new Promise<http.IncomingMessage>((resolve, reject) => {
      http
        .get(
          {
            port,
            path: `/v1/jobs/${job.body.id}/results`,
            headers: { accept: 'application/x-ndjson' },
          },
          resolve,
        )
        .on('error', reject);
    });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toMatch(/^application\/x-ndjson/);
    const status = await request(app.server).get(`/v1/jobs/${job.body.id}`);
    expect(status.body.progress.done).toBe(0);
    let body = '';
    response.setEncoding('utf8');
    response.on('data', (chunk: string) => {
      body += chunk;
    });
    const ended = once(response, 'end');
    gated.release();
    await ended;
    expect(JSON.parse(body.trim())).toMatchObject({ index: 0, ok: true });
  });

  it('streams NDJSON lines as targets finish, and ends with the job', async () => {
    const app = await startApp();
    await app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = app.server.address() as AddressInfo;
    const fast = await target();
    const gated = await gatedTarget();
    const job = await submit(app, { targets: [fast, gated.address] });

    const lines: string[] = [];
    let firstLine!: () => void;
    const gotFirstLine = new Promise<void>((resolve) => {
      firstLine = resolve;
    });
    const ended = new Promise<string>((resolve, reject) => {
      http
        .get(
          {
            port,
            path: `/v1/jobs/${job.body.id}/results`,
            headers: { accept: 'application/x-ndjson' },
          },
          (response) => {
            expect(response.headers['content-type']).toMatch(/^application\/x-ndjson/);
            let buffer = '';
            response.setEncoding('utf8');
            response.on('data', (chunk: string) => {
              buffer += chunk;
              const parts = buffer.split('\n');
              buffer = parts.pop()!;
              lines.push(...parts);
              if (lines.length > 0) firstLine();
            });
            response.on('end', () => resolve(buffer));
          },
        )
        .on('error', reject);
    });
    await gotFirstLine;
    // The job is still running: the gated target has not answered.
    expect(JSON.parse(lines[0]!)).toMatchObject({ index: 0, ok: true });
    const status = await request(app.server).get(`/v1/jobs/${job.body.id}`);
    expect(status.body.status).toBe('running');
    gated.release();
    expect(await ended).toBe('');
    expect(lines.map((line) => JSON.parse(line).index)).toEqual([0, 1]);
  });
});

/** Parses an SSE body into events. */
function parseSse(body: string) {
  return body
    .split('\n\n')
    .filter((block) => block.trim() !== '' && !block.startsWith(':'))
    .map((block) => {
      const fields = Object.fromEntries(
        block
          .split('\n')
          .map((line) => [line.slice(0, line.indexOf(':')), line.slice(line.indexOf(':') + 2)]),
      );
      return { id: fields.id, event: fields.event, data: JSON.parse(fields.data ?? 'null') };
    });
}

describe('GET /v1/jobs/{id}/events', () => {
  it('sends result, progress and done events with ids, and resumes after Last-Event-ID', async () => {
    const app = await startApp();
    const address = await target();
    const job = await submit(app, { targets: [address, address, address] }, { Prefer: 'wait=10' });
    const all = await request(app.server)
      .get(`/v1/jobs/${job.body.id}/events`)
      .buffer(true)
      .parse(textParser);
    expect(all.status).toBe(200);
    expect(all.headers['content-type']).toMatch(/^text\/event-stream/);
    const events = parseSse(all.body);
    const results = events.filter((e) => e.event === 'result');
    expect(results.map((e) => e.id)).toEqual(['1', '2', '3']);
    expect(events.at(-1)).toMatchObject({ event: 'done', id: '3', data: { status: 'succeeded' } });

    const resumed = await request(app.server)
      .get(`/v1/jobs/${job.body.id}/events`)
      .set('Last-Event-ID', '2')
      .buffer(true)
      .parse(textParser);
    const again = parseSse(resumed.body);
    expect(again.filter((e) => e.event === 'result').map((e) => e.id)).toEqual(['3']);
    expect(again.filter((e) => e.event === 'result')[0]?.data).toEqual(results[2]?.data);
    expect(again.at(-1)?.event).toBe('done');
  });

  it('streams a running job live, with heartbeats while nothing happens', async () => {
    const app = await startApp({}, { sseHeartbeatMs: 20 });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = app.server.address() as AddressInfo;
    const gated = await gatedTarget();
    const job = await submit(app, { targets: [gated.address] });
    let text = '';
    let onText: (() => void) | null = null;
    const ended = new Promise<void>((resolve, reject) => {
      http
        .get({ port, path: `/v1/jobs/${job.body.id}/events` }, (response) => {
          response.setEncoding('utf8');
          response.on('data', (chunk: string) => {
            text += chunk;
            onText?.();
          });
          response.on('end', resolve);
        })
        .on('error', reject);
    });
    await new Promise<void>((resolve) => {
      onText = () => {
        if (text.includes(': heartbeat')) resolve();
      };
    });
    expect(text).not.toContain('event: result');
    gated.release();
    await ended;
    const events = parseSse(text);
    // A progress snapshot first; after the result, progress may be folded into done.
    expect(events[0]?.event).toBe('progress');
    expect(events.filter((e) => e.event === 'result')).toHaveLength(1);
    expect(events.at(-1)).toMatchObject({ id: '1', data: { status: 'succeeded' } });
  });

  it('404s for an unknown job', async () => {
    const app = await startApp();
    const response = await request(app.server).get('/v1/jobs/nope/events');
    expect(response.status).toBe(404);
    expect(response.body.code).toBe('job_not_found');
  });
});

/** supertest hands its parser the raw IncomingMessage: collect the SSE stream as text. */
function textParser(res: request.Response, callback: (error: Error | null, body: string) => void) {
  const response = res as unknown as http.IncomingMessage;
  let body = '';
  response.setEncoding('utf8');
  response.on('data', (chunk: string) => {
    body += chunk;
  });
  response.on('end', () => callback(null, body));
}

describe('cancel, delete, list, retention', () => {
  it('cancels queued and running targets at once: every target ends cancelled, none left running', async () => {
    const app = await startApp();
    const gated = await gatedTarget();
    const job = await submit(app, {
      targets: Array(5).fill(gated.address),
      options: { concurrency: 2 },
    });
    await gated.arrived(2);
    const cancelled = await request(app.server).post(`/v1/jobs/${job.body.id}/cancel`).expect(200);
    expect(cancelled.body).toMatchObject({
      status: 'cancelled',
      progress: { total: 5, done: 5, ok: 0, failed: 5 },
    });
    const codes = cancelled.body.results.map(
      (r: { error: { code: string; phase: string } }) => r.error,
    );
    expect(codes.filter((e: { phase: string }) => e.phase === 'headers')).toHaveLength(2);
    expect(codes.filter((e: { phase: string }) => e.phase === 'queued')).toHaveLength(3);
    expect(codes.every((e: { code: string }) => e.code === 'cancelled')).toBe(true);
    expect(app.jobRunner.snapshot()).toMatchObject({ running: 0, queued: 0 });
    gated.release();
    // Cancelling again is harmless.
    await request(app.server).post(`/v1/jobs/${job.body.id}/cancel`).expect(200);
  });

  it('answers a Prefer: wait with the job as it ended when it is deleted meanwhile', async () => {
    const app = await startApp();
    const gated = await gatedTarget();
    const waiting = submit(app, { targets: [gated.address] }, { Prefer: 'wait=10' });
    await gated.arrived(1);
    const [listed] = (await request(app.server).get('/v1/jobs').expect(200)).body.jobs;
    // Deleting cancels first: the wait ends there, with the job cancelled.
    await request(app.server).delete(`/v1/jobs/${listed.id}`).expect(204);
    const answer = await waiting;
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ status: 'cancelled', progress: { done: 1, failed: 1 } });
    gated.release();
  });

  it('answers 404, not the record from before the wait, when the store no longer has the job', async () => {
    const store = new MemoryJobStore({ maxJobs: 10, retentionMs: 60_000 });
    const app = await startApp({}, { store });
    const gated = await gatedTarget();
    const waiting = submit(app, { targets: [gated.address] }, { Prefer: 'wait=1' });
    await gated.arrived(1);
    // Gone from the store while it runs (another process deleted it, say).
    const [listed] = (await store.list({ limit: 1 })).jobs;
    await store.delete(listed!.id);
    const answer = await waiting;
    expect(answer.status).toBe(404);
    expect(answer.body).toMatchObject({ code: 'job_not_found' });
    expect(answer.headers.location).toBeUndefined();
    gated.release();
  });

  it('deletes a job (cancelling it first), then 404s', async () => {
    const app = await startApp();
    const gated = await gatedTarget();
    const job = await submit(app, { targets: [gated.address] });
    await gated.arrived(1);
    await request(app.server).delete(`/v1/jobs/${job.body.id}`).expect(204);
    const gone = await request(app.server).get(`/v1/jobs/${job.body.id}`).expect(404);
    expect(gone.body).toMatchObject({ code: 'job_not_found', status: 404 });
    await request(app.server).delete(`/v1/jobs/${job.body.id}`).expect(404);
    expect(app.jobRunner.snapshot().running).toBe(0);
    gated.release();
  });

  it('lists jobs newest first, filters by status, pages with a cursor', async () => {
    const app = await startApp();
    const address = await target();
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      ids.push((await submit(app, { targets: [address] }, { Prefer: 'wait=10' })).body.id);
    }
    const gated = await gatedTarget();
    const running = (await submit(app, { targets: [gated.address] })).body.id;
    const first = await request(app.server).get('/v1/jobs?limit=2').expect(200);
    expect(first.body.jobs.map((j: { id: string }) => j.id)).toEqual([running, ids[2]]);
    const second = await request(app.server)
      .get(`/v1/jobs?limit=2&cursor=${first.body.nextCursor}`)
      .expect(200);
    expect(second.body.jobs.map((j: { id: string }) => j.id)).toEqual([ids[1], ids[0]]);
    const onlyRunning = await request(app.server).get('/v1/jobs?status=running').expect(200);
    expect(onlyRunning.body.jobs.map((j: { id: string }) => j.id)).toEqual([running]);
    const bad = await request(app.server).get('/v1/jobs?cursor=garbage').expect(400);
    expect(bad.body.code).toBe('invalid_cursor');
    gated.release();
  });

  it('forgets finished jobs after the retention time', async () => {
    const clock = fakeClock(Date.now());
    const store = new MemoryJobStore({ maxJobs: 10, retentionMs: 60_000, now: clock.now });
    const app = await startApp({}, { store });
    const job = await submit(app, { targets: [await target()] }, { Prefer: 'wait=10' });
    await request(app.server).get(`/v1/jobs/${job.body.id}`).expect(200);
    clock.advance(59_000);
    await request(app.server).get(`/v1/jobs/${job.body.id}`).expect(200);
    clock.advance(2_000);
    await request(app.server).get(`/v1/jobs/${job.body.id}`).expect(404);
  });
});

describe('negotiation and cursors', () => {
  it('answers an Accept it cannot serve with 406, and takes */*, JSON and NDJSON where offered', async () => {
    const app = await startApp();
    const created = await submit(app, { targets: ['127.0.0.1:9'] });
    const id = created.body.id as string;
    const refused = await request(app.server).get('/v1/jobs').set('accept', 'application/xml');
    expect(refused.status).toBe(406);
    expect(refused.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(refused.body).toMatchObject({ code: 'not_acceptable' });
    await request(app.server).get(`/v1/jobs/${id}`).set('accept', 'text/html').expect(406);
    await request(app.server).get('/v1/loop').set('accept', 'text/csv').expect(406);
    await request(app.server)
      .get('/v1/jobs')
      .set('accept', 'application/json;q=0, text/plain')
      .expect(406);
    await request(app.server).get('/v1/jobs').set('accept', '*/*').expect(200);
    await request(app.server).get('/v1/jobs').set('accept', 'application/*').expect(200);
    await request(app.server)
      .get(`/v1/jobs/${id}/results`)
      .set('accept', 'application/x-ndjson')
      .expect(200);
  });

  it('refuses a results cursor it did not hand out with 400 invalid_cursor, as lists do', async () => {
    const app = await startApp();
    const created = await submit(app, { targets: ['127.0.0.1:9'] }, { Prefer: 'wait=10' });
    for (const path of [`/v1/jobs/${created.body.id}/results?cursor=zzz`, '/v1/jobs?cursor=zzz']) {
      const response = await request(app.server).get(path);
      expect(response.status, path).toBe(400);
      expect(response.body.code).toBe('invalid_cursor');
    }
    const page = await request(app.server)
      .get(`/v1/jobs/${created.body.id}/results?cursor=0`)
      .expect(200);
    expect(page.body.results).toHaveLength(1);
  });
});
