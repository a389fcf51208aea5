// Proves the loopback fixtures behave as the probe tests assume: DNS rcodes and silence,
// certificate verification outcomes, and target servers that answer and close on cue.
import { createSocket } from 'node:dgram';
import { promises as dns } from 'node:dns';
import { connect } from 'node:net';
import { performance } from 'node:perf_hooks';
import { type ConnectionOptions, connect as connectTls } from 'node:tls';
import { describe, expect, it, onTestFinished } from 'vitest';
import {
  makeCertificateAuthority,
  makeSelfSignedCertificate,
  makeSignedCertificate,
} from './support/certs.js';
import { startDnsServer } from './support/dns-server.js';
import {
  chunked,
  normalResponse,
  respondWith,
  startDelayServer,
  startTcpServer,
  startTlsServer,
} from './support/servers.js';

const requestHead = 'HEAD / HTTP/1.1\r\nHost: fixture.test\r\nConnection: close\r\n\r\n';

function resolverFor(server: string, timeout = 1000): dns.Resolver {
  const resolver = new dns.Resolver({ timeout, tries: 1 });
  resolver.setServers([server]);
  return resolver;
}

interface Exchange {
  readonly text: string;
  /** Each 'data' event the client saw, to check how the bytes were split. */
  readonly reads: string[];
  readonly error?: NodeJS.ErrnoException;
}

/** Sends `request` (if any) and collects every byte until the server closes the socket. */
function exchange(port: number, request: string | undefined): Promise<Exchange> {
  return new Promise((resolve) => {
    const reads: string[] = [];
    let error: NodeJS.ErrnoException | undefined;
    const socket = connect({ host: '127.0.0.1', port }, () => {
      if (request !== undefined) socket.write(request);
    });
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => reads.push(chunk.toString('latin1')));
    socket.on('error', (e: NodeJS.ErrnoException) => {
      error = e;
    });
    socket.on('close', () => resolve({ text: reads.join(''), reads, ...(error ? { error } : {}) }));
  });
}

interface Handshake {
  readonly authorized: boolean;
  readonly authorizationError: string | undefined;
}

/** One TLS handshake that never throws on a bad certificate, so the verdict can be asserted. */
function handshake(port: number, options: ConnectionOptions): Promise<Handshake> {
  return new Promise((resolve, reject) => {
    const socket = connectTls({ host: '127.0.0.1', port, rejectUnauthorized: false, ...options });
    socket.once('secureConnect', () => {
      const authorizationError = socket.authorizationError as Error | string | null;
      resolve({
        authorized: socket.authorized,
        authorizationError: authorizationError === null ? undefined : String(authorizationError),
      });
      socket.destroy();
    });
    socket.once('error', reject);
  });
}

describe('dns-server', () => {
  const zone = {
    'both.test': { A: ['192.0.2.10', '192.0.2.11'], AAAA: ['2001:db8::10'] },
    'v4only.test': { A: ['192.0.2.20'] },
    'quiet.test': { silent: true },
    'broken.test': { servfail: true },
  };

  it('answers A and AAAA, matching names case-insensitively', async () => {
    const server = await startDnsServer(zone);
    onTestFinished(() => server.close());
    const resolver = resolverFor(server.server);

    expect(await resolver.resolve4('both.test')).toEqual(['192.0.2.10', '192.0.2.11']);
    expect(await resolver.resolve6('BOTH.Test')).toEqual(['2001:db8::10']);
    expect(await resolver.resolve4('both.test', { ttl: true })).toEqual([
      { address: '192.0.2.10', ttl: 60 },
      { address: '192.0.2.11', ttl: 60 },
    ]);
    expect(server.queries).toEqual([
      { name: 'both.test', type: 'A', transport: 'udp' },
      { name: 'both.test', type: 'AAAA', transport: 'udp' },
      { name: 'both.test', type: 'A', transport: 'udp' },
    ]);
  });

  it('answers NXDOMAIN for unknown names and NODATA for a missing type', async () => {
    const server = await startDnsServer(zone);
    onTestFinished(() => server.close());
    const resolver = resolverFor(server.server);

    await expect(resolver.resolve4('nowhere.test')).rejects.toMatchObject({ code: 'ENOTFOUND' });
    await expect(resolver.resolve6('v4only.test')).rejects.toMatchObject({ code: 'ENODATA' });
  });

  it('answers SERVFAIL when told to', async () => {
    const server = await startDnsServer(zone);
    onTestFinished(() => server.close());

    await expect(resolverFor(server.server).resolve4('broken.test')).rejects.toMatchObject({
      code: 'ESERVFAIL',
    });
  });

  it('stays silent, so the resolver times out', async () => {
    const server = await startDnsServer(zone);
    onTestFinished(() => server.close());
    const started = performance.now();

    // c-ares 1.34 (Node 20) gives up after roughly twice `timeout` even with tries: 1.
    await expect(resolverFor(server.server, 200).resolve4('quiet.test')).rejects.toMatchObject({
      code: 'ETIMEOUT',
    });
    expect(performance.now() - started).toBeGreaterThanOrEqual(150);
    expect(server.queries).toEqual([{ name: 'quiet.test', type: 'A', transport: 'udp' }]);
  });

  it('ignores malformed packets and keeps serving', async () => {
    const server = await startDnsServer(zone);
    onTestFinished(() => server.close());
    const garbage = createSocket('udp4');
    await new Promise<void>((resolve) =>
      garbage.send(Buffer.from([1, 2, 3]), server.port, server.host, () => resolve()),
    );
    garbage.close();

    expect(await resolverFor(server.server).resolve4('v4only.test')).toEqual(['192.0.2.20']);
  });

  it('serves on ::1 too', async (context) => {
    const server = await startDnsServer(zone, { host: '::1' }).catch(() => undefined);
    if (!server) return context.skip('no IPv6 loopback here');
    onTestFinished(() => server.close());

    expect(server.server).toBe(`[::1]:${server.port}`);
    expect(await resolverFor(server.server).resolve4('v4only.test')).toEqual(['192.0.2.20']);
  });
});

