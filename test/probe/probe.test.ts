import type * as net from 'node:net';
import * as tls from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import { createDnsResolver, probeTarget } from '../../src/probe/index.js';
import type { ProbeContext } from '../../src/probe/probe.js';
import { ProbeOptions, type ProbeOptionsInput } from '../../src/schemas/probe-options.js';
import type { ProbeResult } from '../../src/schemas/probe-result.js';
import {
  makeCertificateAuthority,
  makeSelfSignedCertificate,
  makeSignedCertificate,
} from '../support/certs.js';
import { startDnsServer } from '../support/dns-server.js';
import { fastLimits } from '../support/fast-limits.js';
import { startFullListener } from '../support/full-listener.js';
import { loopbackResolver } from '../support/loopback-resolver.js';
import {
  chunked,
  normalResponse,
  respondWith,
  startDelayServer,
  startTcpServer,
  startTlsServer,
} from '../support/servers.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((close) => close()));
});

async function serve<T extends { close(): Promise<void> }>(server: Promise<T>): Promise<T> {
  const handle = await server;
  cleanups.push(() => handle.close());
  return handle;
}

const defaultResolver = loopbackResolver();

function probe(
  target: string,
  options: ProbeOptionsInput = {},
  context: Partial<ProbeContext> = {},
): Promise<ProbeResult> {
  return probeTarget(target, ProbeOptions.parse(options), {
    resolver: defaultResolver,
    limits: fastLimits,
    ...context,
  });
}

/** A silent server whose first connection tells when the request arrived and when it closed. */
function silentServer() {
  let onRequest!: () => void;
  let onClose!: () => void;
  const requestArrived = new Promise<void>((resolve) => (onRequest = resolve));
  const socketClosed = new Promise<void>((resolve) => (onClose = resolve));
  const onConnection = (socket: net.Socket) => {
    socket.once('data', () => onRequest());
    socket.once('close', () => onClose());
  };
  return { requestArrived, socketClosed, onConnection };
}

function expectFailure(result: ProbeResult, code: string, phase: string): void {
  expect(result.error, JSON.stringify(result.error)).toMatchObject({ code, phase });
  expect(result.ok).toBe(false);
  expect(result.headers).toEqual([]);
}

function expectConsistentTiming(result: ProbeResult): void {
  const t = result.timing;
  expect(t.namelookup).not.toBeNull();
  expect(t.connect!).toBeGreaterThanOrEqual(t.namelookup!);
  expect(t.appconnect!).toBeLessThanOrEqual(t.pretransfer!);
  expect(t.pretransfer!).toBeGreaterThanOrEqual(t.connect!);
  expect(t.starttransfer!).toBeGreaterThanOrEqual(t.pretransfer!);
  expect(t.total).toBeGreaterThanOrEqual(t.starttransfer!);
  const p = t.phases;
  const sum = p.dns! + p.tcp! + p.tls! + p.request! + p.wait! + p.transfer!;
  expect(Math.abs(sum - t.total)).toBeLessThan(0.01);
  expect(Number.isNaN(Date.parse(t.startedAt))).toBe(false);
}

