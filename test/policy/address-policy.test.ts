// The deny-by-default address policy: every special-purpose form, opted back in by CIDR,
// and applied by the probe to the address it actually dials.
import { describe, expect, it } from 'vitest';
import {
  createAddressPolicy,
  defaultDenialReason,
  embeddedIpv4,
} from '../../src/policy/address-policy.js';
import { createDnsResolver, defaultProbeLimits, probeTarget } from '../../src/probe/index.js';
import { ProbeOptions } from '../../src/schemas/probe-options.js';
import { startDnsServer } from '../support/dns-server.js';
import { loopbackResolver } from '../support/loopback-resolver.js';
import { normalResponse, respondWith, startTcpServer } from '../support/servers.js';

// [address, why it is denied, a CIDR that opts it back in]
const denied: Array<[string, string, string]> = [
  ['127.0.0.1', 'loopback', '127.0.0.0/8'],
  ['127.255.255.254', 'loopback', '127.0.0.0/8'],
  ['::1', 'loopback', '::1/128'],
  ['0.0.0.0', 'unspecified', '0.0.0.0/8'],
  ['0.1.2.3', 'unspecified', '0.0.0.0/8'],
  ['::', 'unspecified', '::/128'],
  ['10.1.2.3', 'private', '10.0.0.0/8'],
  ['172.16.0.1', 'private', '172.16.0.0/12'],
  ['172.31.255.255', 'private', '172.16.0.0/12'],
  ['192.168.1.1', 'private', '192.168.0.0/16'],
  ['fc00::1', 'not global unicast', 'fc00::/7'],
  ['fd12:3456::1', 'not global unicast', 'fc00::/7'],
  ['169.254.1.1', 'link-local', '169.254.0.0/16'],
  ['fe80::1', 'not global unicast', 'fe80::/10'],
  ['100.64.0.1', 'shared (CGNAT)', '100.64.0.0/10'],
  ['100.127.255.255', 'shared (CGNAT)', '100.64.0.0/10'],
  ['198.18.0.1', 'benchmarking', '198.18.0.0/15'],
  ['198.19.255.255', 'benchmarking', '198.18.0.0/15'],
  ['240.0.0.1', 'reserved or broadcast', '240.0.0.0/4'],
  ['255.255.255.255', 'reserved or broadcast', '255.255.255.255/32'],
  ['224.0.0.1', 'multicast', '224.0.0.0/4'],
  ['239.255.255.250', 'multicast', '224.0.0.0/4'],
  ['ff02::1', 'not global unicast', 'ff00::/8'],
  ['192.0.2.1', 'documentation', '192.0.2.0/24'],
  ['198.51.100.1', 'documentation', '198.51.100.0/24'],
  ['203.0.113.1', 'documentation', '203.0.113.0/24'],
  ['2001:db8::1', 'special-purpose', '2001:db8::/32'],
  ['192.0.0.8', 'IETF protocol assignments', '192.0.0.0/24'],
  // IPv6 forms that embed an IPv4 address are judged on that address.
  ['::ffff:127.0.0.1', 'loopback (embedded in IPv6)', '127.0.0.0/8'],
  ['::ffff:7f00:1', 'loopback (embedded in IPv6)', '127.0.0.0/8'],
  ['::ffff:10.0.0.1', 'private (embedded in IPv6)', '10.0.0.0/8'],
  ['::127.0.0.1', 'loopback (embedded in IPv6)', '127.0.0.0/8'],
  ['64:ff9b::7f00:1', 'loopback (embedded in IPv6)', '127.0.0.0/8'],
  ['64:ff9b::10.0.0.1', 'private (embedded in IPv6)', '10.0.0.0/8'],
  ['64:ff9b:1::a9fe:101', 'link-local (embedded in IPv6)', '169.254.0.0/16'],
  ['2002:7f00:1::1', 'loopback (embedded in IPv6)', '127.0.0.0/8'],
  ['2002:c0a8:101::1', 'private (embedded in IPv6)', '192.168.0.0/16'],
  // Teredo: server 10.0.0.1, client 8.8.8.8 (stored bit-flipped).
  ['2001:0:a00:1::f7f7:f7f7', 'private (embedded in IPv6)', '10.0.0.0/8'],
];

const metadata = ['169.254.169.254', 'fd00:ec2::254', '168.63.129.16', '::ffff:169.254.169.254'];