describe('certs', () => {
  it('signs a leaf that verifies against its CA for its DNS and IP names only', async () => {
    const ca = await makeCertificateAuthority();
    const leaf = await makeSignedCertificate(ca, {
      commonName: 'probe.test',
      dnsNames: ['probe.test'],
      ipAddresses: ['127.0.0.1'],
    });
    const server = await startTlsServer((socket) => socket.end(), leaf);
    onTestFinished(() => server.close());

    expect(await handshake(server.port, { servername: 'probe.test', ca: [ca.cert] })).toEqual({
      authorized: true,
      authorizationError: undefined,
    });
    expect(await handshake(server.port, { ca: [ca.cert] })).toMatchObject({ authorized: true });
    expect(await handshake(server.port, { servername: 'other.test', ca: [ca.cert] })).toEqual({
      authorized: false,
      authorizationError: 'ERR_TLS_CERT_ALTNAME_INVALID',
    });
    expect(await handshake(server.port, { servername: 'probe.test' })).toMatchObject({
      authorizationError: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
    });
  });

  it('makes an expired certificate from past dates', async () => {
    const ca = await makeCertificateAuthority();
    const day = 24 * 60 * 60 * 1000;
    const expired = await makeSignedCertificate(ca, {
      commonName: 'old.test',
      dnsNames: ['old.test'],
      notBefore: new Date(Date.now() - 60 * day),
      notAfter: new Date(Date.now() - 30 * day),
    });
    const server = await startTlsServer((socket) => socket.end(), expired);
    onTestFinished(() => server.close());

    expect(await handshake(server.port, { servername: 'old.test', ca: [ca.cert] })).toEqual({
      authorized: false,
      authorizationError: 'CERT_HAS_EXPIRED',
    });
  });

  it('makes a self-signed certificate that verifies only when trusted directly', async () => {
    const self = await makeSelfSignedCertificate({
      commonName: 'self.test',
      dnsNames: ['self.test'],
    });
    const server = await startTlsServer((socket) => socket.end(), self);
    onTestFinished(() => server.close());

    expect(await handshake(server.port, { servername: 'self.test' })).toEqual({
      authorized: false,
      authorizationError: 'DEPTH_ZERO_SELF_SIGNED_CERT',
    });
    expect(await handshake(server.port, { servername: 'self.test', ca: [self.cert] })).toEqual({
      authorized: true,
      authorizationError: undefined,
    });
  });
});

