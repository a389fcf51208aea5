// Who may call and how much: API keys, failed-auth throttling, target rate limits, queue caps,
// back-pressure, the address policy at the API, and log redaction.
import { createHash } from 'node:crypto';
import { Writable } from 'node:stream';
import request from 'supertest';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { buildApp } from '../../src/app.js';
import { startApp, testConfig } from '../helper.js';
import { normalResponse, respondWith, startTcpServer } from '../support/servers.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((close) => close()));
});

async function target(handler = respondWith(normalResponse)) {
  const server = await startTcpServer(handler);
  cleanups.push(() => server.close());
  return { address: `127.0.0.1:${server.port}`, server };
}

/** A pino destination that keeps what was logged, for assertions on log lines. */
function captureLogs() {
  let text = '';
  const stream = new Writable({
    write(chunk, _encoding, done) {
      text += chunk.toString();
      done();
    },
  });
  return { stream, logged: () => text };
}

const KEY = 'test-key-0123456789abcdef';
const OTHER_KEY = 'another-key-0123456789abcdef';
const sha = (key: string) => `sha256:${createHash('sha256').update(key).digest('hex')}`;

describe('API keys', () => {
  it('requires Authorization: Bearer under /v1, keeps health and docs open', async () => {
    // One key given in clear, one as its hash: both are held only as hashes.
    const app = await startApp({ HEADPROBE_API_KEYS: `${KEY},${sha(OTHER_KEY)}` });
    const missing = await request(app.server).get('/v1/jobs').expect(401);
    expect(missing.headers['www-authenticate']).toBe('Bearer realm="headprobe"');
    expect(missing.body).toMatchObject({ status: 401, code: 'unauthorized' });
    await request(app.server)
      .get('/v1/jobs')
      .set('Authorization', 'Bearer wrong-key-000000000')
      .expect(401);
    await request(app.server).get('/v1/jobs').set('Authorization', `Basic ${KEY}`).expect(401);
    await request(app.server).get('/v1/jobs').set('Authorization', `Bearer ${KEY}`).expect(200);
    await request(app.server)
      .get('/v1/jobs')
      .set('Authorization', `bearer ${OTHER_KEY}`)
      .expect(200);
    await request(app.server).get('/livez').expect(200);
    await request(app.server).get('/readyz').expect(200);
    await request(app.server).get('/openapi.json').expect(200);
    await request(app.server).get('/docs/').expect(200);
  });

  it('cannot be bypassed with a percent-encoded path', async () => {
    const app = await startApp({ HEADPROBE_API_KEYS: KEY });
    for (const path of ['/%761/jobs', '/v%31/jobs', '/%76%31/loop']) {
      const response = await request(app.server).get(path);
      expect(response.status, path).toBe(401);
    }
    await request(app.server)
      .post('/%761/jobs')
      .send({ targets: ['127.0.0.1:9'] })
      .expect(401);
  });

  it('throttles repeated failed authentication from one address, never a valid key', async () => {
    const app = await startApp({ HEADPROBE_API_KEYS: KEY, HEADPROBE_AUTH_FAILURES_PER_MIN: '3' });
    const attempt = (key: string) =>
      request(app.server).get('/v1/jobs').set('Authorization', `Bearer ${key}`);
    for (let i = 0; i < 3; i++) await attempt('nope-nope-nope-nope').expect(401);
    const throttled = await attempt('nope-nope-nope-nope').expect(429);
    expect(throttled.body.code).toBe('too_many_auth_failures');
    expect(Number(throttled.headers['retry-after'])).toBeGreaterThan(0);
    // Someone else behind the same address, with a valid key, is not locked out.
    await attempt(KEY).expect(200);
    await request(app.server).get('/v1/jobs').expect(429);
  });

  it('never writes the key to the logs', async () => {
    const { stream, logged } = captureLogs();
    const app = await buildApp(testConfig({ HEADPROBE_API_KEYS: KEY, LOG_LEVEL: 'trace' }), {
      logger: { level: 'trace', stream },
    });
    cleanups.push(() => app.close());
    await request(app.server).get('/v1/jobs').set('Authorization', `Bearer ${KEY}`).expect(200);
    await request(app.server)
      .get('/v1/jobs')
      .set('Authorization', 'Bearer wrong-key-000000000')
      .expect(401);
    expect(logged()).toContain('"msg":"request"');
    expect(logged()).not.toContain(KEY);
    expect(logged()).not.toContain('wrong-key');
  });

  it('says in its start-up log that the API is open when no keys are set', async () => {
    const { stream, logged } = captureLogs();
    const app = await buildApp(testConfig({ LOG_LEVEL: 'info' }), {
      logger: { level: 'info', stream },
    });
    cleanups.push(() => app.close());
    expect(logged()).toContain('HEADPROBE_API_KEYS is not set: the API is open');
  });
});

