// With API keys on, a job belongs to the key that created it: other keys cannot see, list,
// follow, cancel or delete it, nor reach it through its Idempotency-Key; an operator key sees
// every job; /v1/loop shows other callers' jobs only as totals. And callers get a fair share:
// of the slots, and of the result streams.
import { type AddressInfo, createServer, type Server } from 'node:net';
import request from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import { startApp } from '../helper.js';
import { normalResponse, respondWith, startTcpServer } from '../support/servers.js';

const KEY_A = 'key-of-caller-a-0123456789';
const KEY_B = 'key-of-caller-b-0123456789';
const OPERATOR = 'operator-key-0123456789abc';

const servers: Server[] = [];
afterEach(() => {
  for (const server of servers.splice(0)) server.close();
});

/** A target that accepts and never answers: its job stays running. */
async function silentTarget(): Promise<string> {
  const server = createServer(() => {});
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return `127.0.0.1:${address.port}`;
}

async function keyedApp() {
  const app = await startApp({
    HEADPROBE_API_KEYS: `${KEY_A},${KEY_B}`,
    HEADPROBE_OPERATOR_KEYS: OPERATOR,
  });
  const as = (key: string) => ({
    get: (path: string) => request(app.server).get(path).set('Authorization', `Bearer ${key}`),
    post: (path: string) => request(app.server).post(path).set('Authorization', `Bearer ${key}`),
    delete: (path: string) =>
      request(app.server).delete(path).set('Authorization', `Bearer ${key}`),
  });
  return { app, a: as(KEY_A), b: as(KEY_B), operator: as(OPERATOR) };
}

describe('ownership of jobs', () => {
  it('hides a job from every other key: get, results, events, cancel, delete and lists', async () => {
    const { a, b, operator } = await keyedApp();
    const target = await silentTarget();
    const submitted = await a
      .post('/v1/jobs')
      .send({ targets: [target], options: { timeoutMs: 10_000 } })
      .expect(202);
    const id = submitted.body.id as string;

    for (const call of [
      b.get(`/v1/jobs/${id}`),
      b.get(`/v1/jobs/${id}/results`),
      b.get(`/v1/jobs/${id}/events`).set('accept', 'text/event-stream'),
      b.post(`/v1/jobs/${id}/cancel`),
      b.delete(`/v1/jobs/${id}`),
    ]) {
      const response = await call;
      expect(response.status).toBe(404);
      expect(response.body).toMatchObject({ code: 'job_not_found' });
    }
    expect((await b.get('/v1/jobs').expect(200)).body.jobs).toEqual([]);

    // Still running, untouched by B's attempts; its owner and the operator see it.
    expect((await a.get(`/v1/jobs/${id}`).expect(200)).body.status).toBe('running');
    expect(
      (await a.get('/v1/jobs').expect(200)).body.jobs.map((j: { id: string }) => j.id),
    ).toEqual([id]);
    await operator.get(`/v1/jobs/${id}`).expect(200);
    expect((await operator.get('/v1/jobs').expect(200)).body.jobs).toHaveLength(1);
    await a.post(`/v1/jobs/${id}/cancel`).expect(200);
  });

  it('keeps Idempotency-Keys per caller: the same key and body from another key is its own job', async () => {
    const { a, b } = await keyedApp();
    const body = { targets: ['127.0.0.1:9'] };
    const first = await a.post('/v1/jobs').set('Idempotency-Key', 'shared').send(body).expect(202);
    const replay = await a.post('/v1/jobs').set('Idempotency-Key', 'shared').send(body).expect(202);
    expect(replay.body.id).toBe(first.body.id);

    const other = await b.post('/v1/jobs').set('Idempotency-Key', 'shared').send(body).expect(202);
    expect(other.body.id).not.toBe(first.body.id);
    // A different body under B's own key is B's conflict, and says nothing about A.
    const conflict = await b
      .post('/v1/jobs')
      .set('Idempotency-Key', 'shared')
      .send({ targets: ['127.0.0.1:10'] })
      .expect(422);
    expect(conflict.body.code).toBe('idempotency_key_reused');
  });

  it('shows other callers’ jobs in /v1/loop only as totals; the operator sees each', async () => {
    const { a, b, operator } = await keyedApp();
    const target = await silentTarget();
    const submitted = await a
      .post('/v1/jobs')
      .send({ targets: [target, target], options: { timeoutMs: 10_000 } })
      .expect(202);
    const seenByB = (await b.get('/v1/loop').expect(200)).body;
    expect(seenByB.jobs).toEqual([]);
    expect(seenByB.otherCallersJobs).toMatchObject({ jobs: 1 });
    expect(seenByB.otherCallersJobs.running + seenByB.otherCallersJobs.queued).toBe(2);
    const seenByA = (await a.get('/v1/loop').expect(200)).body;
    expect(seenByA.jobs.map((j: { jobId: string }) => j.jobId)).toEqual([submitted.body.id]);
    expect(seenByA.otherCallersJobs).toEqual({ jobs: 0, running: 0, queued: 0 });
    expect((await operator.get('/v1/loop').expect(200)).body.jobs).toHaveLength(1);
    await a.post(`/v1/jobs/${submitted.body.id}/cancel`).expect(200);
  });
});