describe('servers', () => {
  it('answers after the request head and ends the connection', async () => {
    const server = await startTcpServer(respondWith(normalResponse));
    onTestFinished(() => server.close());

    const { text, error } = await exchange(server.port, requestHead);
    expect(text).toBe(normalResponse);
    expect(error).toBeUndefined();
    expect(server.connections).toBe(1);
  });

  it('normalResponse carries two Set-Cookie lines and an exact Content-Length', () => {
    const [head = '', body = ''] = normalResponse.split('\r\n\r\n');
    const lines = head.split('\r\n');
    expect(lines[0]).toBe('HTTP/1.1 200 OK');
    expect(lines.filter((line) => /^set-cookie:/i.test(line))).toHaveLength(2);
    expect(head).toContain(`Content-Length: ${Buffer.byteLength(body)}\r\n`);
  });

  it('does not answer before the request head is complete', async () => {
    const server = await startTcpServer(respondWith('HTTP/1.1 204 No Content\r\n\r\n'));
    onTestFinished(() => server.close());
    const socket = connect({ host: '127.0.0.1', port: server.port });
    onTestFinished(() => void socket.destroy());
    const reads: string[] = [];
    socket.on('data', (chunk: Buffer) => reads.push(chunk.toString('latin1')));
    await new Promise<void>((resolve) => socket.once('connect', resolve));

    // The write callback fires once the bytes are in the kernel; the server can't have answered
    // a partial head, and the full head must then produce the answer.
    await new Promise<void>((resolve) =>
      socket.write('HEAD / HTTP/1.1\r\nHost: x\r\n', () => resolve()),
    );
    expect(reads).toEqual([]);
    socket.write('\r\n');
    await new Promise<void>((resolve) => socket.once('end', resolve));
    expect(reads.join('')).toBe('HTTP/1.1 204 No Content\r\n\r\n');
  });

  it('can answer without waiting for a request', async () => {
    const server = await startTcpServer(
      respondWith('SSH-2.0-OpenSSH_9.6\r\n', { afterRequest: false }),
    );
    onTestFinished(() => server.close());

    expect((await exchange(server.port, undefined)).text).toBe('SSH-2.0-OpenSSH_9.6\r\n');
  });

  it('resets the connection when asked', async () => {
    const server = await startTcpServer(respondWith('', { end: 'reset' }));
    onTestFinished(() => server.close());

    const { text, error } = await exchange(server.port, requestHead);
    expect(text).toBe('');
    expect(error?.code).toBe('ECONNRESET');
  });

  it('keeps a connection open until close() destroys it', async () => {
    const server = await startTcpServer(respondWith(normalResponse, { end: 'keep-open' }));
    onTestFinished(() => server.close());
    const socket = connect({ host: '127.0.0.1', port: server.port }, () =>
      socket.write(requestHead),
    );
    socket.on('error', () => {});
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    let got = '';
    await new Promise<void>((resolve) =>
      socket.on('data', (chunk: Buffer) => {
        got += chunk.toString('latin1');
        if (got === normalResponse) resolve();
      }),
    );
    expect(socket.readableEnded).toBe(false);

    await server.close();
    await closed;
    expect(server.connections).toBe(1);
  });

  it('writes chunks in separate event-loop turns', async () => {
    const chunks = ['HTTP/1.1 200 OK\r\n', 'Content-Length: 0\r\n', '\r\n'];
    const server = await startTcpServer(chunked(chunks));
    onTestFinished(() => server.close());

    const { reads } = await exchange(server.port, requestHead);
    // Client and server share this event loop, so each chunk is its own read.
    expect(reads).toEqual(chunks);
  });

  it('serves TLS and counts failed handshakes as connections', async () => {
    const self = await makeSelfSignedCertificate({
      commonName: 'tls.test',
      dnsNames: ['tls.test'],
    });
    const server = await startTlsServer(respondWith(normalResponse), self);
    onTestFinished(() => server.close());

    const text = await new Promise<string>((resolve, reject) => {
      let got = '';
      const socket = connectTls({
        host: '127.0.0.1',
        port: server.port,
        ca: [self.cert],
        servername: 'tls.test',
      });
      socket.on('secureConnect', () => socket.write(requestHead));
      socket.on('data', (chunk: Buffer) => {
        got += chunk.toString('latin1');
      });
      socket.on('close', () => resolve(got));
      socket.on('error', reject);
    });
    expect(text).toBe(normalResponse);

    // Plain text at a TLS port: a handshake failure the server must shrug off.
    await exchange(server.port, requestHead);
    expect(server.connections).toBe(2);
  });

  it('close() ends a TLS connection that is stuck mid-handshake', async () => {
    const self = await makeSelfSignedCertificate({ commonName: 'tls.test' });
    const server = await startTlsServer(() => {}, self);
    onTestFinished(() => server.close());
    // A client that connects but never says hello.
    const stuck = exchange(server.port, undefined);
    await new Promise<void>((resolve) => {
      const check = () => (server.connections > 0 ? resolve() : setImmediate(check));
      check();
    });
    await server.close();
    expect((await stuck).text).toBe('');
  });

  it('delays the answer by at least delayMs from the complete request head', async () => {
    const server = await startDelayServer(120);
    onTestFinished(() => server.close());

    const sentAt = performance.now();
    const { text } = await exchange(server.port, requestHead);
    const waited = performance.now() - sentAt;

    expect(text).toBe(normalResponse);
    expect(server.requests).toHaveLength(1);
    const [request] = server.requests;
    const serverDelay = request!.respondedAt - request!.receivedAt;
    expect(serverDelay).toBeGreaterThanOrEqual(120);
    expect(serverDelay).toBeLessThan(120 + 100);
    expect(waited).toBeGreaterThanOrEqual(serverDelay);
  });
});
