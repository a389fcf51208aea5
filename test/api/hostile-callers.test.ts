// Callers that try to hold the service's connections or memory, or to make it answer outside
// the problem format: each is cut, refused or answered with a problem, never a crash or a hang.
import { once } from 'node:events';
import { type AddressInfo, connect, type Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { PendingBodyBudget } from '../../src/http/body-reader.js';
import { startApp } from '../helper.js';

async function listening(
  env: NodeJS.ProcessEnv = {},
): Promise<{ app: FastifyInstance; port: number }> {
  const app = await startApp(env);
  await app.listen({ port: 0, host: '127.0.0.1' });
  return { app, port: (app.server.address() as AddressInfo).port };
}

/** A raw connection: what it was sent back, and when the server closed it. */
async function rawConnection(port: number) {
  const socket = connect(port, '127.0.0.1');
  socket.setNoDelay(true);
  await once(socket, 'connect');
  let received = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    received += chunk;
  });
  socket.on('error', () => {});
  const closed = once(socket, 'close').then(() => received);
  return { socket, closed, received: () => received };
}

function write(socket: Socket, data: string | Buffer): Promise<void> {
  return new Promise((resolve, reject) =>
    socket.write(data, (error) => (error ? reject(error) : resolve())),
  );
}

function problemOf(response: string): {
  status: number;
  type: string;
  body: Record<string, unknown>;
} {
  const [head = '', body = ''] = response.split('\r\n\r\n');
  return {
    status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1]),
    type: /content-type: ([^\r]+)/i.exec(head)?.[1] ?? '',
    body: JSON.parse(body) as Record<string, unknown>,
  };
}

describe('slow and large requests', () => {
  it('cuts a body that trickles in past the request deadline with 408', async () => {
    const { port } = await listening({
      HEADPROBE_REQUEST_TIMEOUT_S: '1',
      HEADPROBE_HEADERS_TIMEOUT_S: '1',
    });
    const client = await rawConnection(port);
    const started = Date.now();
    await write(
      client.socket,
      'POST /v1/jobs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{',
    );
    // One byte every 100 ms, for longer than the deadline and its check interval together.
    const trickle = setInterval(() => {
      if (client.socket.writable) client.socket.write(' ');
    }, 100);
    const response = await client.closed;
    clearInterval(trickle);
    const elapsed = Date.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(900);
    expect(elapsed).toBeLessThan(3_500);
    const problem = problemOf(response);
    expect(problem.status).toBe(408);
    expect(problem.type).toBe('application/problem+json');
    expect(problem.body).toMatchObject({ status: 408, code: 'request_timeout' });
  });

  it('does not cut a result stream that outlives the request deadline', async () => {
    const { app, port } = await listening({
      HEADPROBE_REQUEST_TIMEOUT_S: '1',
      HEADPROBE_HEADERS_TIMEOUT_S: '1',
    });
    // A target that never answers within 2.5 s keeps the job, and so its stream, open.
    const silent = await import('node:net').then(({ createServer }) => {
      const server = createServer(() => {});
      return new Promise<import('node:net').Server>((resolve) =>
        server.listen(0, '127.0.0.1', () => resolve(server)),
      );
    });
    try {
      const target = `127.0.0.1:${(silent.address() as AddressInfo).port}`;
      const submitted = await request(app.server)
        .post('/v1/jobs')
        .send({ targets: [target], options: { timeoutMs: 2500 } })
        .expect(202);
      const started = Date.now();
      const response = await fetch(
        `http://127.0.0.1:${port}/v1/jobs/${submitted.body.id}/results`,
        {
          headers: { accept: 'application/x-ndjson' },
        },
      );
      const lines = (await response.text()).trim().split('\n');
      expect(Date.now() - started).toBeGreaterThan(1_500);
      expect(lines).toHaveLength(1);
      // The target's own deadline ended it, not the request deadline: the stream carried it.
      expect(JSON.parse(lines[0]!)).toMatchObject({ ok: false, index: 0 });
    } finally {
      silent.close();
    }
  });

  it('refuses a body once the bytes of all pending bodies would pass their cap, with 503', async () => {
    const { app, port } = await listening({ HEADPROBE_MAX_PENDING_BODY_MB: '1' });
    const head =
      'POST /v1/jobs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 3000000\r\n\r\n';
    const first = await rawConnection(port);
    const second = await rawConnection(port);
    try {
      await write(first.socket, head + '{"targets":["'.padEnd(700_000, 'a'));
      // The first body's buffer has doubled its way to what it received, near the whole budget.
      await expect
        .poll(() => app.pendingBodies.reserved, { timeout: 5000 })
        .toBeGreaterThanOrEqual(700_000);
      await write(second.socket, `${head}{"targets":["a`);
      await expect.poll(() => second.received(), { timeout: 5000 }).toContain('\r\n\r\n{');
      const problem = problemOf(second.received());
      expect(problem.status).toBe(503);
      expect(problem.body).toMatchObject({ code: 'overloaded' });
    } finally {
      first.socket.destroy();
      second.socket.destroy();
    }
    // Gone clients give their budget back.
    await expect.poll(() => app.pendingBodies.reserved, { timeout: 5000 }).toBe(0);
  });
});

