// GET /v1/jobs/{id}/results as a download: CSV parsed back with a CSV parser, HAR through the
// HAR schema (har-validator), both from a finished job against loopback targets, selected by
// ?format= or by Accept; a job that still runs answers 409 job_not_finished.
import { parse as parseCsv } from 'csv-parse/sync';
import type { FastifyInstance } from 'fastify';
import harValidator from 'har-validator';
import request from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import type { HarEntry } from '../../src/exports/har.js';
import { CSV_COLUMNS } from '../../src/exports/result-row.js';
import { startApp } from '../helper.js';
import {
  type ConnectionHandler,
  normalResponse,
  respondWith,
  startTcpServer,
} from '../support/servers.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((close) => close()));
});

async function target(handler: ConnectionHandler = respondWith(normalResponse)) {
  const server = await startTcpServer(handler);
  cleanups.push(() => server.close());
  return `127.0.0.1:${server.port}`;
}

/** `/old` redirects to `/new`, which answers 200 with a cookie. */
const redirecting: ConnectionHandler = (socket) => {
  socket.once('data', (data) => {
    const path = data.toString('latin1').split(' ')[1];
    socket.end(
      path === '/old'
        ? 'HTTP/1.1 302 Found\r\nLocation: /new\r\nContent-Length: 0\r\n\r\n'
        : 'HTTP/1.1 200 OK\r\nSet-Cookie: sid=1; Secure; HttpOnly\r\nContent-Type: text/plain\r\nContent-Length: 0\r\n\r\n',
    );
  });
};

async function finishedJob(app: FastifyInstance, targets: string[], options: object = {}) {
  const response = await request(app.server)
    .post('/v1/jobs')
    .set('Prefer', 'wait=30')
    .send({ targets, options });
  expect(response.status).toBe(200);
  return response.body.id as string;
}

async function allResults(app: FastifyInstance, id: string) {
  const page = await request(app.server)
    .get(`/v1/jobs/${id}/results`)
    .query({ limit: 1000 })
    .expect(200);
  return page.body.results as Array<{ index: number; target: string; status: number | null }>;
}

