// The builtin stub resolver against loopback DNS servers the tests start: caching (TTL,
// negative, single-flight), the hosts file and search list, TCP fallback, rcodes, retries
// to the next server, CNAME chains, big answers, and honest timeouts under a full queue.
import { performance } from 'node:perf_hooks';
import { afterEach, describe, expect, it } from 'vitest';
import {
  createDnsResolver,
  type DnsResolver,
  type DnsResolverOptions,
  parseHostsFile,
  parseResolvConf,
} from '../../src/probe/dns/index.js';
import { type DnsServerHandle, type DnsZone, startDnsServer } from '../support/dns-server.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function dnsServer(zone: DnsZone, options = {}): Promise<DnsServerHandle> {
  const server = await startDnsServer(zone, options);
  cleanups.push(() => server.close());
  return server;
}

/** A resolver that knows nothing of this machine's files: only what the test gives it. */
function resolverFor(servers: DnsServerHandle[], options: DnsResolverOptions = {}): DnsResolver {
  const resolver = createDnsResolver({
    resolvConf: parseResolvConf(''),
    hosts: new Map(),
    queryTimeoutMs: 1000,
    attempts: 1,
    ...options,
    servers: servers.map((s) => s.server),
  });
  cleanups.push(() => resolver.close?.());
  return resolver;
}

function typesAsked(server: DnsServerHandle): string[] {
  return server.queries.map((q) => `${q.type} ${q.name}`).sort();
}

describe('builtin resolver: the cache', () => {
  it('keeps a positive answer for its TTL, then asks again', async () => {
    const server = await dnsServer({ 'ttl.test': { A: ['192.0.2.1'], ttl: 30 } });
    let now = 1_000_000;
    const resolver = resolverFor([server], { cache: { now: () => now } });

    const first = await resolver.resolve('ttl.test');
    expect(first).toMatchObject({ ok: true, facts: { source: 'dns', ttl: 30 } });
    expect(typesAsked(server)).toEqual(['A ttl.test', 'AAAA ttl.test']);

    now += 10_000;
    const cached = await resolver.resolve('ttl.test');
    expect(cached).toMatchObject({ ok: true, facts: { source: 'cache', ttl: 20 } });
    expect(server.queries).toHaveLength(2);

    now += 21_000;
    const again = await resolver.resolve('ttl.test');
    expect(again).toMatchObject({ ok: true, facts: { source: 'dns' } });
    expect(server.queries).toHaveLength(4);
  });

  it('clamps TTLs to the ceiling and the floor', async () => {
    const server = await dnsServer({
      'long.test': { A: ['192.0.2.1'], ttl: 86_400 },
      'zero.test': { A: ['192.0.2.2'], ttl: 0 },
    });
    let now = 0;
    const resolver = resolverFor([server], { cache: { now: () => now, minTtlS: 5, maxTtlS: 60 } });
    await resolver.resolve('long.test');
    await resolver.resolve('zero.test');
    now += 4_000;
    expect((await resolver.resolve('zero.test')).facts?.source).toBe('cache');
    now += 2_000;
    expect((await resolver.resolve('zero.test')).facts?.source).toBe('dns');
    expect((await resolver.resolve('long.test')).facts?.source).toBe('cache');
    now += 60_000;
    expect((await resolver.resolve('long.test')).facts?.source).toBe('dns');
  });

  it('caches NXDOMAIN for the SOA negative TTL, capped', async () => {
    const server = await dnsServer({}, { negativeTtl: 600 });
    let now = 0;
    const resolver = resolverFor([server], { cache: { now: () => now, negativeTtlS: 10 } });
    const first = await resolver.resolve('gone.test');
    expect(first).toMatchObject({ ok: false, code: 'dns_not_found', facts: { source: 'dns' } });
    expect(first.ok === false && first.message).toContain('NXDOMAIN');
    const second = await resolver.resolve('gone.test');
    expect(second).toMatchObject({ ok: false, code: 'dns_not_found', facts: { source: 'cache' } });
    expect(server.queries).toHaveLength(2);
    now += 11_000;
    await resolver.resolve('gone.test');
    expect(server.queries).toHaveLength(4);
  });

  it('caches a name without addresses (NODATA) as dns_not_found', async () => {
    const server = await dnsServer({ 'mx-only.test': {} });
    const resolver = resolverFor([server]);
    expect(await resolver.resolve('mx-only.test')).toMatchObject({ code: 'dns_not_found' });
    expect(await resolver.resolve('mx-only.test')).toMatchObject({
      code: 'dns_not_found',
      facts: { source: 'cache' },
    });
    expect(server.queries).toHaveLength(2);
  });

  it('single-flight: 100 lookups of one name send one A and one AAAA query', async () => {
    const server = await dnsServer({ 'busy.test': { A: ['192.0.2.3'], delayMs: 30 } });
    const resolver = resolverFor([server]);
    const answers = await Promise.all(
      Array.from({ length: 100 }, () => resolver.resolve('busy.test')),
    );
    expect(answers.every((a) => a.ok)).toBe(true);
    expect(typesAsked(server)).toEqual(['A busy.test', 'AAAA busy.test']);
  });

  it('asks afresh when a lookup opts out of the cache, and refreshes it', async () => {
    const server = await dnsServer({ 'fresh.test': { A: ['192.0.2.4'] } });
    const resolver = resolverFor([server]);
    await resolver.resolve('fresh.test');
    const fresh = await resolver.resolve('fresh.test', { useCache: false });
    expect(fresh.facts?.source).toBe('dns');
    expect(server.queries).toHaveLength(4);
    expect((await resolver.resolve('fresh.test')).facts?.source).toBe('cache');
  });

  it('bounds the cache in entries, least recently used out first', async () => {
    const zone: DnsZone = {};
    for (let i = 0; i < 5; i++) zone[`n${i}.test`] = { A: [`192.0.2.${i + 1}`] };
    const server = await dnsServer(zone);
    // Two entries per name (A and AAAA): room for two names.
    const resolver = resolverFor([server], { cache: { maxEntries: 4 } });
    await resolver.resolve('n0.test');
    await resolver.resolve('n1.test');
    await resolver.resolve('n0.test');
    await resolver.resolve('n2.test');
    expect((await resolver.resolve('n0.test')).facts?.source).toBe('cache');
    expect(resolver.stats?.().cacheEntries).toBe(4);
    expect((await resolver.resolve('n1.test')).facts?.source).toBe('dns');
  });
});

