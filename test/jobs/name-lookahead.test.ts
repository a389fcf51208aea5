// The runner resolves the names of a job's next targets while they wait for a slot: by the
// time such a target starts, its answer is in the shared cache. Against a loopback DNS
// server that counts questions, so the look-ahead is seen to cost no query of its own.
import { afterEach, describe, expect, it } from 'vitest';
import { JobRunner } from '../../src/jobs/job-runner.js';
import type { NewJob } from '../../src/jobs/job-store.js';
import { MemoryJobStore } from '../../src/jobs/memory-job-store.js';
import { createDnsResolver, parseResolvConf } from '../../src/probe/dns/index.js';
import { JobOptions } from '../../src/schemas/job.js';
import type { ProbeResult } from '../../src/schemas/probe-result.js';
import { type DnsZone, startDnsServer } from '../support/dns-server.js';
import { normalResponse, respondWith, startTcpServer } from '../support/servers.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const NAMES = 6;

/** Runs one job of NAMES distinct names, one target at a time, and returns its results. */
async function runNames(options: Record<string, unknown> = {}) {
  const target = await startTcpServer(respondWith(normalResponse), { host: '127.0.0.1' });
  cleanups.push(() => target.close());
  const names = Array.from({ length: NAMES }, (_, i) => `h${i}.lookahead.test`);
  const zone: DnsZone = Object.fromEntries(names.map((name) => [name, { A: ['127.0.0.1'] }]));
  // Answers take a while, so a target that had to ask would show it in namelookup.
  const dns = await startDnsServer(zone, { delayMs: 30 });
  cleanups.push(() => dns.close());
  const resolver = createDnsResolver({
    resolvConf: parseResolvConf(''),
    hosts: new Map(),
    servers: [dns.server],
  });
  cleanups.push(() => resolver.close?.());
  const store = new MemoryJobStore({ maxJobs: 10, retentionMs: 60_000 });
  const runner = new JobRunner({ store, resolver, concurrency: 1 });
  await runner.start();
  cleanups.push(() => runner.close());

  const job: NewJob = {
    id: 'lookahead-job',
    createdAt: Date.now(),
    options: JobOptions.parse({ timeoutMs: 5_000, ...options }),
    targets: names.map((name) => `http://${name}:${target.port}/`),
    caller: 'caller-a',
    owner: null,
    idempotencyKey: null,
    requestHash: null,
  };
  await runner.run(await store.create(job));
  const stored = await store.resultsAfter(job.id, 0, NAMES);
  const results = stored
    .sort((a, b) => a.index - b.index)
    .map((entry) => JSON.parse(entry.json) as ProbeResult);
  return { results, queries: dns.queries, lookaheads: resolver.stats?.().lookaheads };
}

describe('name look-ahead', () => {
  it("resolves the next target's name while the current one runs, with no extra query", async () => {
    const { results, queries, lookaheads } = await runNames();

    expect(results.every((result) => result.ok)).toBe(true);
    // The first target asks; every later one finds its answer waiting in the cache.
    expect(results.map((result) => result.dns?.source)).toEqual([
      'dns',
      ...Array(NAMES - 1).fill('cache'),
    ]);
    expect(results[0]!.timing.namelookup).toBeGreaterThanOrEqual(25);
    for (const result of results.slice(1)) expect(result.timing.namelookup).toBeLessThan(25);
    // One A and one AAAA per name: the look-ahead's query is the one the target uses.
    expect(queries).toHaveLength(2 * NAMES);
    expect(new Set(queries.map((q) => `${q.type} ${q.name}`)).size).toBe(2 * NAMES);
    expect(lookaheads).toBe(NAMES - 1);
  });

  it('stays out of a job that opts out of the cache: each target asks for itself', async () => {
    const { results, queries, lookaheads } = await runNames({ dnsCache: false });

    expect(results.map((result) => result.dns?.source)).toEqual(Array(NAMES).fill('dns'));
    for (const result of results) expect(result.timing.namelookup).toBeGreaterThanOrEqual(25);
    expect(queries).toHaveLength(2 * NAMES);
    expect(lookaheads).toBe(0);
  });
});
