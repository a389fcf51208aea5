// HTTP/2 targets for probe tests: node:http2 servers (TLS with a minted certificate, or h2c)
// whose every frame in and out is logged, and raw TLS servers that script hostile frames
// byte for byte (GOAWAY, floods, HPACK bombs), which a real HTTP/2 server would never send.
import * as http2 from 'node:http2';
import * as net from 'node:net';
import { Duplex } from 'node:stream';
import * as tls from 'node:tls';
import type { KeyAndCertificate } from './certs.js';

export const FrameType = {
  DATA: 0x0,
  HEADERS: 0x1,
  RST_STREAM: 0x3,
  SETTINGS: 0x4,
  GOAWAY: 0x7,
  WINDOW_UPDATE: 0x8,
  CONTINUATION: 0x9,
} as const;

export interface Frame {
  readonly type: number;
  readonly flags: number;
  readonly streamId: number;
  readonly payload: Buffer;
  /** performance.now() when the chunk that completed the frame was read or written. */
  readonly at: number;
}

const CLIENT_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');

/** Splits one direction of a connection into frames (the client's starts with the preface). */
class FrameLog {
  readonly frames: Frame[] = [];
  private pending = Buffer.alloc(0);
  private prefaceLeft: number;

  constructor(clientSide: boolean) {
    this.prefaceLeft = clientSide ? CLIENT_PREFACE.length : 0;
  }

  push(chunk: Buffer): void {
    const at = performance.now();
    this.pending = Buffer.concat([this.pending, chunk]);
    if (this.prefaceLeft > 0) {
      const skipped = Math.min(this.prefaceLeft, this.pending.length);
      this.pending = this.pending.subarray(skipped);
      this.prefaceLeft -= skipped;
    }
    while (this.pending.length >= 9) {
      const length = this.pending.readUIntBE(0, 3);
      if (this.pending.length < 9 + length) return;
      this.frames.push({
        type: this.pending[3]!,
        flags: this.pending[4]!,
        streamId: this.pending.readUInt32BE(5) & 0x7fffffff,
        payload: Buffer.from(this.pending.subarray(9, 9 + length)),
        at,
      });
      this.pending = this.pending.subarray(9 + length);
    }
  }
}

/** A socket seen through a Duplex, so both directions can be logged before http2 reads them. */
class TeeSocket extends Duplex {
  constructor(
    private readonly socket: net.Socket,
    onIn: (chunk: Buffer) => void,
    private readonly onOut: (chunk: Buffer) => void,
  ) {
    super();
    socket.on('data', (chunk: Buffer) => {
      onIn(chunk);
      this.push(chunk);
    });
    socket.on('end', () => this.push(null));
    socket.on('close', () => this.destroy());
    socket.on('error', () => this.destroy());
  }

  override _read(): void {}

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: () => void): void {
    this.onOut(chunk);
    if (this.socket.destroyed) done();
    else this.socket.write(chunk, () => done());
  }

  override _final(done: () => void): void {
    this.socket.end();
    done();
  }

  override _destroy(error: Error | null, done: (error: Error | null) => void): void {
    this.socket.destroy();
    done(error);
  }
}

export interface H2ServerHandle {
  readonly port: number;
  /** Frames the server received (client → server) and sent, over every connection. */
  readonly received: Frame[];
  readonly sent: Frame[];
  close(): Promise<void>;
}

export type StreamHandler = (
  stream: http2.ServerHttp2Stream,
  headers: http2.IncomingHttpHeaders,
) => void;

function listenOn(server: net.Server, sockets: Set<net.Socket>): Promise<number> {
  server.on('connection', (socket: net.Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port));
  });
}

function closer(server: net.Server, sockets: Set<net.Socket>): () => Promise<void> {
  let closed: Promise<void> | null = null;
  return () => {
    closed ??= new Promise<void>((resolve) => {
      for (const socket of sockets) socket.destroy();
      server.close(() => resolve());
    });
    return closed;
  };
}