describe('builtin resolver: the machine configuration', () => {
  it('answers from the hosts file without a query', async () => {
    const server = await dnsServer({});
    const hosts = parseHostsFile('# comment\n127.0.0.9  box.test  box\n::1 box.test\n');
    const resolver = resolverFor([server], { hosts });
    expect(await resolver.resolve('BOX.test')).toEqual({
      ok: true,
      addresses: [
        { address: '127.0.0.9', family: 'IPv4' },
        { address: '::1', family: 'IPv6' },
      ],
      facts: {
        source: 'hosts',
        name: 'box.test',
        cnames: [],
        addresses: [
          { address: '127.0.0.9', family: 'IPv4' },
          { address: '::1', family: 'IPv6' },
        ],
        ttl: null,
      },
    });
    expect((await resolver.resolve('box')).ok).toBe(true);
    expect(server.queries).toEqual([]);
  });

  it('applies the search list and ndots as glibc does', async () => {
    const server = await dnsServer({
      'intranet.corp.test': { A: ['192.0.2.5'] },
      'a.b.test': { A: ['192.0.2.6'] },
    });
    const conf = parseResolvConf('search corp.test other.test\noptions ndots:2\n');
    const resolver = resolverFor([server], { resolvConf: conf });

    const short = await resolver.resolve('intranet');
    expect(short).toMatchObject({ ok: true, facts: { name: 'intranet.corp.test' } });
    expect(server.queries.map((q) => q.name)).toEqual(['intranet.corp.test', 'intranet.corp.test']);

    server.queries.length = 0;
    // Two dots reach ndots: the name as given first.
    expect(await resolver.resolve('a.b.test')).toMatchObject({
      ok: true,
      facts: { name: 'a.b.test' },
    });
    expect(new Set(server.queries.map((q) => q.name))).toEqual(new Set(['a.b.test']));

    server.queries.length = 0;
    // A trailing dot means the name is absolute: no search.
    expect(await resolver.resolve('intranet.')).toMatchObject({ code: 'dns_not_found' });
    expect(new Set(server.queries.map((q) => q.name))).toEqual(new Set(['intranet']));
  });

  it('parses resolv.conf: servers with ports, options, comments, the last search line', () => {
    const conf = parseResolvConf(
      [
        '# generated',
        'nameserver 127.0.0.53',
        'nameserver ::1',
        'nameserver bogus',
        'domain first.test',
        'search Second.test third.test. ; trailing comment',
        'options ndots:3 timeout:1 attempts:4 rotate',
      ].join('\n'),
    );
    expect(conf).toEqual({
      nameservers: [
        { host: '127.0.0.53', port: 53, family: 4 },
        { host: '::1', port: 53, family: 6 },
      ],
      search: ['second.test', 'third.test'],
      ndots: 3,
      timeoutMs: 1000,
      attempts: 4,
      rotate: true,
    });
    expect(parseResolvConf('').nameservers).toEqual([{ host: '127.0.0.1', port: 53, family: 4 }]);
  });
});