describe('probeTarget: answers', () => {
  it('reads status and headers exactly as received, with consistent timing', async () => {
    const server = await serve(startTcpServer(respondWith(normalResponse)));
    const result = await probe(`127.0.0.1:${server.port}`);
    expect(result).toMatchObject({
      target: `127.0.0.1:${server.port}`,
      url: `http://127.0.0.1:${server.port}/`,
      ok: true,
      httpVersion: '1.1',
      status: 200,
      statusText: 'OK',
      remote: { address: '127.0.0.1', port: server.port, family: 'IPv4' },
      tls: null,
      error: null,
    });
    const cookies = result.headers.filter(([name]) => name.toLowerCase() === 'set-cookie');
    expect(cookies).toEqual([
      ['Set-Cookie', 'sessionid=8f14e45fceea167a; Path=/; HttpOnly; Secure'],
      ['set-cookie', 'theme=dark; Path=/; Max-Age=3600'],
    ]);
    expect(result.headers.map(([name]) => name)).toEqual([
      'Date',
      'Server',
      'Content-Type',
      'Content-Length',
      'cache-control',
      'Set-Cookie',
      'set-cookie',
      'X-Frame-Options',
      'x-request-id',
      'Connection',
    ]);
    expect(result.timing.namelookup).toBe(0);
    expect(result.timing.appconnect).toBe(0);
    expectConsistentTiming(result);
  });

  it('sends one well-formed request: method, version, Host, caller headers, Connection: close', async () => {
    let received = '';
    const server = await serve(
      startTcpServer((socket) => {
        socket.on('data', (chunk) => {
          received += chunk.toString('latin1');
          if (received.includes('\r\n\r\n')) socket.end(normalResponse);
        });
      }),
    );
    const result = await probe(`http://127.0.0.1:${server.port}/a/b?c=d#frag`, {
      method: 'HEAD',
      httpVersion: '1.0',
      headers: { 'X-Trace': 'abc', 'User-Agent': 'probe-test/1' },
    });
    expect(result.ok).toBe(true);
    expect(received).toBe(
      `HEAD /a/b?c=d HTTP/1.0\r\nHost: 127.0.0.1:${server.port}\r\nUser-Agent: probe-test/1\r\n` +
        'Accept: */*\r\nX-Trace: abc\r\nConnection: close\r\n\r\n',
    );
  });

  it('skips interim 1xx responses and reports the final one', async () => {
    const server = await serve(
      startTcpServer(
        respondWith(
          'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </s.css>\r\n\r\n' +
            normalResponse,
        ),
      ),
    );
    const result = await probe(`127.0.0.1:${server.port}`);
    expect(result).toMatchObject({ ok: true, status: 200, informational: [100, 103] });
  });

  it('reads a head split into many small reads', async () => {
    const pieces = normalResponse.match(/[\s\S]{1,7}/g)!;
    const server = await serve(startTcpServer(chunked(pieces)));
    const result = await probe(`127.0.0.1:${server.port}`);
    expect(result.ok).toBe(true);
    expect(result.headers).toHaveLength(10);
  });

  it('probes IPv6 [::1]', async () => {
    const server = await serve(startTcpServer(respondWith(normalResponse), { host: '::1' }));
    const result = await probe(`[::1]:${server.port}`);
    expect(result).toMatchObject({
      ok: true,
      url: `http://[::1]:${server.port}/`,
      remote: { address: '::1', family: 'IPv6' },
    });
  });

  it('measures wait as the server delay: starttransfer − pretransfer within 2 ms (median of 5)', async () => {
    const delayMs = 60;
    const server = await serve(startDelayServer(delayMs));
    const errors: number[] = [];
    for (let i = 0; i < 5; i++) {
      const result = await probe(`127.0.0.1:${server.port}`);
      expect(result.ok).toBe(true);
      const waited = result.timing.starttransfer! - result.timing.pretransfer!;
      expect(waited).toBeGreaterThanOrEqual(delayMs);
      const served = server.requests[i]!;
      errors.push(Math.abs(waited - (served.respondedAt - served.receivedAt)));
    }
    errors.sort((a, b) => a - b);
    expect(errors[2]!).toBeLessThan(2);
  });
});