/**
 * A node:http2 server on loopback: TLS with `certificate` (ALPN `alpn`, default h2 only), or
 * prior-knowledge h2c without one. `onStream` answers each request.
 */
export async function startH2Server(
  onStream: StreamHandler,
  options: { certificate?: KeyAndCertificate; alpn?: string[] } = {},
): Promise<H2ServerHandle> {
  const received: Frame[] = [];
  const sent: Frame[] = [];
  const h2 = http2.createServer();
  h2.on('stream', onStream);
  h2.on('sessionError', () => {});
  const adopt = (socket: net.Socket) => {
    const inbound = new FrameLog(true);
    const outbound = new FrameLog(false);
    const tee = new TeeSocket(
      socket,
      (chunk) => {
        inbound.push(chunk);
        received.push(...inbound.frames.splice(0));
      },
      (chunk) => {
        outbound.push(chunk);
        sent.push(...outbound.frames.splice(0));
      },
    );
    h2.emit('connection', tee);
  };
  const sockets = new Set<net.Socket>();
  const certificate = options.certificate;
  const server =
    certificate === undefined
      ? net.createServer(adopt)
      : tls.createServer({
          key: certificate.key,
          cert: certificate.cert,
          ALPNProtocols: options.alpn ?? ['h2'],
        });
  if (certificate !== undefined) {
    server.on('secureConnection', adopt);
    server.on('tlsClientError', () => {});
  }
  const port = await listenOn(server, sockets);
  return { port, received, sent, close: closer(server, sockets) };
}

/** A TLS server that picks h2 by ALPN and hands each socket to `script`, which writes frames. */
export async function startRawH2Server(
  script: (socket: tls.TLSSocket) => void,
  certificate: KeyAndCertificate,
  alpn: string[] = ['h2'],
): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = tls.createServer({
    key: certificate.key,
    cert: certificate.cert,
    ALPNProtocols: alpn,
  });
  server.on('secureConnection', (socket: tls.TLSSocket) => {
    socket.on('error', () => {});
    script(socket);
  });
  server.on('tlsClientError', () => {});
  const port = await listenOn(server, sockets);
  return { port, close: closer(server, sockets) };
}

export function frame(
  type: number,
  flags: number,
  streamId: number,
  payload: Buffer = Buffer.alloc(0),
): Buffer {
  const header = Buffer.alloc(9);
  header.writeUIntBE(payload.length, 0, 3);
  header[3] = type;
  header[4] = flags;
  header.writeUInt32BE(streamId, 5);
  return Buffer.concat([header, payload]);
}

export const END_STREAM = 0x1;
export const END_HEADERS = 0x4;

export function goaway(lastStreamId: number, errorCode: number): Buffer {
  const payload = Buffer.alloc(8);
  payload.writeUInt32BE(lastStreamId, 0);
  payload.writeUInt32BE(errorCode, 4);
  return frame(FrameType.GOAWAY, 0, 0, payload);
}

/** RFC 7541 §5.1 integer with an N-bit prefix; `first` holds the pattern bits above it. */
function hpackInteger(value: number, prefixBits: number, first: number): Buffer {
  const max = (1 << prefixBits) - 1;
  if (value < max) return Buffer.from([first | value]);
  const bytes = [first | max];
  let rest = value - max;
  while (rest >= 128) {
    bytes.push((rest % 128) + 128);
    rest = Math.floor(rest / 128);
  }
  bytes.push(rest);
  return Buffer.from(bytes);
}

function hpackString(text: string): Buffer {
  const bytes = Buffer.from(text, 'latin1');
  return Buffer.concat([hpackInteger(bytes.length, 7, 0), bytes]);
}

/** A literal field with a new name, added to the dynamic table when `index` is true. */
export function hpackLiteral(name: string, value: string, index = false): Buffer {
  return Buffer.concat([Buffer.from([index ? 0x40 : 0x00]), hpackString(name), hpackString(value)]);
}

/** A field from the tables: 1–61 static, 62 the newest dynamic entry. */
export function hpackIndexed(index: number): Buffer {
  return hpackInteger(index, 7, 0x80);
}
