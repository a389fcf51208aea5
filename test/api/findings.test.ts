// Findings through the API: every result carries them, the job counts them per finding id,
// grade and error code, and /results filters by each, in every format.

import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { parse as parseCsv } from 'csv-parse/sync';
import type { FastifyInstance } from 'fastify';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { startApp } from '../helper.js';
import { track } from '../support/cleanup.js';
import { respondWith, startTcpServer } from '../support/servers.js';

/** A bare origin: a version in Server, a session cookie without flags, none of the headers. */
const bareResponse =
  'HTTP/1.1 200 OK\r\nServer: nginx/1.24.0\r\nSet-Cookie: sessionid=abc; Path=/\r\n' +
  'Content-Length: 0\r\n\r\n';
/** What a careful origin sends over http (it still cannot have HSTS or a redirect to https). */
const carefulResponse =
  "HTTP/1.1 200 OK\r\nContent-Security-Policy: default-src 'none'; frame-ancestors 'none'\r\n" +
  'X-Content-Type-Options: nosniff\r\nX-Frame-Options: DENY\r\n' +
  'Referrer-Policy: no-referrer\r\nAlt-Svc: h3=":443"; ma=3600\r\nContent-Length: 0\r\n\r\n';

async function target(response: string): Promise<string> {
  const server = await track(startTcpServer(respondWith(response)));
  return `127.0.0.1:${server.port}`;
}

function closedPort(): Promise<string> {
  return new Promise((resolve) => {
    const server = http.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(`127.0.0.1:${port}`));
    });
  });
}

interface Result {
  index: number;
  grade: string | null;
  score: number | null;
  findings: Array<{ id: string }>;
  technologies: Array<{ name: string; version: string | null }>;
  altSvc: { http3: boolean } | null;
  error: { code: string } | null;
}

async function finishedJob(app: FastifyInstance, targets: string[], options = {}) {
  const response = await request(app.server)
    .post('/v1/jobs')
    .set('Prefer', 'wait=10')
    .send({ targets, options });
  expect(response.status).toBe(200);
  return response.body as {
    id: string;
    counts: Record<string, Record<string, number>>;
    results: Result[];
  };
}

async function resultsOf(app: FastifyInstance, id: string, query: string): Promise<Result[]> {
  const response = await request(app.server).get(`/v1/jobs/${id}/results?${query}`);
  expect(response.status).toBe(200);
  return response.body.results;
}