describe('builtin resolver: the wire', () => {
  it('asks again over TCP when the UDP answer is truncated', async () => {
    const server = await dnsServer({ 'big.test': { A: ['192.0.2.7'], truncate: true } });
    const resolver = resolverFor([server]);
    expect(await resolver.resolve('big.test')).toMatchObject({
      ok: true,
      addresses: [{ address: '192.0.2.7', family: 'IPv4' }],
    });
    expect(server.queries.filter((q) => q.transport === 'tcp')).toHaveLength(2);
    expect(resolver.stats?.().tcpFallbacks).toBe(2);
  });

  it.each([
    ['SERVFAIL', { servfail: true }],
    ['REFUSED', { refused: true }],
  ])('reports %s as dns_error with the rcode', async (rcode, entry) => {
    const server = await dnsServer({ 'bad.test': entry });
    const resolver = resolverFor([server]);
    const answer = await resolver.resolve('bad.test');
    expect(answer).toMatchObject({ ok: false, code: 'dns_error' });
    expect(answer.ok === false && answer.message).toContain(rcode);
  });

  it('goes to the next server when the first is silent', async () => {
    const silent = await dnsServer({ 'two.test': { silent: true } });
    const good = await dnsServer({ 'two.test': { A: ['192.0.2.8'] } });
    const resolver = resolverFor([silent, good], { queryTimeoutMs: 200 });
    const started = performance.now();
    expect(await resolver.resolve('two.test')).toMatchObject({ ok: true });
    expect(performance.now() - started).toBeGreaterThanOrEqual(195);
    expect(silent.queries).toHaveLength(2);
    expect(good.queries).toHaveLength(2);
  });

  it('goes to the next server when the first answers SERVFAIL', async () => {
    const failing = await dnsServer({ 'two.test': { servfail: true } });
    const good = await dnsServer({ 'two.test': { A: ['192.0.2.8'] } });
    const resolver = resolverFor([failing, good]);
    expect(await resolver.resolve('two.test')).toMatchObject({ ok: true });
  });

  it('says dns_timeout only after every server stayed silent', async () => {
    const silent = await dnsServer({ 'quiet.test': { silent: true } });
    const resolver = resolverFor([silent], { queryTimeoutMs: 100, attempts: 2 });
    const answer = await resolver.resolve('quiet.test');
    expect(answer).toMatchObject({ ok: false, code: 'dns_timeout' });
    expect(answer.ok === false && answer.message).toContain('2 queries sent');
    expect(silent.queries).toHaveLength(4);
  });

  it('caches a failure briefly: a SERVFAIL name costs one query per family, not one per target', async () => {
    const server = await dnsServer({ 'broken.test': { servfail: true } });
    const resolver = resolverFor([server]);
    expect(await resolver.resolve('broken.test')).toMatchObject({ code: 'dns_error' });
    expect(await resolver.resolve('broken.test')).toMatchObject({
      code: 'dns_error',
      facts: { source: 'cache' },
    });
    expect(server.queries).toHaveLength(2);
  });

  it('stops the search list after silence, as glibc does, but not after NXDOMAIN', async () => {
    const server = await dnsServer({
      'quiet.one.test': { silent: true },
      'app.two.test': { A: ['192.0.2.11'] },
    });
    const conf = parseResolvConf('search one.test two.test\n');
    const resolver = resolverFor([server], { resolvConf: conf, queryTimeoutMs: 100 });
    expect(await resolver.resolve('quiet')).toMatchObject({ code: 'dns_timeout' });
    expect(new Set(server.queries.map((q) => q.name))).toEqual(new Set(['quiet.one.test']));
    expect(await resolver.resolve('app')).toMatchObject({
      ok: true,
      facts: { name: 'app.two.test' },
    });
  });

  it('reports a CNAME loop as dns_error', async () => {
    const server = await dnsServer({
      'a.test': { CNAME: 'b.test' },
      'b.test': { CNAME: 'a.test' },
    });
    const resolver = resolverFor([server]);
    const answer = await resolver.resolve('a.test');
    expect(answer).toMatchObject({ ok: false, code: 'dns_error' });
    expect(answer.ok === false && answer.message).toContain('CNAME loop');
  });

  it('drops the queries of lookups whose askers gave up, and stops their search', async () => {
    const zone: DnsZone = {};
    for (let i = 0; i < 20; i++) {
      for (const domain of ['a.test', 'b.test', 'c.test'])
        zone[`x${i}.${domain}`] = { silent: true };
    }
    const server = await dnsServer(zone);
    const conf = parseResolvConf('search a.test b.test c.test\n');
    const resolver = resolverFor([server], {
      resolvConf: conf,
      queryTimeoutMs: 100,
      maxQueriesInFlight: 2,
    });
    const asker = { abandoned: false };
    const lookups = Array.from({ length: 20 }, (_, i) => resolver.resolve(`x${i}`, { asker }));
    asker.abandoned = true;
    await Promise.all(lookups);
    // The two on the wire ran out; every query waiting behind them was dropped unsent.
    expect(server.queries).toHaveLength(2);
    expect(resolver.stats?.()).toMatchObject({ queriesInFlight: 0, queriesWaiting: 0 });
  });

  it('follows a CNAME chain and reports it', async () => {
    const server = await dnsServer({
      'www.test': { CNAME: 'edge.test', ttl: 120 },
      'edge.test': { CNAME: 'origin.test', ttl: 90 },
      'origin.test': { A: ['192.0.2.9'], ttl: 300 },
    });
    const resolver = resolverFor([server]);
    expect(await resolver.resolve('www.test')).toMatchObject({
      ok: true,
      addresses: [{ address: '192.0.2.9', family: 'IPv4' }],
      facts: { name: 'www.test', cnames: ['edge.test', 'origin.test'], ttl: 90 },
    });
  });

  it('keeps a bounded number of addresses from an answer with hundreds', async () => {
    const many = Array.from({ length: 300 }, (_, i) => `10.0.${i >> 8}.${i & 255}`);
    const server = await dnsServer({ 'many.test': { A: many } });
    const resolver = resolverFor([server]);
    const answer = await resolver.resolve('many.test');
    expect(answer.ok).toBe(true);
    expect(answer.ok && answer.addresses).toHaveLength(64);
    expect(answer.ok && answer.addresses[0]).toEqual({ address: '10.0.0.0', family: 'IPv4' });
  });

  it('has no false dns_timeout when 5,000 names are queued at once', async () => {
    const zone: DnsZone = {};
    for (let i = 0; i < 5000; i++) zone[`q${i}.test`] = { A: ['192.0.2.10'] };
    // Every answer takes 20 ms and only 100 queries may be on the wire: the last names wait
    // about two seconds for a slot (10,000 queries, 100 at a time), twice the per-query
    // timeout, which is long enough that a busy machine's slow answers stay inside it.
    const server = await dnsServer(zone, { delayMs: 20 });
    const resolver = resolverFor([server], { queryTimeoutMs: 1000, maxQueriesInFlight: 100 });
    const answers = await Promise.all(Object.keys(zone).map((name) => resolver.resolve(name)));
    const failures = answers.filter((a) => !a.ok);
    expect(failures).toEqual([]);
    expect(server.queries).toHaveLength(10_000);
    expect(resolver.stats?.()).toMatchObject({ queryTimeouts: 0, queriesInFlight: 0 });
  }, 30_000);
});