const global = [
  '8.8.8.8',
  '1.1.1.1',
  '93.184.216.34',
  '2606:4700:4700::1111',
  '2a00:1450:4001:80b::200e',
  '::ffff:8.8.8.8',
  '64:ff9b::808:808',
  '2002:808:808::1',
];

describe('default denial', () => {
  it.each(denied)('denies %s (%s) and allows it once %s is opted in', (address, reason, cidr) => {
    expect(defaultDenialReason(address)).toBe(reason);
    expect(createAddressPolicy().check(address, 80)).toMatchObject({ allowed: false });
    expect(createAddressPolicy({ allowCidrs: [cidr] }).check(address, 80)).toEqual({
      allowed: true,
    });
  });

  it.each(metadata)(
    'denies metadata address %s even inside an allowed range, unless named exactly',
    (address) => {
      const broad = createAddressPolicy({
        allowCidrs: ['169.254.0.0/16', 'fc00::/7', '168.63.0.0/16', '::ffff:0:0/96'],
      });
      expect(broad.check(address, 80)).toMatchObject({ allowed: false });
      const plain = address.startsWith('::ffff:') ? address.slice(7) : address;
      const exact = createAddressPolicy({ allowCidrs: [plain] });
      expect(exact.check(address, 80)).toEqual({ allowed: true });
    },
  );

  it.each(global)('allows global unicast %s', (address) => {
    expect(defaultDenialReason(address)).toBeNull();
    expect(createAddressPolicy().check(address, 443)).toEqual({ allowed: true });
  });

  it('extracts embedded IPv4 from every IPv6 form', () => {
    expect(embeddedIpv4('::ffff:1.2.3.4')).toEqual(['1.2.3.4']);
    expect(embeddedIpv4('64:ff9b::102:304')).toEqual(['1.2.3.4']);
    expect(embeddedIpv4('2002:102:304::')).toEqual(['1.2.3.4']);
    expect(embeddedIpv4('2001:0:102:304::fefd:fcfb')).toEqual(['1.2.3.4', '1.2.3.4']);
    expect(embeddedIpv4('2606:4700::1')).toEqual([]);
  });

  it('judges every spelling of an address the same: zone ids, zero runs, mapped forms', () => {
    const ula = createAddressPolicy({ allowCidrs: ['fc00::/7'] });
    for (const spelling of [
      'fd00:ec2::254',
      'fd00:ec2:0::254',
      'fd00:0ec2:0:0:0:0:0:254',
      'FD00:EC2::0254',
      'fd00:ec2::254%eth0',
    ]) {
      expect(ula.check(spelling, 80)).toMatchObject({ allowed: false });
    }
    expect(
      createAddressPolicy({ allowCidrs: ['fd00:ec2::254'] }).check('fd00:ec2:0::254', 80),
    ).toEqual({ allowed: true });
    const self = createAddressPolicy({
      allowCidrs: ['127.0.0.0/8', '::1/128'],
      selfEndpoints: () => [
        { address: '127.0.0.1', port: 3000 },
        { address: '::', port: 4000 },
      ],
    });
    for (const spelling of ['127.0.0.1', '::ffff:127.0.0.1', '::ffff:7f00:1']) {
      expect(self.check(spelling, 3000)).toMatchObject({ allowed: false });
    }
    for (const spelling of ['::1', '0:0:0:0:0:0:0:1', '::1%lo']) {
      expect(self.check(spelling, 4000)).toMatchObject({ allowed: false });
    }
    // 6to4 and Teredo are judged on the IPv4 they carry even if a broad IPv6 range is allowed.
    const broad = createAddressPolicy({ allowCidrs: ['2000::/3', '10.0.0.0/8'] });
    expect(broad.check('2002:7f00:1::', 80)).toMatchObject({ allowed: false });
    expect(broad.check('2001:0:a00:1::80ff:fffe', 80)).toMatchObject({ allowed: false });
  });

  it('limits ports when HEADPROBE_ALLOW_PORTS is set, and never targets the service itself', () => {
    const policy = createAddressPolicy({
      allowPorts: [80, 443],
      selfEndpoints: () => [{ address: '93.184.216.34', port: 443 }],
    });
    expect(policy.check('8.8.8.8', 80)).toEqual({ allowed: true });
    expect(policy.check('8.8.8.8', 8080)).toMatchObject({ allowed: false });
    expect(policy.check('93.184.216.34', 443)).toMatchObject({ allowed: false });
    const wildcard = createAddressPolicy({
      allowCidrs: ['127.0.0.0/8'],
      selfEndpoints: () => [{ address: '0.0.0.0', port: 3000 }],
    });
    expect(wildcard.check('127.0.0.1', 3000)).toMatchObject({ allowed: false });
    expect(wildcard.check('127.0.0.1', 3001)).toEqual({ allowed: true });
    expect(wildcard.check('8.8.8.8', 3000)).toEqual({ allowed: true });
  });
});