describe('findings in results and jobs', () => {
  it('grades each head, names what it saw, and counts per finding, grade and error', async () => {
    const app = await startApp();
    const bare = await target(bareResponse);
    const careful = await target(carefulResponse);
    const job = await finishedJob(app, [bare, careful, await closedPort()]);
    const [bareResult, carefulResult, refused] = job.results as [Result, Result, Result];

    const ids = (result: Result) => result.findings.map((finding) => finding.id);
    expect(ids(bareResult)).toEqual(
      expect.arrayContaining([
        'csp-not-implemented',
        'x-frame-options-not-implemented',
        'cookies-session-without-secure-flag',
        'server-version-disclosed',
      ]),
    );
    expect(ids(carefulResult)).not.toContain('csp-not-implemented');
    expect(bareResult.technologies).toContainEqual(
      expect.objectContaining({ name: 'nginx', version: '1.24.0' }),
    );
    expect(carefulResult.altSvc).toMatchObject({ http3: true });
    expect(carefulResult.score!).toBeGreaterThan(bareResult.score!);
    expect(refused).toMatchObject({
      grade: null,
      score: null,
      error: { code: 'connection_refused' },
    });

    const findingCounts: Record<string, number> = {};
    for (const result of job.results) {
      for (const id of new Set(ids(result))) findingCounts[id] = (findingCounts[id] ?? 0) + 1;
    }
    const gradeCounts: Record<string, number> = {};
    for (const { grade } of [bareResult, carefulResult]) {
      gradeCounts[grade!] = (gradeCounts[grade!] ?? 0) + 1;
    }
    expect(job.counts).toEqual({
      errors: { connection_refused: 1 },
      grades: gradeCounts,
      findings: findingCounts,
    });
    // The same counts on a later read and in the job list.
    const read = await request(app.server).get(`/v1/jobs/${job.id}`);
    expect(read.body.counts).toEqual(job.counts);
    const list = await request(app.server).get('/v1/jobs');
    expect(list.body.jobs[0].counts).toEqual(job.counts);
  });

  it('filters /results by finding id, grade and error code, in every format', async () => {
    const app = await startApp();
    const bare = await target(bareResponse);
    const careful = await target(carefulResponse);
    const job = await finishedJob(app, [bare, careful, bare, await closedPort()]);
    const bareGrade = job.results[0]!.grade!;

    const indices = (results: Result[]) => results.map((r) => r.index).sort();
    expect(indices(await resultsOf(app, job.id, `grade=${encodeURIComponent(bareGrade)}`))).toEqual(
      [0, 2],
    );
    expect(indices(await resultsOf(app, job.id, 'error=connection_refused'))).toEqual([3]);
    // `+` in a query string is a space: A+ arrives as "A " and is read as A+.
    expect(await resultsOf(app, job.id, 'grade=A+')).toEqual(
      job.results.filter((r) => r.grade === 'A+'),
    );
    expect(
      indices(await resultsOf(app, job.id, 'finding=cookies-session-without-secure-flag')),
    ).toEqual([0, 2]);
    // Every filter given must hold.
    expect(
      await resultsOf(app, job.id, 'error=connection_refused&finding=csp-not-implemented'),
    ).toEqual([]);

    const ndjson = await request(app.server)
      .get(`/v1/jobs/${job.id}/results?format=ndjson&error=connection_refused`)
      .buffer(true)
      .parse((res, done) => {
        let text = '';
        res.on('data', (chunk: Buffer) => (text += chunk));
        res.on('end', () => done(null, text));
      });
    const lines = String(ndjson.body)
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(lines.map((r) => r.index)).toEqual([3]);

    const csv = await request(app.server)
      .get(`/v1/jobs/${job.id}/results?format=csv&finding=cookies-session-without-secure-flag`)
      .buffer(true)
      .parse((res, done) => {
        let text = '';
        res.on('data', (chunk: Buffer) => (text += chunk));
        res.on('end', () => done(null, text));
      });
    const rows = parseCsv(String(csv.body), { columns: true }) as Array<Record<string, string>>;
    expect(rows.map((row) => row.index).sort()).toEqual(['0', '2']);
    expect(rows[0]!.findings!.split(' ')).toContain('cookies-session-without-secure-flag');
    expect(rows[0]!.grade).toBe(bareGrade);
  });

  it('pages a filter: fewer than limit per page, nextCursor leads on until the end', async () => {
    const app = await startApp();
    const bare = await target(bareResponse);
    const careful = await target(carefulResponse);
    const job = await finishedJob(app, [careful, bare, careful, careful, bare]);
    const seen: number[] = [];
    let cursor: string | null = '0';
    for (let pages = 0; cursor !== null && pages < 10; pages++) {
      const page = await request(app.server).get(
        `/v1/jobs/${job.id}/results?finding=server-version-disclosed&limit=1&cursor=${cursor}`,
      );
      seen.push(...page.body.results.map((r: Result) => r.index));
      cursor = page.body.nextCursor;
    }
    expect(cursor).toBeNull();
    expect(seen.sort()).toEqual([1, 4]);
  });

  it('refuses a filter value that is not one: 400 with the field named', async () => {
    const app = await startApp();
    const job = await finishedJob(app, [await target(bareResponse)]);
    for (const query of ['grade=Z', 'error=no_such_code', 'finding=Not%20An%20Id']) {
      const response = await request(app.server).get(`/v1/jobs/${job.id}/results?${query}`);
      expect(response.status).toBe(400);
      expect(response.headers['content-type']).toContain('application/problem+json');
      expect(response.body.code).toBe('validation_failed');
    }
  });

  it('options.findings false: no findings, score, grade or technologies, nothing counted', async () => {
    const app = await startApp();
    const job = await finishedJob(app, [await target(bareResponse)], { findings: false });
    expect(job.results[0]).toMatchObject({
      findings: [],
      score: null,
      grade: null,
      technologies: [],
    });
    expect(job.counts).toEqual({ errors: {}, grades: {}, findings: {} });
  });
});