describe('probeTarget: names', () => {
  it('resolves through the given DNS server, timed, and dials the answer', async () => {
    const target = await serve(startTcpServer(respondWith(normalResponse)));
    const dns = await serve(startDnsServer({ 'app.test': { A: ['127.0.0.1'] } }));
    const resolver = createDnsResolver({ servers: [dns.server], queryTimeoutMs: 300 });
    const result = await probe(`app.test:${target.port}`, {}, { resolver });
    expect(result).toMatchObject({ ok: true, remote: { address: '127.0.0.1' } });
    expect(result.timing.namelookup!).toBeGreaterThan(0);
    expect(dns.queries.map((q) => q.name)).toContain('app.test');
  });

  it('uses --resolve style overrides without any lookup (dns = 0)', async () => {
    const target = await serve(startTcpServer(respondWith(normalResponse)));
    const dns = await serve(startDnsServer({}));
    const resolver = createDnsResolver({ servers: [dns.server] });
    const result = await probe(
      `http://pinned.test:${target.port}/`,
      { resolve: { [`pinned.test:${target.port}`]: '127.0.0.1' } },
      { resolver },
    );
    expect(result.ok).toBe(true);
    expect(result.timing.namelookup).toBe(0);
    expect(dns.queries).toEqual([]);
  });

  it.each([
    ['dns_not_found', 'missing.test', {}],
    ['dns_error', 'broken.test', { 'broken.test': { servfail: true } }],
    ['dns_timeout', 'slow.test', { 'slow.test': { silent: true } }],
  ])('classifies %s', async (code, name, zone) => {
    const dns = await serve(startDnsServer(zone));
    const resolver = createDnsResolver({ servers: [dns.server], queryTimeoutMs: 300, attempts: 1 });
    const result = await probe(`${name}:80`, {}, { resolver });
    expectFailure(result, code, 'dns');
    expect(result.timing.connect).toBeNull();
  });

  it('still answers, as internal_error, when cleaning up after the probe throws', async () => {
    // Settling runs after the socket callback, from a queue: a throw there must not leave
    // the probe (and its job, and a graceful shutdown) waiting forever.
    const brokenSignal = {
      aborted: false,
      addEventListener() {},
      removeEventListener() {
        throw new Error('listener bookkeeping broke');
      },
    };
    const result = await probe('http://[::1', {}, { signal: brokenSignal });
    expectFailure(result, 'internal_error', 'parse');
    expect(result.error?.message).toContain('listener bookkeeping broke');
  });

  it('reports a resolver that breaks its contract as internal_error, never crashing', async () => {
    const rejecting = { resolve: () => Promise.reject(new Error('boom')) };
    expectFailure(await probe('any.test', {}, { resolver: rejecting }), 'internal_error', 'dns');
    const throwing = {
      resolve: (): never => {
        throw new Error('sync boom');
      },
    };
    expectFailure(await probe('any.test', {}, { resolver: throwing }), 'internal_error', 'dns');
    const facts = { source: 'dns' as const, name: 'any.test', cnames: [], addresses: [], ttl: 1 };
    const empty = { resolve: async () => ({ ok: true as const, addresses: [], facts }) };
    expectFailure(await probe('any.test', {}, { resolver: empty }), 'dns_not_found', 'dns');
  });

  it('matches --resolve pins case-insensitively and in Unicode or punycode', async () => {
    const target = await serve(startTcpServer(respondWith(normalResponse)));
    const dns = await serve(startDnsServer({}));
    const resolver = createDnsResolver({ servers: [dns.server] });
    const mixedCase = await probe(
      `pinned.test:${target.port}`,
      { resolve: { [`Pinned.TEST:${target.port}`]: '127.0.0.1' } },
      { resolver },
    );
    expect(mixedCase.ok).toBe(true);
    const unicode = await probe(
      `http://xn--bcher-kva.test:${target.port}/`,
      { resolve: { [`Bücher.test:${target.port}`]: '127.0.0.1' } },
      { resolver },
    );
    expect(unicode.ok).toBe(true);
    expect(dns.queries).toEqual([]);
  });
});

