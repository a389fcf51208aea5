import type * as http2 from 'node:http2';
import { constants as h2constants } from 'node:http2';
import type * as tls from 'node:tls';
import { beforeAll, describe, expect, it } from 'vitest';
import { probeTarget } from '../../src/probe/index.js';
import { ProbeOptions, type ProbeOptionsInput } from '../../src/schemas/probe-options.js';
import type { ProbeResult } from '../../src/schemas/probe-result.js';
import { type KeyAndCertificate, makeSelfSignedCertificate } from '../support/certs.js';
import { track } from '../support/cleanup.js';
import { fastLimits } from '../support/fast-limits.js';
import {
  END_HEADERS,
  END_STREAM,
  type Frame,
  FrameType,
  frame,
  goaway,
  hpackIndexed,
  hpackLiteral,
  startH2Server,
  startRawH2Server,
} from '../support/h2-servers.js';
import { loopbackResolver } from '../support/loopback-resolver.js';
import {
  normalResponse,
  onRequestHead,
  respondWith,
  startTcpServer,
  startTlsServer,
} from '../support/servers.js';

const resolver = loopbackResolver();

function probe(target: string, options: ProbeOptionsInput = {}): Promise<ProbeResult> {
  return probeTarget(target, ProbeOptions.parse({ tlsVerify: false, ...options }), {
    resolver,
    limits: fastLimits,
  });
}

let certificate: KeyAndCertificate;
beforeAll(async () => {
  certificate = await makeSelfSignedCertificate({
    commonName: 'localhost',
    dnsNames: ['localhost'],
    ipAddresses: ['127.0.0.1'],
  });
});

const ok200: (stream: http2.ServerHttp2Stream) => void = (stream) =>
  stream.respond({ ':status': 200, server: 'h2-fixture' }, { endStream: true });

/** Server SETTINGS, then whatever `frames` the test scripts, on every connection. */
function rawH2(...frames: Buffer[]) {
  return track(
    startRawH2Server((socket: tls.TLSSocket) => {
      socket.write(Buffer.concat([frame(FrameType.SETTINGS, 0, 0), ...frames]));
    }, certificate),
  );
}

describe('HTTP/2: which version a probe speaks', () => {
  it('auto: h2 where the server offers it by ALPN', async () => {
    const server = await track(startH2Server(ok200, { certificate }));
    const result = await probe(`https://127.0.0.1:${server.port}/`);
    expect(result).toMatchObject({
      ok: true,
      httpVersion: '2',
      status: 200,
      statusText: null,
      headers: [
        ['server', 'h2-fixture'],
        ['date', expect.any(String)],
      ],
      tls: { alpn: 'h2' },
      error: null,
    });
  });

  it('auto: HTTP/1.1 where the server has no h2, and on plain http', async () => {
    const tlsServer = await track(startTlsServer(respondWith(normalResponse), certificate));
    const overTls = await probe(`https://127.0.0.1:${tlsServer.port}/`);
    expect(overTls).toMatchObject({ ok: true, httpVersion: '1.1', tls: { alpn: null } });

    const plain = await track(startTcpServer(respondWith(normalResponse)));
    expect(await probe(`127.0.0.1:${plain.port}`)).toMatchObject({ ok: true, httpVersion: '1.1' });
  });

  it('"2" against a server without h2: http2_not_negotiated in the tls phase, TLS described', async () => {
    const server = await track(startTlsServer(respondWith(normalResponse), certificate));
    const result = await probe(`https://127.0.0.1:${server.port}/`, { httpVersion: '2' });
    expect(result).toMatchObject({
      ok: false,
      httpVersion: null,
      tls: { protocol: 'TLSv1.3', alpn: null },
      error: { code: 'http2_not_negotiated', phase: 'tls' },
    });
    expect(result.error!.message).toContain('not h2');
  });

  it('"1.1" offers only http/1.1, even to a server that prefers h2', async () => {
    const server = await track(startH2Server(ok200, { certificate, alpn: ['h2', 'http/1.1'] }));
    const result = await probe(`https://127.0.0.1:${server.port}/`, { httpVersion: '1.1' });
    // The fixture's h2 server has no HTTP/1 handler: the point is what ALPN settled on.
    expect(result.tls?.alpn).toBe('http/1.1');
    expect(result.httpVersion).not.toBe('2');
  });

  it('"2" on plain http: prior-knowledge h2c', async () => {
    const server = await track(startH2Server(ok200));
    const result = await probe(`http://127.0.0.1:${server.port}/x?y=1`, { httpVersion: '2' });
    expect(result).toMatchObject({ ok: true, httpVersion: '2', status: 200, tls: null });
    const request = server.received.find((f) => f.type === FrameType.HEADERS);
    expect(request?.streamId).toBe(1);
  });

  it('"2" on plain http to an HTTP/1.1 server that writes a byte at a time: still its status line', async () => {
    const line = 'HTTP/1.1 400 Bad Request\r\n\r\n';
    const server = await track(
      startTcpServer((socket) => {
        let at = 0;
        const next = () => {
          if (at < line.length && !socket.destroyed) socket.write(line[at++]!, next);
        };
        next();
      }),
    );
    const result = await probe(`http://127.0.0.1:${server.port}/`, { httpVersion: '2' });
    expect(result.error).toMatchObject({ code: 'http2_not_negotiated' });
    expect(result.error!.message).toContain('HTTP/1.1 400 Bad Request');
  });

  it('"2" on plain http to an HTTP/1.1 server: http2_not_negotiated, with its status line', async () => {
    const server = await track(
      startTcpServer((socket) =>
        socket.end('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n'),
      ),
    );
    const result = await probe(`http://127.0.0.1:${server.port}/`, { httpVersion: '2' });
    expect(result.error).toMatchObject({ code: 'http2_not_negotiated' });
    expect(result.error!.message).toContain('HTTP/1.1 400 Bad Request');
  });
});

