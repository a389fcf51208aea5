// Hostile targets: each ends in exactly one classified result within the target's deadline,
// its socket closed, the process unharmed. Plus a property test that serves random and
// mutated bytes, split at random points, from a loopback server.
import type { Socket } from 'node:net';
import type * as tls from 'node:tls';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { createDnsResolver, defaultProbeLimits, probeTarget } from '../../src/probe/index.js';
import type { ProbeContext } from '../../src/probe/probe.js';
import { ProbeOptions } from '../../src/schemas/probe-options.js';
import type { ProbeResult } from '../../src/schemas/probe-result.js';
import { makeSelfSignedCertificate } from '../support/certs.js';
import { startDnsServer } from '../support/dns-server.js';
import { loopbackResolver } from '../support/loopback-resolver.js';
import {
  normalResponse,
  onRequestHead,
  type ServerHandle,
  startTcpServer,
  startTlsServer,
} from '../support/servers.js';

const deadlineMs = 600;
const limits = {
  ...defaultProbeLimits,
  connectTimeoutMs: 400,
  tlsTimeoutMs: 400,
  headersTimeoutMs: 400,
};
const options = ProbeOptions.parse({ timeoutMs: deadlineMs });
const context: ProbeContext = { resolver: loopbackResolver(), limits };

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((close) => close()));
});

/** A server running `behave` per connection, reporting when each socket closes. */
async function hostile(behave: (socket: Socket, stop: () => boolean) => void) {
  const closed: Array<Promise<void>> = [];
  const server = await startTcpServer((socket) => {
    let gone = false;
    closed.push(
      new Promise((resolve) =>
        socket.once('close', () => {
          gone = true;
          resolve();
        }),
      ),
    );
    behave(socket, () => gone);
    // Read (and drop) whatever arrives, so the peer's close is seen even by silent servers.
    socket.resume();
  });
  cleanups.push(() => server.close());
  return { server, closed };
}

/** Writes `next()` every few ms until the client goes away: an endless, slow server. */
function drip(socket: Socket, stop: () => boolean, next: () => string | Buffer, everyMs = 2) {
  const timer = setInterval(() => {
    if (stop()) clearInterval(timer);
    else socket.write(next());
  }, everyMs);
  socket.once('close', () => clearInterval(timer));
}

async function probeOnce(target: string, extra: Partial<ProbeContext> = {}): Promise<ProbeResult> {
  const result = await probeTarget(target, options, { ...context, ...extra });
  expect(result.timing.total).toBeLessThan(deadlineMs + 250);
  return result;
}

const afterRequest = (write: (socket: Socket) => void) => (socket: Socket) =>
  onRequestHead(socket, () => write(socket));