describe('probeTarget: failures are classified', () => {
  it.each([
    ['ftp://example.com/'],
    ['http://user:pass@example.com/'],
    ['http://'],
    ['example.com:99999'],
    ['example.com:0'],
    ['exa mple.com'],
    [''],
  ])('rejects %j as invalid_target without touching the network', async (target) => {
    const result = await probe(target);
    expectFailure(result, 'invalid_target', 'parse');
    expect(result.url).toBeNull();
  });

  it('connection_refused', async () => {
    const server = await startTcpServer(() => {});
    const port = server.port;
    await server.close();
    expectFailure(await probe(`127.0.0.1:${port}`), 'connection_refused', 'connect');
  });

  it('connect_timeout against a listener whose accept queue is full', async () => {
    const { port } = await serve(startFullListener('127.0.0.1'));
    const result = await probe(`127.0.0.1:${port}`);
    expectFailure(result, 'connect_timeout', 'connect');
  });

  it('headers_timeout when the server accepts and stays silent, and the socket is closed', async () => {
    const silent = silentServer();
    const server = await serve(startTcpServer(silent.onConnection));
    const result = await probe(`127.0.0.1:${server.port}`);
    expectFailure(result, 'headers_timeout', 'headers');
    expect(result.timing.pretransfer).not.toBeNull();
    expect(result.timing.starttransfer).toBeNull();
    await silent.socketClosed;
  });

  it('deadline_exceeded when the whole-target deadline comes before the phase timeout', async () => {
    const server = await serve(startTcpServer(() => {}));
    const result = await probe(
      `127.0.0.1:${server.port}`,
      { timeoutMs: 150 },
      {
        limits: { ...fastLimits, headersTimeoutMs: 5000 },
      },
    );
    expectFailure(result, 'deadline_exceeded', 'headers');
    expect(result.timing.total).toBeGreaterThanOrEqual(149);
  });

  it('connection_reset when the server resets after the request', async () => {
    const server = await serve(startTcpServer(respondWith('', { end: 'reset' })));
    expectFailure(await probe(`127.0.0.1:${server.port}`), 'connection_reset', 'headers');
  });

  it('connection_closed when the server closes mid-headers or without answering', async () => {
    const midHead = await serve(startTcpServer(respondWith('HTTP/1.1 200 OK\r\nServer: x\r\n')));
    expectFailure(await probe(`127.0.0.1:${midHead.port}`), 'connection_closed', 'headers');
    const silentClose = await serve(startTcpServer(respondWith('')));
    const result = await probe(`127.0.0.1:${silentClose.port}`);
    expectFailure(result, 'connection_closed', 'headers');
    expect(result.error?.message).toMatch(/without a response/);
  });

  it('a reset after part of the head is reported as reset or close, never as success', async () => {
    const server = await serve(
      startTcpServer(respondWith('HTTP/1.1 200 OK\r\nServer: x\r\n', { end: 'reset' })),
    );
    const result = await probe(`127.0.0.1:${server.port}`);
    expect(['connection_reset', 'connection_closed']).toContain(result.error?.code);
  });

  it.each([
    ['garbage', 'lorem ipsum dolor\r\n\r\n'],
    ['an SSH banner sent on connect', 'SSH-2.0-OpenSSH_9.2p1\r\n'],
  ])('not_http for %s', async (_name, bytes) => {
    const server = await serve(
      startTcpServer(respondWith(bytes, { afterRequest: false, end: 'keep-open' })),
    );
    expectFailure(await probe(`127.0.0.1:${server.port}`), 'not_http', 'headers');
  });

  it('protocol_error for a malformed HTTP head', async () => {
    const server = await serve(startTcpServer(respondWith('HTTP/1.1 2OO OK\r\n\r\n')));
    expectFailure(await probe(`127.0.0.1:${server.port}`), 'protocol_error', 'headers');
  });

  it('header_overflow for an oversized header block', async () => {
    const huge = `HTTP/1.1 200 OK\r\n${'X-Filler: '.padEnd(1000, 'a')}\r\n`.repeat(1);
    const server = await serve(
      startTcpServer(respondWith(huge + 'X-More: b\r\n'.repeat(10_000), { end: 'keep-open' })),
    );
    const result = await probe(`127.0.0.1:${server.port}`);
    expectFailure(result, 'header_overflow', 'headers');
  });

  it('cancelled when the signal aborts mid-probe, and the server sees the socket close', async () => {
    const silent = silentServer();
    const server = await serve(startTcpServer(silent.onConnection));
    const controller = new AbortController();
    const pending = probe(`127.0.0.1:${server.port}`, {}, { signal: controller.signal });
    await silent.requestArrived;
    controller.abort();
    expectFailure(await pending, 'cancelled', 'headers');
    await silent.socketClosed;
  });

  it('cancelled at once for an already-aborted signal', async () => {
    const result = await probe('127.0.0.1:9', {}, { signal: AbortSignal.abort() });
    expectFailure(result, 'cancelled', 'dns');
    expect(result.remote).toBeNull();
  });
});