describe('limits', () => {
  it('rate-limits each caller in targets per minute, not requests', async () => {
    const app = await startApp({
      HEADPROBE_API_KEYS: `${KEY},${OTHER_KEY}`,
      HEADPROBE_RATE_LIMIT_TARGETS_PER_MIN: '5',
    });
    const { address } = await target();
    const submit = (key: string, count: number) =>
      request(app.server)
        .post('/v1/jobs')
        .set('Authorization', `Bearer ${key}`)
        .send({ targets: Array(count).fill(address) });
    expect((await submit(KEY, 3)).status).toBe(202);
    const over = await submit(KEY, 3);
    expect(over.status).toBe(429);
    expect(over.body).toMatchObject({ code: 'rate_limited' });
    expect(Number(over.headers['retry-after'])).toBeGreaterThan(0);
    expect((await submit(KEY, 2)).status).toBe(202); // the refused 3 were not spent
    expect((await submit(OTHER_KEY, 5)).status).toBe(202); // another key has its own budget
    expect((await submit(OTHER_KEY, 6)).body.code).toBe('rate_limited');
  });

  it('charges only accepted work: refused submissions and replays give their targets back', async () => {
    const app = await startApp({
      HEADPROBE_RATE_LIMIT_TARGETS_PER_MIN: '10',
      HEADPROBE_MAX_JOBS: '1',
    });
    const silent = await target(() => {});
    const submit = (targets: string[], key?: string) => {
      const call = request(app.server).post('/v1/jobs');
      if (key !== undefined) call.set('Idempotency-Key', key);
      return call.send({ targets, options: { timeoutMs: 10_000 } });
    };
    const running = await submit(Array(5).fill(silent.address), 'first').expect(202);
    // The store holds one job and it runs: each of these is refused, and costs nothing.
    for (let i = 0; i < 3; i++) {
      const refused = await submit(Array(5).fill(silent.address));
      expect(refused.status).toBe(503);
      expect(refused.body.code).toBe('too_many_jobs');
    }
    // A replay of the first job is not new work either.
    await submit(Array(5).fill(silent.address), 'first').expect(202);
    await request(app.server).post(`/v1/jobs/${running.body.id}/cancel`).expect(200);
    // 5 of the 10 spent: 5 more fit, and then the budget is gone.
    await submit(Array(5).fill('127.0.0.1:9')).expect(202);
    expect((await submit(['127.0.0.1:9'])).body.code).toBe('rate_limited');
  });

  it('bounds the caller-header bytes of a request and of a whole job (422)', async () => {
    const app = await startApp({
      HEADPROBE_MAX_HEADER_BYTES: '1000',
      HEADPROBE_MAX_JOB_HEADER_MB: '1',
    });
    const submit = (targets: number, headers: Record<string, string>, followRedirects = 0) =>
      request(app.server)
        .post('/v1/jobs')
        .send({
          targets: Array(targets).fill('127.0.0.1:9'),
          options: { headers, followRedirects },
        });
    const tooBig = await submit(1, { 'X-Big': 'a'.repeat(1000) });
    expect(tooBig.status).toBe(422);
    expect(tooBig.body).toMatchObject({ code: 'header_budget_exceeded' });
    // 990 bytes a request: 1,000 requests fit in 1 MiB, 1,100 do not, and redirects count.
    const headers = { 'X-Pad': 'a'.repeat(990 - 'X-Pad'.length - 4) };
    await submit(1_000, headers).expect(202);
    expect((await submit(1_100, headers)).body.code).toBe('header_budget_exceeded');
    expect((await submit(100, headers, 10)).body.code).toBe('header_budget_exceeded');
  });

  it('caps queued targets per caller (429) and overall (503 + Retry-After); running jobs go on', async () => {
    const app = await startApp({
      HEADPROBE_API_KEYS: `${KEY},${OTHER_KEY}`,
      HEADPROBE_MAX_QUEUED_TARGETS_PER_KEY: '3',
      HEADPROBE_MAX_QUEUED_TARGETS: '5',
    });
    let release!: () => void;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    const { address } = await target((socket) => {
      socket.once('data', () => void released.then(() => socket.end(normalResponse)));
    });
    const submit = (key: string, count: number) =>
      request(app.server)
        .post('/v1/jobs')
        .set('Authorization', `Bearer ${key}`)
        .send({ targets: Array(count).fill(address) });
    const running = await submit(KEY, 3);
    expect(running.status).toBe(202);
    const perKey = await submit(KEY, 1);
    expect(perKey.status).toBe(429);
    expect(perKey.body.code).toBe('too_many_queued_targets');
    const overall = await submit(OTHER_KEY, 3);
    expect(overall.status).toBe(503);
    expect(overall.body.code).toBe('overloaded');
    expect(overall.headers['retry-after']).toBe('5');
    release();
    const done = await request(app.server)
      .post('/v1/jobs')
      .set('Authorization', `Bearer ${OTHER_KEY}`)
      .set('Prefer', 'wait=10')
      .send({ targets: [address] });
    expect(done.status).toBe(200);
    const first = await request(app.server)
      .get(`/v1/jobs/${running.body.id}`)
      .set('Authorization', `Bearer ${KEY}`);
    expect(first.body.progress).toMatchObject({ done: 3, ok: 3 });
  });

  it('refuses new jobs under memory pressure with 503, while reads keep working', async () => {
    const app = await startApp(
      { HEADPROBE_MAX_HEAP_USED_MB: '1', HEADPROBE_MAX_EVENT_LOOP_DELAY_MS: '0' },
      { pressureSampleMs: 20 },
    );
    // The first load sample lands one interval after start: wait until the service has one.
    await vi.waitFor(() => expect(app.load.pressure()).toBe('heap used'), {
      timeout: 5000,
      interval: 10,
    });
    const refused = await request(app.server)
      .post('/v1/jobs')
      .send({ targets: ['127.0.0.1:9'] });
    expect(refused.status).toBe(503);
    expect(refused.body).toMatchObject({ code: 'overloaded' });
    expect(refused.headers['retry-after']).toBe('5');
    await request(app.server).get('/v1/jobs').expect(200);
    await request(app.server).get('/livez').expect(200);
    const ready = await request(app.server).get('/readyz').expect(503);
    expect(ready.body).toEqual({ status: 'overloaded' });
  });

  it('refuses an oversized body with a problem', async () => {
    const app = await startApp();
    const response = await request(app.server)
      .post('/v1/jobs')
      .send({ targets: Array(300_000).fill('host-name-that-is-long.example.com') });
    expect(response.status).toBe(413);
    expect(response.body).toMatchObject({ status: 413, code: 'body_too_large' });
  });
});