describe('hostile targets', () => {
  it.each<[string, (socket: Socket, stop: () => boolean) => void, string]>([
    [
      'slowloris: headers one byte at a time, forever',
      (socket, stop) => {
        const bytes = Buffer.from(`HTTP/1.1 200 OK\r\n${'X-Slow: y\r\n'.repeat(1000)}`);
        let at = 0;
        onRequestHead(socket, () => drip(socket, stop, () => bytes.subarray(at, ++at)));
      },
      'headers_timeout',
    ],
    [
      'endless 1xx responses',
      (socket, stop) =>
        onRequestHead(socket, () => drip(socket, stop, () => 'HTTP/1.1 102 Processing\r\n\r\n')),
      'header_overflow',
    ],
    [
      'an endless header line',
      (socket, stop) =>
        onRequestHead(socket, () => {
          socket.write('HTTP/1.1 200 OK\r\nX-Endless: ');
          drip(socket, stop, () => 'a'.repeat(4096), 1);
        }),
      'header_overflow',
    ],
    [
      'a 100 KB header line',
      afterRequest((socket) =>
        socket.end(`HTTP/1.1 200 OK\r\nX-Big: ${'b'.repeat(100_000)}\r\n\r\n`),
      ),
      'header_overflow',
    ],
    [
      'thousands of headers',
      afterRequest((socket) => socket.end(`HTTP/1.1 200 OK\r\n${'X-H: 1\r\n'.repeat(5000)}\r\n`)),
      'header_overflow',
    ],
    [
      'a NUL byte',
      afterRequest((s) => s.end('HTTP/1.1 200 OK\r\nX: a\0b\r\n\r\n')),
      'protocol_error',
    ],
    [
      'a control byte',
      afterRequest((s) => s.end('HTTP/1.1 200 OK\r\nX: a\x07b\r\n\r\n')),
      'protocol_error',
    ],
    [
      'obs-fold',
      afterRequest((s) => s.end('HTTP/1.1 200 OK\r\nX: a\r\n b\r\n\r\n')),
      'protocol_error',
    ],
    ['bare LF', afterRequest((s) => s.end('HTTP/1.1 200 OK\nX: a\n\n')), 'protocol_error'],
    ['bare CR', afterRequest((s) => s.end('HTTP/1.1 200 OK\rX: a\r\n\r\n')), 'protocol_error'],
    [
      'an invalid status line',
      afterRequest((s) => s.end('HTTP/1.1 OK 200\r\n\r\n')),
      'protocol_error',
    ],
    ['HTTP/0.9 (a body, no head)', afterRequest((s) => s.end('<html>hello</html>')), 'not_http'],
    ['an SSH banner', (s) => s.write('SSH-2.0-OpenSSH_9.6\r\n'), 'not_http'],
    ['an SMTP greeting', (s) => s.write('220 mx.example.com ESMTP Postfix\r\n'), 'not_http'],
    [
      'an HTTP/2 SETTINGS frame',
      afterRequest((s) => s.write(Buffer.from([0, 0, 6, 4, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 100]))),
      'not_http',
    ],
    [
      'a close mid-headers',
      afterRequest((s) => s.end('HTTP/1.1 200 OK\r\nX: a\r\n')),
      'connection_closed',
    ],
    ['a reset after the request', afterRequest((s) => s.resetAndDestroy()), 'connection_reset'],
    ['accept-and-silence', () => {}, 'headers_timeout'],
  ])('%s: one classified result, socket closed', async (_name, behave, code) => {
    const { server, closed } = await hostile(behave);
    const result = await probeOnce(`127.0.0.1:${server.port}`);
    expect(result.error?.code).toBe(code);
    await closed[0];
  });

  it('a gigantic Content-Length or an endless body is never read', async () => {
    const { server, closed } = await hostile((socket, stop) =>
      onRequestHead(socket, () => {
        socket.write('HTTP/1.1 200 OK\r\nContent-Length: 999999999999999\r\n\r\n');
        drip(socket, stop, () => 'z'.repeat(16_384), 1);
      }),
    );
    const result = await probeOnce(`127.0.0.1:${server.port}`);
    expect(result).toMatchObject({ ok: true, status: 200 });
    await closed[0];
  });

  it('a TLS stall → tls_timeout; a self-signed certificate is reported, never silently accepted', async () => {
    const stall = await hostile(() => {});
    expect((await probeOnce(`https://127.0.0.1:${stall.server.port}/`)).error?.code).toBe(
      'tls_timeout',
    );
    await stall.closed[0];

    const cert = await makeSelfSignedCertificate({
      commonName: 'evil.test',
      dnsNames: ['evil.test'],
    });
    const server: ServerHandle = await startTlsServer((socket: tls.TLSSocket) => {
      onRequestHead(socket, () => socket.end(normalResponse));
    }, cert);
    cleanups.push(() => server.close());
    const result = await probeOnce(`https://127.0.0.1:${server.port}/`);
    expect(result.error?.code).toBe('tls_error');
    expect(result.tls).toMatchObject({ verified: false });
    expect(result.tls?.verifyError).toMatch(/SELF_SIGNED|ALTNAME/);
  });

  it('a DNS server that never answers does not stall other targets', async () => {
    const { server } = await hostile(afterRequest((s) => s.end(normalResponse)));
    const dns = await startDnsServer({
      'slow.test': { silent: true },
      'fine.test': { A: ['127.0.0.1'] },
    });
    cleanups.push(() => dns.close());
    const resolver = createDnsResolver({ servers: [dns.server], queryTimeoutMs: 300, attempts: 1 });
    const order: string[] = [];
    const slow = probeOnce(`slow.test:${server.port}`, { resolver }).then((r) => {
      order.push('slow');
      return r;
    });
    const fine = probeOnce(`fine.test:${server.port}`, { resolver }).then((r) => {
      order.push('fine');
      return r;
    });
    expect((await fine).ok).toBe(true);
    expect((await slow).error?.code).toBe('dns_timeout');
    expect(order).toEqual(['fine', 'slow']);
  });
});

const realistic = Buffer.from(normalResponse, 'latin1');
const responseBytes = fc.oneof(
  fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b)),
  fc
    .array(fc.tuple(fc.nat({ max: realistic.length - 1 }), fc.integer({ min: 0, max: 255 })), {
      minLength: 1,
      maxLength: 4,
    })
    .map((edits) => {
      const bytes = Buffer.from(realistic);
      for (const [at, byte] of edits) bytes[at] = byte;
      return bytes;
    }),
  fc.constantFrom(
    realistic,
    realistic.subarray(0, 40),
    Buffer.from('HTTP/1.1 100 Continue\r\n\r\n'),
  ),
);

describe('property: any bytes, split anywhere, end in one result within the deadline', () => {
  it('never crashes, never hangs, never answers twice', async () => {
    await fc.assert(
      fc.asyncProperty(
        responseBytes,
        fc.array(fc.nat({ max: 250 }), { maxLength: 5 }),
        fc.constantFrom('end', 'destroy', 'reset', 'end', 'end', 'keep-open'),
        async (bytes, cuts, ending) => {
          const points = [...new Set(cuts.filter((c) => c > 0 && c < bytes.length))].sort(
            (a, b) => a - b,
          );
          const chunks = [...points, bytes.length].map((end, i, all) =>
            bytes.subarray(i === 0 ? 0 : all[i - 1], end),
          );
          const { server, closed } = await hostile((socket) =>
            onRequestHead(socket, () => {
              const writeNext = (i: number) => {
                if (socket.destroyed) return;
                if (i < chunks.length) {
                  socket.write(chunks[i]!);
                  setImmediate(() => writeNext(i + 1));
                } else if (ending === 'end') socket.end();
                else if (ending === 'destroy') socket.destroy();
                else if (ending === 'reset') socket.resetAndDestroy();
              };
              writeNext(0);
            }),
          );
          let settled = 0;
          const result = await probeTarget(`127.0.0.1:${server.port}`, options, context).then(
            (r) => {
              settled++;
              return r;
            },
          );
          expect(settled).toBe(1);
          expect(result.ok === (result.error === null)).toBe(true);
          expect(result.timing.total).toBeLessThan(deadlineMs + 250);
          await closed[0];
          await server.close();
        },
      ),
      { numRuns: 60 },
    );
  }, 60_000);
});
