import { afterEach, describe, expect, it } from 'vitest';
import { createAddressPolicy } from '../../src/policy/address-policy.js';
import {
  createDnsResolver,
  type DnsResolverOptions,
  parseResolvConf,
} from '../../src/probe/dns/index.js';
import { defaultProbeLimits, probeTarget } from '../../src/probe/index.js';
import { ProbeOptions, type ProbeOptionsInput } from '../../src/schemas/probe-options.js';
import type { ProbeResult } from '../../src/schemas/probe-result.js';
import { type DnsZone, startDnsServer } from '../support/dns-server.js';
import { startFullListener } from '../support/full-listener.js';
import { normalResponse, respondWith, startTcpServer } from '../support/servers.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const limits = { ...defaultProbeLimits, connectTimeoutMs: 1500, headersTimeoutMs: 1000 };

async function resolverWith(zone: DnsZone, options: DnsResolverOptions = {}) {
  const server = await startDnsServer(zone);
  cleanups.push(() => server.close());
  const resolver = createDnsResolver({
    resolvConf: parseResolvConf(''),
    hosts: new Map(),
    attempts: 1,
    queryTimeoutMs: 1000,
    servers: [server.server],
    ...options,
  });
  cleanups.push(() => resolver.close?.());
  return { server, resolver };
}

async function targetServer(host = '127.0.0.1', port = 0) {
  const target = await startTcpServer(respondWith(normalResponse), { host, port });
  cleanups.push(() => target.close());
  return target;
}

function probe(
  target: string,
  resolver: ReturnType<typeof createDnsResolver>,
  options: ProbeOptionsInput = {},
): Promise<ProbeResult> {
  return probeTarget(target, ProbeOptions.parse(options), { resolver, limits });
}

describe('a probed name', () => {
  it('reports how it was resolved, and a cached answer costs no lookup time', async () => {
    const target = await targetServer();
    const { server, resolver } = await resolverWith({
      'app.test': { CNAME: 'edge.test' },
      'edge.test': { A: ['127.0.0.1'], ttl: 120 },
    });
    const first = await probe(`app.test:${target.port}`, resolver);
    expect(first).toMatchObject({
      ok: true,
      remote: { address: '127.0.0.1', family: 'IPv4' },
      dns: {
        source: 'dns',
        name: 'app.test',
        cnames: ['edge.test'],
        addresses: [{ address: '127.0.0.1', family: 'IPv4' }],
        ttl: 60,
      },
      connectAttempts: [],
    });
    const second = await probe(`http://app.test:${target.port}/again`, resolver);
    expect(second.dns?.source).toBe('cache');
    // A cache hit is a lookup in memory: well under the 20 ms a query costs, even on a busy machine.
    expect(second.timing.namelookup!).toBeLessThan(5);
    expect(server.queries).toHaveLength(2);
  });

  it('asks again when the job opts out of the cache', async () => {
    const target = await targetServer();
    const { server, resolver } = await resolverWith({ 'app.test': { A: ['127.0.0.1'] } });
    await probe(`app.test:${target.port}`, resolver);
    const fresh = await probe(`app.test:${target.port}`, resolver, { dnsCache: false });
    expect(fresh.dns?.source).toBe('dns');
    expect(server.queries).toHaveLength(4);
  });

  it('has no DNS facts for an IP literal, and pinned ones for a --resolve pin', async () => {
    const target = await targetServer();
    const { resolver } = await resolverWith({});
    expect((await probe(`127.0.0.1:${target.port}`, resolver)).dns).toBeNull();
    const pinned = await probe(`pin.test:${target.port}`, resolver, {
      resolve: { [`pin.test:${target.port}`]: '127.0.0.1' },
    });
    expect(pinned.dns).toEqual({
      source: 'pinned',
      name: 'pin.test',
      cnames: [],
      addresses: [{ address: '127.0.0.1', family: 'IPv4' }],
      ttl: null,
    });
  });

  it('keeps DNS facts on a failure, e.g. a cached NXDOMAIN', async () => {
    const { resolver } = await resolverWith({});
    await probe('gone.test', resolver);
    const again = await probe('gone.test', resolver);
    expect(again.error).toMatchObject({ code: 'dns_not_found', phase: 'dns' });
    expect(again.dns).toMatchObject({ source: 'cache', name: 'gone.test', addresses: [] });
  });

  it('tells nothing of a name whose addresses the policy blocks, and only the allowed ones', async () => {
    const target = await targetServer();
    const { resolver } = await resolverWith({
      'db.internal.test': { CNAME: 'db-primary.internal.test' },
      'db-primary.internal.test': { A: ['10.1.2.3'] },
      'mixed.test': { A: ['10.1.2.4', '127.0.0.1'] },
    });
    const policy = createAddressPolicy({ allowCidrs: ['127.0.0.0/8'] });
    const run = (name: string) =>
      probeTarget(`${name}:${target.port}`, ProbeOptions.parse({}), { resolver, limits, policy });
    const blocked = await run('db.internal.test');
    expect(blocked.error?.code).toBe('blocked_by_policy');
    expect(blocked.dns).toBeNull();
    const mixed = await run('mixed.test');
    expect(mixed.ok).toBe(true);
    expect(mixed.dns?.addresses).toEqual([{ address: '127.0.0.1', family: 'IPv4' }]);
  });

  it('ends a wait for a resolver slot as deadline_exceeded, not dns_timeout', async () => {
    const target = await targetServer();
    // One query on the wire at a time, and it goes to a name that never answers.
    const { resolver } = await resolverWith(
      { 'silent.test': { silent: true }, 'app.test': { A: ['127.0.0.1'] } },
      { maxQueriesInFlight: 1, queryTimeoutMs: 2000 },
    );
    const blocker = probe(`silent.test:${target.port}`, resolver, { timeoutMs: 5000 });
    const waiting = await probe(`app.test:${target.port}`, resolver, { timeoutMs: 300 });
    expect(waiting.error).toMatchObject({ code: 'deadline_exceeded', phase: 'dns' });
    expect(resolver.stats?.().queriesWaiting).toBeGreaterThan(0);
    await resolver.close?.();
    expect((await blocker).error?.code).not.toBe('dns_timeout');
  });
});