describe('the address policy at the API', () => {
  it('blocks loopback unless opted in, without a packet, and never probes the service itself', async () => {
    const { address, server } = await target();
    const closed = await startApp({ HEADPROBE_ALLOW_CIDRS: '' });
    const blocked = await request(closed.server)
      .post('/v1/jobs')
      .set('Prefer', 'wait=10')
      .send({
        targets: [address, `localhost:${server.port}`, 'http://169.254.169.254/latest/meta-data/'],
      })
      .expect(200);
    for (const result of blocked.body.results) {
      expect(result.error).toEqual({
        code: 'blocked_by_policy',
        phase: 'connect',
        message: 'destination not permitted by policy',
      });
    }
    expect(server.connections).toBe(0);

    const open = await startApp({ HEADPROBE_ALLOW_CIDRS: '127.0.0.0/8,::1/128' });
    await open.listen({ port: 0, host: '127.0.0.1' });
    const self = `127.0.0.1:${(open.server.address() as { port: number }).port}`;
    const mixed = await request(open.server)
      .post('/v1/jobs')
      .set('Prefer', 'wait=10')
      .send({ targets: [address, self] })
      .expect(200);
    expect(mixed.body.results[0]).toMatchObject({ ok: true, status: 200 });
    expect(mixed.body.results[1].error.code).toBe('blocked_by_policy');
  });
});