describe('HTTP/2: the exchange', () => {
  it('sends the job method, path and headers as h2 fields; keeps the response order and duplicates', async () => {
    let seen: http2.IncomingHttpHeaders = {};
    const server = await track(
      startH2Server(
        (stream, headers) => {
          seen = headers;
          stream.respond(
            {
              ':status': 301,
              'x-b': ['1', '2'],
              'set-cookie': ['a=1; Secure', 'b=2'],
              location: '/elsewhere',
              'x-a': 'z',
            },
            { endStream: true },
          );
        },
        { certificate },
      ),
    );
    const result = await probe(`https://127.0.0.1:${server.port}/path?q=1`, {
      method: 'HEAD',
      headers: { 'X-Trace': 'abc', Host: 'example.test' },
    });
    expect(seen).toMatchObject({
      ':method': 'HEAD',
      ':path': '/path?q=1',
      ':scheme': 'https',
      ':authority': 'example.test',
      'user-agent': expect.stringMatching(/^headprobe\//),
      'x-trace': 'abc',
    });
    expect(seen.connection).toBeUndefined();
    expect(result.status).toBe(301);
    expect(result.headers.slice(0, 6)).toEqual([
      ['x-b', '1'],
      ['x-b', '2'],
      ['set-cookie', 'a=1; Secure'],
      ['set-cookie', 'b=2'],
      ['location', '/elsewhere'],
      ['x-a', 'z'],
    ]);
    expect(result.headers.some(([name]) => name.startsWith(':'))).toBe(false);
  });

  it('resets the stream (CANCEL) at the head: the server could send no DATA before it', async () => {
    let streamClosed!: (code: number) => void;
    const closed = new Promise<number>((resolve) => (streamClosed = resolve));
    const server = await track(
      startH2Server(
        (stream) => {
          stream.on('close', () => streamClosed(stream.rstCode));
          stream.respond({ ':status': 200, 'content-type': 'text/plain' });
          stream.write('x'.repeat(50_000));
        },
        { certificate },
      ),
    );
    const result = await probe(`https://127.0.0.1:${server.port}/`);
    expect(result.ok).toBe(true);
    expect(await closed).toBe(h2constants.NGHTTP2_CANCEL);
    const reset = server.received.find((f) => f.type === FrameType.RST_STREAM && f.streamId === 1);
    expect(reset?.payload.readUInt32BE(0)).toBe(h2constants.NGHTTP2_CANCEL);
    // The stream window we announced is 0: not one body byte left the server.
    const bodyBytes = server.sent
      .filter((f) => f.type === FrameType.DATA)
      .reduce((sum, f) => sum + f.payload.length, 0);
    expect(bodyBytes).toBe(0);
  });

  it('reports interim 1xx responses and ends at the final head (trailers never read)', async () => {
    const server = await track(
      startH2Server(
        (stream) => {
          stream.additionalHeaders({ ':status': 103, link: '</a.css>; rel=preload' });
          stream.respond({ ':status': 200 }, { waitForTrailers: true });
          stream.on('wantTrailers', () => stream.sendTrailers({ 'x-trailer': 'late' }));
          stream.end();
        },
        { certificate },
      ),
    );
    const result = await probe(`https://127.0.0.1:${server.port}/`);
    expect(result).toMatchObject({ ok: true, status: 200, informational: [103] });
    expect(result.headers.some(([name]) => name === 'x-trailer')).toBe(false);
  });

  it('times the wait as the server delay: starttransfer − pretransfer within 2 ms (median of 5)', async () => {
    const delayMs = 60;
    const server = await track(
      startH2Server(
        (stream) => {
          setTimeout(() => stream.respond({ ':status': 204 }, { endStream: true }), delayMs);
        },
        { certificate },
      ),
    );
    // The server's own delay, read where its socket is: request HEADERS in, response HEADERS out
    // (node:http2 writes a response a loop turn after respond(), which a busy machine stretches).
    const headersAt = (frames: readonly Frame[]) =>
      frames.find((f) => f.type === FrameType.HEADERS && f.streamId === 1)!.at;
    const errors: number[] = [];
    for (let i = 0; i < 5; i++) {
      server.received.length = 0;
      server.sent.length = 0;
      const result = await probe(`https://127.0.0.1:${server.port}/`);
      expect(result).toMatchObject({ ok: true, httpVersion: '2' });
      const { pretransfer, starttransfer, appconnect, total } = result.timing;
      expect(pretransfer!).toBeGreaterThanOrEqual(appconnect!);
      expect(total).toBeGreaterThanOrEqual(starttransfer!);
      const waited = starttransfer! - pretransfer!;
      expect(waited).toBeGreaterThanOrEqual(delayMs);
      const served = headersAt(server.sent) - headersAt(server.received);
      errors.push(Math.abs(waited - served));
    }
    errors.sort((a, b) => a - b);
    expect(errors[2]!, `|wait − served| of each run: ${errors.join(', ')} ms`).toBeLessThan(2);
  });

  it('follows a redirect from h2 to HTTP/1.1: each hop says its own version', async () => {
    const h1 = await track(startTcpServer(respondWith(normalResponse)));
    const h2 = await track(
      startH2Server(
        (stream) =>
          stream.respond(
            { ':status': 302, location: `http://127.0.0.1:${h1.port}/next` },
            { endStream: true },
          ),
        { certificate },
      ),
    );
    const result = await probe(`https://127.0.0.1:${h2.port}/`, { followRedirects: 2 });
    expect(result.redirects).toMatchObject([{ httpVersion: '2', status: 302 }]);
    expect(result).toMatchObject({ ok: true, httpVersion: '1.1', status: 200 });
  });
});

describe('HTTP/2: hostile servers give one classified result within the deadline', () => {
  const timeoutMs = 1500;

  async function hostile(port: number): Promise<ProbeResult> {
    const result = await probe(`https://127.0.0.1:${port}/`, { timeoutMs });
    expect(result.ok).toBe(false);
    expect(result.timing.total).toBeLessThan(timeoutMs + 200);
    return result;
  }

  it('GOAWAY before answering: connection_closed, naming the frame', async () => {
    const server = await rawH2(goaway(0, 0));
    const result = await hostile(server.port);
    expect(result.error).toMatchObject({ code: 'connection_closed' });
    expect(result.error!.message).toContain('GOAWAY (NO_ERROR)');
  });

  it('a GOAWAY with an error code: protocol_error', async () => {
    const server = await rawH2(goaway(0, h2constants.NGHTTP2_ENHANCE_YOUR_CALM));
    const result = await hostile(server.port);
    expect(result.error).toMatchObject({ code: 'protocol_error' });
    expect(result.error!.message).toContain('ENHANCE_YOUR_CALM');
  });

  it('a SETTINGS flood: a classified error, and the next probe still works', async () => {
    const flood = Buffer.concat(
      Array.from({ length: 20_000 }, () => frame(FrameType.SETTINGS, 0, 0)),
    );
    const server = await rawH2(flood);
    const result = await hostile(server.port);
    expect(['protocol_error', 'headers_timeout', 'connection_closed']).toContain(
      result.error!.code,
    );
    const fine = await track(startH2Server(ok200, { certificate }));
    expect((await probe(`https://127.0.0.1:${fine.port}/`)).ok).toBe(true);
  });

  it('an HPACK bomb (a 4 kB field indexed once, referenced 2,000 times): header_overflow', async () => {
    const block = Buffer.concat([
      hpackIndexed(8), // :status 200
      hpackLiteral('x-bomb', 'b'.repeat(4000), true),
      ...Array.from({ length: 2000 }, () => hpackIndexed(62)),
    ]);
    const server = await rawH2(frame(FrameType.HEADERS, END_HEADERS, 1, block));
    const result = await hostile(server.port);
    expect(result.error).toMatchObject({ code: 'header_overflow', phase: 'headers' });
  });

  it('more header fields than the limit: header_overflow', async () => {
    const fields = Array.from({ length: fastLimits.maxHeaders + 5 }, (_, i) =>
      hpackLiteral(`x-f${i}`, 'v'),
    );
    const block = Buffer.concat([hpackIndexed(8), ...fields]);
    const server = await rawH2(frame(FrameType.HEADERS, END_HEADERS, 1, block));
    const result = await hostile(server.port);
    expect(result.error).toMatchObject({ code: 'header_overflow' });
  });

  it('a server that closes before answering: connection_closed, as over HTTP/1.1', async () => {
    const afterSettings = await track(
      startRawH2Server((socket) => socket.end(frame(FrameType.SETTINGS, 0, 0)), certificate),
    );
    expect((await hostile(afterSettings.port)).error).toMatchObject({ code: 'connection_closed' });
    const atOnce = await track(startRawH2Server((socket) => socket.end(), certificate));
    expect((await hostile(atOnce.port)).error).toMatchObject({ code: 'connection_closed' });
  });

  it.each([
    ['DATA before any HEADERS', frame(FrameType.DATA, 0, 1, Buffer.alloc(100))],
    [
      'a frame over the maximum frame size',
      frame(FrameType.WINDOW_UPDATE, 0, 0, Buffer.alloc(20_000)),
    ],
  ])('%s: protocol_error at once, not a timeout', async (_name, bad) => {
    const server = await rawH2(bad);
    const result = await hostile(server.port);
    expect(result.error).toMatchObject({ code: 'protocol_error' });
    expect(result.timing.total).toBeLessThan(fastLimits.headersTimeoutMs);
  });

  it('a PING flood before the head: protocol_error, naming the flood', async () => {
    const pings = Array.from({ length: 500 }, () => frame(0x6, 0, 0, Buffer.alloc(8)));
    const server = await rawH2(...pings);
    const result = await hostile(server.port);
    expect(result.error).toMatchObject({ code: 'protocol_error' });
    expect(result.error!.message).toContain('flood');
  });

  it('a final :status that is not three digits: protocol_error', async () => {
    const block = hpackLiteral(':status', '099');
    const server = await rawH2(frame(FrameType.HEADERS, END_HEADERS, 1, block));
    expect((await hostile(server.port)).error).toMatchObject({ code: 'protocol_error' });
  });

  it('a field value with a NUL is left out, the rest kept; an uppercase name: protocol_error', async () => {
    const head = (field: Buffer) =>
      Buffer.concat([
        hpackIndexed(8),
        hpackLiteral('x-before', 'a'),
        field,
        hpackLiteral('x-after', 'c'),
      ]);
    // nghttp2 drops a field whose value is not a valid field value, and says nothing.
    const nul = await rawH2(
      frame(
        FrameType.HEADERS,
        END_HEADERS | END_STREAM,
        1,
        head(hpackLiteral('x-nul', 'a\u0000b')),
      ),
    );
    expect(await probe(`https://127.0.0.1:${nul.port}/`)).toMatchObject({
      ok: true,
      headers: [
        ['x-before', 'a'],
        ['x-after', 'c'],
      ],
    });
    // A name with uppercase letters is malformed (RFC 9113 §8.2.1): nghttp2 resets the stream.
    const upper = await rawH2(
      frame(FrameType.HEADERS, END_HEADERS | END_STREAM, 1, head(hpackLiteral('X-Upper', 'b'))),
    );
    expect((await hostile(upper.port)).error).toMatchObject({ code: 'protocol_error' });
  });

  it('keeps the interim 1xx statuses of an exchange that then fails', async () => {
    const interim = frame(FrameType.HEADERS, END_HEADERS, 1, hpackLiteral(':status', '103'));
    const server = await track(
      startRawH2Server(
        (socket) => socket.end(Buffer.concat([frame(FrameType.SETTINGS, 0, 0), interim])),
        certificate,
      ),
    );
    const result = await hostile(server.port);
    expect(result).toMatchObject({ informational: [103], error: { code: 'connection_closed' } });
  });

  it('a stream that never answers: headers_timeout', async () => {
    const server = await rawH2();
    const result = await hostile(server.port);
    expect(result.error).toMatchObject({ code: 'headers_timeout', phase: 'headers' });
  });

  it('a server that answers HTTP/2 frames to an HTTP/1.1 request: not_http, saying so', async () => {
    const overTls = await track(
      startRawH2Server((socket) => socket.write(frame(FrameType.SETTINGS, 0, 0)), certificate, [
        'http/1.1',
      ]),
    );
    const result = await hostile(overTls.port);
    expect(result.error).toMatchObject({ code: 'not_http', phase: 'headers' });
    expect(result.error!.message).toContain('HTTP/2 frames');

    const plain = await track(
      startTcpServer((socket) =>
        onRequestHead(socket, () => socket.write(frame(FrameType.SETTINGS, 0, 0))),
      ),
    );
    const overTcp = await probe(`127.0.0.1:${plain.port}`, { timeoutMs });
    expect(overTcp.error).toMatchObject({ code: 'not_http' });
    expect(overTcp.error!.message).toContain('HTTP/2 frames');
  });
});