describe('the pending-body budget', () => {
  it('gives one client address at most an eighth of it (at least two of the largest bodies)', () => {
    const MiB = 1024 * 1024;
    const budget = new PendingBodyBudget(64 * MiB, 4 * MiB);
    expect(budget.tryReserve('10.0.0.1', 8 * MiB)).toBe(true);
    expect(budget.tryReserve('10.0.0.1', 1)).toBe(false);
    expect(budget.tryReserve('10.0.0.2', 8 * MiB)).toBe(true);
    budget.release('10.0.0.1', 8 * MiB);
    expect(budget.tryReserve('10.0.0.1', 4 * MiB)).toBe(true);
    expect(budget.reserved).toBe(12 * MiB);
    // A small budget is all one client's: no share below two bodies.
    const small = new PendingBodyBudget(1 * MiB, 4 * MiB);
    expect(small.tryReserve('10.0.0.1', 1 * MiB)).toBe(true);
  });
});

describe('connection caps', () => {
  it('refuses connections over the per-address cap with a 503 problem, and takes them again later', async () => {
    const { port } = await listening({ HEADPROBE_MAX_CONNECTIONS_PER_CLIENT: '3' });
    const held = await Promise.all([1, 2, 3].map(() => rawConnection(port)));
    const fourth = await rawConnection(port);
    const problem = problemOf(await fourth.closed);
    expect(problem.status).toBe(503);
    expect(problem.type).toBe('application/problem+json');
    expect(problem.body).toMatchObject({ code: 'too_many_connections' });
    held[0]!.socket.destroy();
    await held[0]!.closed;
    await expect
      .poll(async () => (await fetch(`http://127.0.0.1:${port}/livez`)).status, { timeout: 5000 })
      .toBe(200);
    for (const { socket } of held) socket.destroy();
  });

  it('refuses connections over the total cap', async () => {
    const { app, port } = await listening({ HEADPROBE_MAX_CONNECTIONS: '2' });
    const held = await Promise.all([1, 2].map(() => rawConnection(port)));
    const third = await rawConnection(port);
    expect(problemOf(await third.closed).body).toMatchObject({ code: 'too_many_connections' });
    expect(app.connections.refused).toBe(1);
    for (const { socket } of held) socket.destroy();
  });
});