describe('fair share between callers', () => {
  it('runs another caller’s small job at once while one caller’s slow job wants every slot', async () => {
    const app = await startApp({
      HEADPROBE_API_KEYS: `${KEY_A},${KEY_B}`,
      HEADPROBE_CONCURRENCY: '20',
      // So that A's one silent destination could take every slot, were callers not capped.
      HEADPROBE_CONCURRENCY_PER_DESTINATION: '100',
    });
    const silent = await silentTarget();
    const answering = await startTcpServer(respondWith(normalResponse));
    try {
      await request(app.server)
        .post('/v1/jobs')
        .set('Authorization', `Bearer ${KEY_A}`)
        .send({
          targets: Array(200).fill(silent),
          options: { timeoutMs: 20_000, concurrencyPerDestination: 100 },
        })
        .expect(202);
      const started = Date.now();
      const small = await request(app.server)
        .post('/v1/jobs')
        .set('Authorization', `Bearer ${KEY_B}`)
        .set('Prefer', 'wait=10')
        .send({ targets: Array(5).fill(`127.0.0.1:${answering.port}`) });
      // Without a caller cap B waits for A's 20,000 ms timeouts; with it, 2 slots are free.
      expect(small.status).toBe(200);
      expect(small.body.progress).toMatchObject({ done: 5, ok: 5 });
      expect(Date.now() - started).toBeLessThan(5_000);
    } finally {
      await answering.close();
    }
  });

  it('caps open result streams per caller with a 429 problem', async () => {
    const app = await startApp({
      HEADPROBE_API_KEYS: `${KEY_A},${KEY_B}`,
      HEADPROBE_MAX_STREAMS_PER_CALLER: '2',
    });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    const silent = await silentTarget();
    const job = await request(app.server)
      .post('/v1/jobs')
      .set('Authorization', `Bearer ${KEY_A}`)
      .send({ targets: [silent], options: { timeoutMs: 20_000 } })
      .expect(202);
    const follow = (kind: 'ndjson' | 'sse', key = KEY_A, signal?: AbortSignal) =>
      fetch(`${base}/v1/jobs/${job.body.id}/${kind === 'sse' ? 'events' : 'results'}`, {
        headers: {
          authorization: `Bearer ${key}`,
          accept: kind === 'sse' ? 'text/event-stream' : 'application/x-ndjson',
        },
        signal,
      });
    const open = new AbortController();
    const first = await follow('ndjson', KEY_A, open.signal);
    const second = await follow('sse', KEY_A, open.signal);
    expect([first.status, second.status]).toEqual([200, 200]);
    const third = await follow('ndjson');
    expect(third.status).toBe(429);
    expect(third.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(await third.json()).toMatchObject({ code: 'too_many_streams' });
    expect((await follow('sse')).status).toBe(429);
    // Closing a stream gives its slot back.
    open.abort();
    await expect
      .poll(async () => {
        const again = await follow('ndjson', KEY_A);
        void again.body?.cancel();
        return again.status;
      })
      .toBe(200);
  });
});