describe('the probe applies the policy to what it dials', () => {
  const limits = { ...defaultProbeLimits, connectTimeoutMs: 1000 };

  it.each([
    ['127.0.0.1'],
    ['0x7f.1'],
    ['127.1'],
    ['2130706433'],
    ['0177.0.0.1'],
    ['%31%32%37.0.0.1'],
    ['１２７．０．０．１'],
    ['[::ffff:127.0.0.1]'],
    ['[::1]'],
  ])('blocks %s without sending a packet, in any notation', async (host) => {
    const server = await startTcpServer(respondWith(normalResponse));
    try {
      const result = await probeTarget(`http://${host}:${server.port}/`, ProbeOptions.parse({}), {
        resolver: loopbackResolver(),
        limits,
        policy: createAddressPolicy(),
      });
      expect(result.error).toEqual({
        code: 'blocked_by_policy',
        phase: 'connect',
        message: 'destination not permitted by policy',
      });
      expect(result.remote).toBeNull();
      expect(server.connections).toBe(0);
    } finally {
      await server.close();
    }
  });

  it('vets every DNS answer: private-only is blocked, mixed dials only the allowed one, rebinding cannot sneak in', async () => {
    const target = await startTcpServer(respondWith(normalResponse));
    const other = await startTcpServer(respondWith(normalResponse), { host: '127.0.0.2' });
    const dns = await startDnsServer({
      'private.test': { A: ['10.0.0.1', '192.168.0.1'] },
      'mixed.test': { A: ['10.0.0.1', '127.0.0.2', '127.0.0.1'] },
      'rebind.test': { A: ['127.0.0.1'] },
    });
    try {
      const resolver = createDnsResolver({ servers: [dns.server] });
      // Only 127.0.0.1 is opted in: 127.0.0.2 (like any other address) stays denied.
      const policy = createAddressPolicy({ allowCidrs: ['127.0.0.1/32'] });
      const context = { resolver, limits, policy };
      const options = ProbeOptions.parse({});

      const blocked = await probeTarget(`private.test:${target.port}`, options, context);
      expect(blocked.error?.code).toBe('blocked_by_policy');

      const mixed = await probeTarget(`mixed.test:${target.port}`, options, context);
      expect(mixed).toMatchObject({ ok: true, remote: { address: '127.0.0.1' } });
      expect(other.connections).toBe(0);

      // The name is resolved once and the vetted answer is what gets dialled: a resolver
      // that answers differently later (DNS rebinding) is never asked again mid-probe.
      const before = dns.queries.filter((q) => q.name === 'rebind.test').length;
      const rebind = await probeTarget(`rebind.test:${target.port}`, options, context);
      expect(rebind.ok).toBe(true);
      expect(dns.queries.filter((q) => q.name === 'rebind.test').length - before).toBe(2); // A + AAAA once
    } finally {
      await Promise.all([target.close(), other.close(), dns.close()]);
    }
  });

  it('tries at most 3 allowed addresses, in order, when earlier ones refuse', async () => {
    const target = await startTcpServer(respondWith(normalResponse), { host: '127.0.0.4' });
    const dns = await startDnsServer({
      'many.test': { A: ['127.0.0.2', '127.0.0.3', '127.0.0.4'] },
      'toomany.test': { A: ['127.0.0.2', '127.0.0.3', '127.0.0.5', '127.0.0.4'] },
    });
    try {
      const context = {
        resolver: createDnsResolver({ servers: [dns.server] }),
        limits,
        policy: createAddressPolicy({ allowCidrs: ['127.0.0.0/8'] }),
      };
      const options = ProbeOptions.parse({});
      const third = await probeTarget(`many.test:${target.port}`, options, context);
      expect(third).toMatchObject({ ok: true, remote: { address: '127.0.0.4' } });
      const fourth = await probeTarget(`toomany.test:${target.port}`, options, context);
      expect(fourth.error?.code).toBe('connection_refused');
    } finally {
      await Promise.all([target.close(), dns.close()]);
    }
  });
});