describe('errors before any route runs are problems too', () => {
  it('answers a job id over the parameter limit with 414, without echoing it', async () => {
    const app = await startApp();
    const id = 'x'.repeat(10_000);
    const response = await request(app.server).get(`/v1/jobs/${id}`);
    expect(response.status).toBe(414);
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(response.body).toMatchObject({ status: 414, code: 'uri_too_long' });
    expect(response.text).not.toContain('xxxxxxxxxx');
  });

  it('answers a path that is not valid percent-encoding with 400 invalid_url', async () => {
    const app = await startApp();
    const response = await request(app.server).get('/v1/jobs/%ff%fe');
    expect(response.status).toBe(400);
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(response.body).toMatchObject({ code: 'invalid_url' });
  });

  it('answers /events asked for as JSON with a 406 problem', async () => {
    const app = await startApp();
    const response = await request(app.server)
      .get('/v1/jobs/00000000-0000-0000-0000-000000000000/events')
      .set('accept', 'application/json');
    expect(response.status).toBe(406);
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(response.body).toMatchObject({ status: 406, code: 'not_acceptable' });
  });

  it('does not echo a long unknown path in its 404', async () => {
    const app = await startApp();
    const response = await request(app.server).get(`/${'y'.repeat(5_000)}`);
    expect(response.status).toBe(404);
    expect(response.text).not.toContain('yyyyyyyyyy');
  });

  it('answers a head over the size limit with 431, and framing Node refuses with 400', async () => {
    const { port } = await listening();
    const big = await rawConnection(port);
    // Not awaited: the server may answer (and close) before the client has written it all.
    big.socket.write(`GET /livez HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(100_000)}\r\n\r\n`);
    const tooLarge = problemOf(await big.closed);
    expect(tooLarge.status).toBe(431);
    expect(tooLarge.type).toBe('application/problem+json');
    expect(tooLarge.body).toMatchObject({ code: 'headers_too_large' });

    const smuggled = await rawConnection(port);
    await write(
      smuggled.socket,
      'POST /v1/jobs HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
    );
    const framing = problemOf(await smuggled.closed);
    expect(framing.status).toBe(400);
    expect(framing.body).toMatchObject({ code: 'malformed_request' });
  });

  it('answers a wrong media type and a body shorter than its Content-Length in the catalog', async () => {
    const app = await startApp();
    const media = await request(app.server)
      .post('/v1/jobs')
      .set('content-type', 'text/x-nope')
      .send('targets');
    expect(media.status).toBe(415);
    expect(media.body).toMatchObject({ code: 'unsupported_media_type' });
    expect(media.text).not.toContain('x-nope');
    // text/plain too: no parser buffers a body the API would refuse anyway.
    const text = await request(app.server)
      .post('/v1/jobs')
      .set('content-type', 'text/plain')
      .send('x'.repeat(100_000));
    expect(text.status).toBe(415);
    expect(text.body).toMatchObject({ code: 'unsupported_media_type' });
  });
});

describe('pipelined requests', () => {
  it('give back their stream slots and open-request entries when the client goes away', async () => {
    const { app, port } = await listening({ HEADPROBE_MAX_STREAMS_PER_CALLER: '100' });
    const { createServer } = await import('node:net');
    const silent = createServer(() => {});
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const target = `127.0.0.1:${(silent.address() as AddressInfo).port}`;
      const job = await request(app.server)
        .post('/v1/jobs')
        .send({ targets: [target], options: { timeoutMs: 20_000 } })
        .expect(202);
      const follow = `GET /v1/jobs/${job.body.id}/results HTTP/1.1\r\nHost: x\r\nAccept: application/x-ndjson\r\n\r\n`;
      // A stream that stays open, five more queued behind it, and 200 reads behind those:
      // Node never closes the queued responses themselves when the socket dies.
      const client = await rawConnection(port);
      await write(
        client.socket,
        follow.repeat(6) + 'GET /livez HTTP/1.1\r\nHost: x\r\n\r\n'.repeat(200),
      );
      await expect.poll(() => app.streams.open, { timeout: 5000 }).toBeGreaterThan(0);
      client.socket.destroy();
      await expect.poll(() => app.streams.open, { timeout: 5000 }).toBe(0);
      await expect.poll(() => app.openRequests.list(), { timeout: 5000 }).toEqual([]);
    } finally {
      silent.close();
    }
  });
});

describe('targets are valid Unicode within the parser’s length', () => {
  it('names the index of a target with invalid UTF-8 or a lone surrogate', async () => {
    const { port } = await listening();
    const body = Buffer.concat([
      Buffer.from('{"targets":["127.0.0.1:9","bad'),
      Buffer.from([0xff, 0xfe]),
      Buffer.from('.example","x\\ud800y.example"]}'),
    ]);
    const response = await fetch(`http://127.0.0.1:${port}/v1/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    expect(response.status).toBe(400);
    const problem = (await response.json()) as { code: string; errors: Array<{ field: string }> };
    expect(problem.code).toBe('validation_failed');
    expect(problem.errors.map((e) => e.field)).toEqual(['body.targets.1', 'body.targets.2']);
  });

  it('refuses a target longer than the parser takes in the schema', async () => {
    const app = await startApp();
    const long = `http://127.0.0.1:9/${'a'.repeat(2_100)}`;
    const response = await request(app.server)
      .post('/v1/jobs')
      .send({ targets: [long] });
    expect(response.status).toBe(400);
    expect(response.body.errors[0].field).toBe('body.targets.0');
  });
});