describe('probeTarget: TLS', () => {
  it('reports protocol, cipher, ALPN and certificate, and verifies against a trusted CA', async () => {
    const ca = await makeCertificateAuthority();
    const leaf = await makeSignedCertificate(ca, {
      commonName: 'secure.test',
      dnsNames: ['secure.test'],
    });
    const server = await serve(
      startTlsServer((socket) => respondWith(normalResponse)(socket), {
        ...leaf,
      }),
    );
    const secureContext = tls.createSecureContext({ ca: ca.cert });
    const result = await probe(
      `https://secure.test:${server.port}/`,
      { resolve: { [`secure.test:${server.port}`]: '127.0.0.1' } },
      { secureContext },
    );
    expect(result.ok, JSON.stringify(result.error)).toBe(true);
    expect(result.tls).toMatchObject({
      protocol: 'TLSv1.3',
      servername: 'secure.test',
      verified: true,
      verifyError: null,
      certificate: { subject: { CN: 'secure.test' }, subjectAltNames: ['DNS:secure.test'] },
    });
    expect(result.tls?.cipher).toMatch(/^TLS_/);
    expect(result.tls?.certificate?.fingerprint256).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    expect(result.timing.appconnect!).toBeGreaterThan(result.timing.connect!);
    expectConsistentTiming(result);
  });

  it('tls_error for a self-signed certificate, with the certificate still described', async () => {
    const cert = await makeSelfSignedCertificate({
      commonName: 'self.test',
      ipAddresses: ['127.0.0.1'],
    });
    const server = await serve(
      startTlsServer((socket) => respondWith(normalResponse)(socket), cert),
    );
    const result = await probe(`https://127.0.0.1:${server.port}/`);
    expectFailure(result, 'tls_error', 'tls');
    expect(result.tls).toMatchObject({
      verified: false,
      verifyError: 'DEPTH_ZERO_SELF_SIGNED_CERT',
      servername: null,
      certificate: { subject: { CN: 'self.test' } },
    });

    const unverified = await probe(`https://127.0.0.1:${server.port}/`, { tlsVerify: false });
    expect(unverified).toMatchObject({ ok: true, status: 200, tls: { verified: false } });
  });

  it('tls_error for an expired certificate and for a wrong host name', async () => {
    const ca = await makeCertificateAuthority();
    const secureContext = tls.createSecureContext({ ca: ca.cert });
    const expired = await makeSignedCertificate(ca, {
      commonName: 'old.test',
      dnsNames: ['old.test'],
      notBefore: new Date('2020-01-01'),
      notAfter: new Date('2021-01-01'),
    });
    const oldServer = await serve(startTlsServer((s) => respondWith(normalResponse)(s), expired));
    const old = await probe(
      `https://old.test:${oldServer.port}/`,
      { resolve: { [`old.test:${oldServer.port}`]: '127.0.0.1' } },
      { secureContext },
    );
    expectFailure(old, 'tls_error', 'tls');
    expect(old.tls?.verifyError).toBe('CERT_HAS_EXPIRED');

    const other = await makeSignedCertificate(ca, {
      commonName: 'other.test',
      dnsNames: ['other.test'],
    });
    const otherServer = await serve(startTlsServer((s) => respondWith(normalResponse)(s), other));
    const mismatch = await probe(
      `https://wanted.test:${otherServer.port}/`,
      { resolve: { [`wanted.test:${otherServer.port}`]: '127.0.0.1' } },
      { secureContext },
    );
    expectFailure(mismatch, 'tls_error', 'tls');
    expect(mismatch.tls?.verifyError).toBe('ERR_TLS_CERT_ALTNAME_INVALID');
  });

  it('tls_error when the server speaks plain HTTP on the https port', async () => {
    const server = await serve(
      startTcpServer(respondWith(normalResponse, { afterRequest: false })),
    );
    expectFailure(await probe(`https://127.0.0.1:${server.port}/`), 'tls_error', 'tls');
  });

  it('tls_timeout when the server accepts TCP and never answers the handshake', async () => {
    const server = await serve(startTcpServer(() => {}));
    const result = await probe(`https://127.0.0.1:${server.port}/`);
    expectFailure(result, 'tls_timeout', 'tls');
    expect(result.timing.connect).not.toBeNull();
    expect(result.timing.appconnect).toBeNull();
  });
});
