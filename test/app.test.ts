import { readFileSync } from 'node:fs';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.js';
import { renderOpenApi } from '../src/openapi-document.js';
import { startApp } from './helper.js';

describe('app skeleton', () => {
  it('answers /livez and /readyz', async () => {
    const app = await startApp();
    await request(app.server).get('/livez').expect(200, { status: 'ok' });
    await request(app.server).get('/readyz').expect(200, { status: 'ready' });
  });

  it('answers unknown routes with an RFC 9457 problem', async () => {
    const app = await startApp();
    const response = await request(app.server).get('/nope?x=1').expect(404);
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(response.body).toEqual({
      type: 'https://headprobe.dev/problems/not_found',
      title: 'Not Found',
      status: 404,
      code: 'not_found',
      detail: 'No route for GET /nope',
    });
  });

  it('serves OpenAPI 3.1 and Swagger UI', async () => {
    const app = await startApp();
    const spec = await request(app.server).get('/openapi.json').expect(200);
    expect(spec.body.openapi).toBe('3.1.0');
    expect(Object.keys(spec.body.paths)).toEqual(
      expect.arrayContaining([
        '/livez',
        '/readyz',
        '/v1/jobs',
        '/v1/jobs/{id}',
        '/v1/jobs/{id}/results',
        '/v1/jobs/{id}/events',
        '/v1/jobs/{id}/cancel',
      ]),
    );
    await request(app.server).get('/docs/').expect(200).expect('content-type', /html/);
  });

  it('keeps openapi/openapi.json fresh (run `npm run openapi` after changing a schema)', async () => {
    const app = await startApp();
    const committed = readFileSync(new URL('../openapi/openapi.json', import.meta.url), 'utf8');
    expect(committed).toBe(renderOpenApi(app));
  });
});

describe('loadConfig', () => {
  it('applies defaults', () => {
    expect(loadConfig({})).toEqual({
      port: 3000,
      host: '127.0.0.1',
      logLevel: 'info',
      concurrency: 500,
      dns: {
        mode: 'builtin',
        servers: [],
        queryTimeoutMs: 0,
        maxQueriesInFlight: 1_000,
        cacheEntries: 50_000,
        cacheMinTtlS: 1,
        cacheMaxTtlS: 300,
        negativeTtlS: 30,
      },
      concurrencyPerCaller: 450,
      operatorKeyHashes: [],
      requestTimeoutMs: 30_000,
      headersTimeoutMs: 10_000,
      maxPendingBodyBytes: 64 * 1024 * 1024,
      maxConnections: 0,
      maxConnectionsPerClient: 256,
      maxStreams: 1_000,
      maxStreamsPerCaller: 16,
      maxHeaderBytes: 4_096,
      maxJobHeaderBytes: 64 * 1024 * 1024,
      concurrencyPerDestination: 6,
      maxConcurrencyPerDestination: 100,
      allowCidrs: [],
      allowPorts: [],
      apiKeyHashes: [],
      rateLimitTargetsPerMin: 100_000,
      authFailuresPerMin: 20,
      maxQueuedTargets: 200_000,
      maxQueuedTargetsPerKey: 50_000,
      maxEventLoopDelayMs: 1_000,
      maxHeapUsedBytes: 0,
      maxRssBytes: 0,
      maxTargets: 10_000,
      maxJobs: 1_000,
      jobRetentionMs: 3_600_000,
      inlineResults: 100,
      maxWaitMs: 60_000,
      shutdownGraceMs: 30_000,
      redis: null,
      role: 'all',
    });
  });

  it('parses DNS servers and caps', () => {
    const config = loadConfig({
      HEADPROBE_DNS_SERVERS: '127.0.0.1:5353, [::1]:53',
      HEADPROBE_CONCURRENCY: '50',
    });
    expect(config.dns.servers).toEqual(['127.0.0.1:5353', '[::1]:53']);
    expect(config.concurrency).toBe(50);
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('keeps jobs in Redis when given a URL, under the default prefix or its own', () => {
    expect(loadConfig({ HEADPROBE_REDIS_URL: 'redis://:secret@10.0.0.5:6380/2' }).redis).toEqual({
      url: 'redis://:secret@10.0.0.5:6380/2',
      cluster: false,
      prefix: 'headprobe:',
      chunkSize: 500,
      chunkLockMs: 30_000,
    });
    expect(() => loadConfig({ HEADPROBE_ROLE: 'worker' })).toThrow('HEADPROBE_REDIS_URL');
    expect(
      loadConfig({ HEADPROBE_REDIS_URL: 'rediss://r.example', HEADPROBE_REDIS_PREFIX: 'hp-eu:' })
        .redis?.prefix,
    ).toBe('hp-eu:');
    const cluster = { HEADPROBE_REDIS_URL: 'redis://10.0.0.5', HEADPROBE_REDIS_CLUSTER: 'true' };
    expect(loadConfig(cluster).redis?.cluster).toBe(true);
    expect(() => loadConfig({ HEADPROBE_REDIS_CLUSTER: 'true' })).toThrow('HEADPROBE_REDIS_URL');
  });

  it('refuses DNS servers for the system resolver, which cannot be pointed at them', () => {
    expect(() =>
      loadConfig({ HEADPROBE_DNS: 'system', HEADPROBE_DNS_SERVERS: '127.0.0.1:5353' }),
    ).toThrow('HEADPROBE_DNS_SERVERS');
    expect(loadConfig({ HEADPROBE_DNS: 'system' }).dns.mode).toBe('system');
  });

  it.each([
    ['PORT', 'eighty'],
    ['HEADPROBE_CONCURRENCY', '0'],
    ['HEADPROBE_DNS_SERVERS', 'dns.example.com'],
    ['HEADPROBE_DNS', 'c-ares'],
    ['HEADPROBE_REDIS_URL', 'localhost:6379'],
    ['HEADPROBE_REDIS_PREFIX', 'hp{x}:'],
    ['HEADPROBE_REDIS_CLUSTER', 'maybe'],
    ['HEADPROBE_DNS_CACHE_MIN_TTL_S', '600'],
    ['HEADPROBE_CONCURRENCY_PER_DESTINATION', '500'],
    ['HEADPROBE_ALLOW_CIDRS', '127.0.0.0/33'],
    ['HEADPROBE_ALLOW_CIDRS', 'localhost'],
    ['HEADPROBE_ALLOW_PORTS', '80,http'],
    ['HEADPROBE_ALLOW_PORTS', '70000'],
    ['HEADPROBE_API_KEYS', 'short'],
    ['LOG_LEVEL', 'loud'],
  ])('names the variable when %s=%s is bad', (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [name]: value })).toThrow(name);
  });
});