describe('Happy Eyeballs (RFC 8305)', () => {
  it('falls back to IPv4 at once when IPv6 refuses, and records both attempts', async () => {
    const target = await targetServer('127.0.0.1');
    const { resolver } = await resolverWith({
      'dual.test': { A: ['127.0.0.1'], AAAA: ['::1'] },
    });
    const result = await probe(`dual.test:${target.port}`, resolver);
    expect(result).toMatchObject({
      ok: true,
      remote: { address: '127.0.0.1', family: 'IPv4' },
      connectAttempts: [
        { address: '::1', family: 'IPv6', outcome: 'failed', error: 'connection_refused' },
        { address: '127.0.0.1', family: 'IPv4', outcome: 'connected', error: null },
      ],
    });
    expect(result.dns?.addresses).toHaveLength(2);
    // No connection-attempt delay was waited: the refusal started the next attempt.
    expect(result.timing.phases.tcp!).toBeLessThan(100);
  });

  it('starts IPv4 after the attempt delay when IPv6 hangs, and the first connection wins', async () => {
    const hanging = await startFullListener('::1');
    cleanups.push(() => hanging.close());
    const port = hanging.port;
    const target = await targetServer('127.0.0.1', port);
    const { resolver } = await resolverWith({
      'dual.test': { A: ['127.0.0.1'], AAAA: ['::1'] },
    });

    const result = await probe(`dual.test:${port}`, resolver);
    expect(result).toMatchObject({
      ok: true,
      remote: { address: '127.0.0.1', family: 'IPv4' },
      connectAttempts: [
        { address: '::1', outcome: 'abandoned' },
        { address: '127.0.0.1', outcome: 'connected' },
      ],
    });
    const [v6, v4] = result.connectAttempts;
    expect(v4!.startedAt - v6!.startedAt).toBeGreaterThanOrEqual(249);
    expect(result.timing.phases.tcp!).toBeGreaterThanOrEqual(249);
    expect(result.timing.phases.tcp!).toBeLessThan(limits.connectTimeoutMs);
    expect(target.port).toBe(port);
  });
});