describe('GET /v1/jobs/{id}/results exports', () => {
  it('gives a finished job as CSV: the documented columns, one row per result', async () => {
    const app = await startApp();
    const ok = await target();
    const targets = [ok, `http://${ok}/a,b?"q"`, '127.0.0.1:1', 'not a target'];
    const id = await finishedJob(app, targets);

    const response = await request(app.server).get(`/v1/jobs/${id}/results?format=csv`);
    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect(response.headers['content-disposition']).toBe(
      `attachment; filename="headprobe-${id}.csv"`,
    );
    const [header, ...rows] = parseCsv(response.text) as string[][];
    expect(header).toEqual([...CSV_COLUMNS]);
    const records = rows.map((row) => Object.fromEntries(header!.map((name, i) => [name, row[i]])));
    const byIndex = new Map(records.map((record) => [Number(record.index), record]));
    expect([...byIndex.keys()].sort()).toEqual([0, 1, 2, 3]);
    const results = await allResults(app, id);
    for (const result of results) {
      const record = byIndex.get(result.index)!;
      expect(record.target).toBe(result.target);
      expect(record.status).toBe(result.status === null ? '' : String(result.status));
    }
    expect(byIndex.get(2)).toMatchObject({ ok: 'false', errorCode: 'connection_refused' });
    expect(byIndex.get(3)).toMatchObject({ errorCode: 'invalid_target' });
    expect(JSON.parse(byIndex.get(0)!.headers!)).toContainEqual(['Server', 'nginx/1.24.0']);
    expect(response.headers.vary).toBe('Accept');
  });

  it('keeps a header a spreadsheet would run as a formula as text', async () => {
    const app = await startApp();
    const hostile = await target(
      respondWith('HTTP/1.1 200 =HYPERLINK("x")\r\nServer: =cmd|x\r\nContent-Length: 0\r\n\r\n'),
    );
    const id = await finishedJob(app, [hostile]);
    const response = await request(app.server).get(`/v1/jobs/${id}/results?format=csv`);
    const [row] = parseCsv(response.text, { columns: true }) as Array<Record<string, string>>;
    expect(row).toMatchObject({ server: "'=cmd|x", statusText: `'=HYPERLINK("x")` });
    expect(row!.target).toBe(hostile);
  });

  it('gives a finished job as HAR 1.2 that passes the HAR schema, redirect hops as entries', async () => {
    const app = await startApp();
    const hops = await target(redirecting);
    const id = await finishedJob(app, [`http://${hops}/old`, '127.0.0.1:1'], {
      followRedirects: 3,
      headers: { 'X-Trace': 'abc' },
    });

    const response = await request(app.server)
      .get(`/v1/jobs/${id}/results`)
      .set('Accept', 'application/har+json')
      .buffer(true)
      .parse((res, done) => {
        let text = '';
        res.on('data', (chunk: Buffer) => {
          text += chunk.toString('utf8');
        });
        res.on('end', () => done(null, text));
      });
    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toBe('application/har+json');
    const har = JSON.parse(response.body as string);
    await expect(harValidator.har(har)).resolves.toEqual(har);
    expect(har.log.creator.name).toBe('headprobe');

    const entries = har.log.entries as HarEntry[];
    const chain = entries.filter((entry) => entry._index === 0);
    expect(chain.map((entry) => [entry.request.url, entry.response.status])).toEqual([
      [`http://${hops}/old`, 302],
      [`http://${hops}/new`, 200],
    ]);
    expect(chain[0]!.response.redirectURL).toBe('/new');
    expect(chain[1]!.response.cookies).toEqual([
      { name: 'sid', value: '1', httpOnly: true, secure: true },
    ]);
    expect(chain[1]!.request.headers).toEqual(
      expect.arrayContaining([
        { name: 'Host', value: hops },
        { name: 'X-Trace', value: 'abc' },
      ]),
    );
    for (const entry of entries) {
      const { dns, connect, send, wait, receive } = entry.timings;
      expect(entry.time).toBeCloseTo(
        [dns, connect, send, wait, receive].reduce((sum, part) => sum + Math.max(part, 0), 0),
        2,
      );
      expect(Math.min(send, wait, receive)).toBeGreaterThanOrEqual(0);
    }
    const refused = entries.find((entry) => entry._index === 1)!;
    expect(refused.response.status).toBe(0);
    expect(refused._error).toMatchObject({ code: 'connection_refused' });
    // The refused connect took the probe's time: HAR shows it in connect.
    expect(refused.timings.connect).toBe(refused.time);
  });

  it('streams an export of more results than one store page, each once', async () => {
    const app = await startApp();
    const ok = await target();
    const id = await finishedJob(app, Array(1_200).fill(ok));
    const response = await request(app.server).get(`/v1/jobs/${id}/results?format=csv`);
    const indexes = (parseCsv(response.text, { columns: true }) as Array<{ index: string }>).map(
      (row) => Number(row.index),
    );
    expect(indexes).toHaveLength(1_200);
    expect(new Set(indexes).size).toBe(1_200);
  });

  it('answers 409 job_not_finished, with Retry-After, for an export of a running job', async () => {
    const app = await startApp();
    const silent = await target(() => {});
    const created = await request(app.server)
      .post('/v1/jobs')
      .send({ targets: [silent], options: { timeoutMs: 60_000 } });
    for (const format of ['csv', 'har']) {
      const response = await request(app.server).get(
        `/v1/jobs/${created.body.id}/results?format=${format}`,
      );
      expect(response.status).toBe(409);
      expect(response.headers['retry-after']).toBe('1');
      expect(response.body).toMatchObject({ code: 'job_not_finished' });
    }
    await request(app.server).post(`/v1/jobs/${created.body.id}/cancel`).expect(200);
  });

  it('weighs Accept by q and by wildcard, lets ?format= win, and refuses what it cannot meet', async () => {
    const app = await startApp();
    const id = await finishedJob(app, ['127.0.0.1:1']);
    const typeFor = async (accept: string) =>
      (await request(app.server).get(`/v1/jobs/${id}/results`).set('Accept', accept)).headers[
        'content-type'
      ];
    expect(await typeFor('text/csv')).toBe('text/csv; charset=utf-8');
    expect(await typeFor('text/*')).toBe('text/csv; charset=utf-8');
    expect(await typeFor('application/json, text/csv;q=0.1')).toMatch(/^application\/json/);
    expect(await typeFor('text/csv;q=0.5, application/har+json')).toBe('application/har+json');
    expect(await typeFor('*/*')).toMatch(/^application\/json/);
    const page = await request(app.server)
      .get(`/v1/jobs/${id}/results?format=json`)
      .set('Accept', 'application/json, text/csv');
    expect(page.body.results).toHaveLength(1);
    const refused = await request(app.server)
      .get(`/v1/jobs/${id}/results?format=har`)
      .set('Accept', 'text/csv');
    expect(refused.status).toBe(406);
    await request(app.server).get(`/v1/jobs/${id}/results?format=xml`).expect(400);
  });
});
