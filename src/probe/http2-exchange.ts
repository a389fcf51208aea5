// One HTTP/2 request on the probe's own connected socket (the vetted address, the same TLS
// session): node:http2 speaks the protocol, the probe keeps the clock. Only the response
// HEADERS are read: our SETTINGS give every stream a receive window of 0, so the server can
// send no DATA at all, and the stream is reset (CANCEL) as soon as the final head arrives.
import * as http2 from 'node:http2';
import type * as net from 'node:net';
import { Duplex } from 'node:stream';
import type { ProbeErrorCode } from '../schemas/probe-result.js';
import {
  goawayErrorIn,
  Http2FrameWatch,
  MAX_CONTROL_FRAMES,
  PeerProtocol,
} from './http2-frame-watch.js';
import type { ProbeLimits } from './limits.js';

const { NGHTTP2_CANCEL, NGHTTP2_ENHANCE_YOUR_CALM, NGHTTP2_NO_ERROR } = http2.constants;

/**
 * How long a finished exchange waits for its RST_STREAM to be written before closing: nghttp2
 * writes it a loop turn later, unless the session is past writing (then it never comes).
 */
const RESET_LINGER_MS = 100;

/** What the probe hears from an exchange; it owns the clock and the single result. */
export interface Http2ExchangeOwner {
  /** The request's HEADERS were handed to the socket. */
  onHttp2RequestWritten(): void;
  /** The first byte of the response's first HEADERS frame arrived at `at` (performance.now()). */
  onHttp2HeadersStart(at: number): void;
  onHttp2Response(head: Http2ResponseHead): void;
  onHttp2Failure(code: ProbeErrorCode, message: string): void;
}

export interface Http2ResponseHead {
  readonly status: number;
  /** In wire order with duplicates; pseudo-headers left out. */
  readonly headers: Array<[string, string]>;
  readonly informational: number[];
}

/** The error codes of RFC 9113 §7 by number, for messages. */
const ERROR_NAMES = [
  'NO_ERROR',
  'PROTOCOL_ERROR',
  'INTERNAL_ERROR',
  'FLOW_CONTROL_ERROR',
  'SETTINGS_TIMEOUT',
  'STREAM_CLOSED',
  'FRAME_SIZE_ERROR',
  'REFUSED_STREAM',
  'CANCEL',
  'COMPRESSION_ERROR',
  'CONNECT_ERROR',
  'ENHANCE_YOUR_CALM',
  'INADEQUATE_SECURITY',
  'HTTP_1_1_REQUIRED',
];
function errorName(code: number): string {
  return ERROR_NAMES[code] ?? `error ${code}`;
}

function ignoreError(): void {}

/**
 * Carries bytes between the probe's socket and node:http2. http2 would otherwise consume
 * the socket's handle natively, and the probe could no longer see when each frame arrived.
 */
class SocketBridge extends Duplex {
  constructor(
    private readonly socket: net.Socket,
    private readonly onWrite: (chunk: Buffer) => void,
  ) {
    super();
  }

  override _read(): void {}

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (error?: Error) => void): void {
    this.onWrite(chunk);
    if (this.socket.destroyed) done();
    else this.socket.write(chunk, () => done());
  }

  // node:http2 hands over a session's frames (preface, SETTINGS, HEADERS) as one corked batch:
  // one TLS record and one system call for all of them, not one each.
  override _writev(chunks: Array<{ chunk: Buffer }>, done: (error?: Error) => void): void {
    const chunk = Buffer.concat(chunks.map((entry) => entry.chunk));
    this.onWrite(chunk);
    if (this.socket.destroyed) done();
    else this.socket.write(chunk, () => done());
  }

  override _final(done: () => void): void {
    if (!this.socket.destroyed) this.socket.end();
    done();
  }

  override _destroy(error: Error | null, done: (error: Error | null) => void): void {
    this.socket.destroy();
    done(error);
  }
}

export class Http2Exchange {
  private readonly watch = new Http2FrameWatch();
  private readonly bridge: SocketBridge;
  private readonly session: http2.ClientHttp2Session;
  private stream: http2.ClientHttp2Stream | null = null;
  /** Interim 1xx statuses so far; a failed exchange's result keeps them too. */
  readonly informational: number[] = [];
  private requestSubmitted = false;
  private requestWritten = false;
  private goaway: { code: number; lastStreamId: number } | null = null;
  /** The server ended its side of the connection (FIN or close_notify). */
  private peerEnded = false;
  private over = false;
  /** A stream reset reported a turn later, so a session error that caused it is heard first. */
  private pendingReset: NodeJS.Immediate | null = null;
  private lingerTimer: NodeJS.Timeout | null = null;

  constructor(
    socket: net.Socket,
    /** `https://host:port` or `http://…`: the session's origin. */
    origin: string,
    private readonly requestHeaders: Record<string, string>,
    private readonly limits: ProbeLimits,
    private readonly owner: Http2ExchangeOwner,
  ) {
    this.bridge = new SocketBridge(socket, this.onBridgeWrite);
    // The socket's own errors reach the probe through the socket; the bridge only forwards.
    this.bridge.on('error', ignoreError);
    this.session = http2.connect(origin, {
      createConnection: () => this.bridge,
      settings: {
        enablePush: false,
        // No stream may carry DATA to us: the body is never read, so it is never sent.
        initialWindowSize: 0,
        maxHeaderListSize: limits.maxHeaderBytes,
      },
      // :status and the fields; nghttp2 answers more with ENHANCE_YOUR_CALM.
      maxHeaderListPairs: limits.maxHeaders + 1,
    });
    this.session.on('error', this.onSessionError);
    this.session.on('goaway', this.onGoaway);
    this.session.on('close', this.onSessionClose);
  }

  /** Sends the request. */
  start(): void {
    let stream: http2.ClientHttp2Stream;
    try {
      stream = this.session.request(this.requestHeaders, { endStream: true });
    } catch (error) {
      this.fail('internal_error', `could not start the HTTP/2 request: ${String(error)}`);
      return;
    }
    this.requestSubmitted = true;
    this.stream = stream;
    stream.on('headers', this.onInterimHead);
    stream.on('response', this.onResponse);
    // The close event that follows an error carries the reset code; it reports the failure.
    stream.on('error', ignoreError);
    stream.on('close', this.onStreamClose);
  }

  /** Bytes the socket received (the caller owns them: a reused read buffer is copied first). */
  receive(chunk: Buffer): void {
    if (this.over) return;
    const watch = this.watch;
    if (watch.headersAt === null) {
      watch.scan(chunk, performance.now());
      if (watch.peer === PeerProtocol.NotHttp2) {
        this.failNotHttp2();
        return;
      }
      if (watch.controlFrames > MAX_CONTROL_FRAMES) {
        this.fail(
          'protocol_error',
          `the server sent more than ${MAX_CONTROL_FRAMES} SETTINGS, PING and WINDOW_UPDATE ` +
            'frames before its response head (a flood)',
        );
        return;
      }
      if (watch.headersAt !== null) this.owner.onHttp2HeadersStart(watch.headersAt);
    }
    this.bridge.push(chunk);
  }

  /** The server ended its side of the connection: http2 hears it and closes the stream. */
  remoteEnded(): void {
    this.peerEnded = true;
    if (!this.over) this.bridge.push(null);
  }

  /**
   * Resets the stream (CANCEL), then closes the session and the socket. The session waits for
   * the RST_STREAM to be written (destroyed at once, nghttp2 would drop it unsent), but not
   * longer than RESET_LINGER_MS: a peer that stops reading cannot hold the socket open.
   */
  close(): void {
    this.over = true;
    if (this.pendingReset !== null) clearImmediate(this.pendingReset);
    const stream = this.stream;
    const writable = !this.session.closed && !this.session.destroyed && !this.peerEnded;
    if (writable && stream !== null && !stream.closed && !stream.destroyed) {
      stream.close(NGHTTP2_CANCEL, this.destroySession);
      this.lingerTimer = setTimeout(this.destroySession, RESET_LINGER_MS);
      this.lingerTimer.unref();
    } else {
      this.destroySession();
    }
  }

  private readonly destroySession = (): void => {
    if (this.lingerTimer !== null) clearTimeout(this.lingerTimer);
    this.lingerTimer = null;
    if (!this.session.destroyed) this.session.destroy();
    this.bridge.destroy();
  };

  private readonly onBridgeWrite = (chunk: Buffer): void => {
    if (this.over) return;
    if (this.requestSubmitted && !this.requestWritten) {
      this.requestWritten = true;
      this.owner.onHttp2RequestWritten();
    }
    const code = goawayErrorIn(chunk);
    if (code !== null && code !== NGHTTP2_NO_ERROR) {
      this.fail(
        'protocol_error',
        `the server broke HTTP/2; headprobe ended the session (GOAWAY ${errorName(code)})`,
      );
    }
  };

  private readonly onInterimHead = (headers: http2.IncomingHttpHeaders): void => {
    if (this.over) return;
    const status = Number(headers[':status']);
    this.informational.push(status);
    if (this.informational.length > this.limits.maxInformational) {
      this.fail(
        'header_overflow',
        `more than ${this.limits.maxInformational} interim 1xx responses`,
      );
    }
  };

  private readonly onResponse = (
    headers: http2.IncomingHttpHeaders,
    _flags: number,
    rawHeaders?: string[],
  ): void => {
    if (this.over) return;
    const status = Number(headers[':status']);
    // 1xx heads come as 'headers' events; a final status is three digits (RFC 9110 §15).
    if (!Number.isInteger(status) || status < 200 || status > 999) {
      this.fail('protocol_error', `invalid :status ${String(headers[':status'])}`);
      return;
    }
    const pairs: Array<[string, string]> = [];
    const raw = rawHeaders ?? [];
    for (let i = 0; i + 1 < raw.length; i += 2) {
      const name = raw[i]!;
      if (name.charCodeAt(0) !== 0x3a) pairs.push([name, raw[i + 1]!]);
    }
    this.over = true;
    this.owner.onHttp2Response({ status, headers: pairs, informational: this.informational });
  };

  private readonly onStreamClose = (): void => {
    if (this.over) return;
    const code = this.stream?.rstCode ?? NGHTTP2_NO_ERROR;
    // Node closes the stream with CANCEL when the connection goes: that is a close, not a reset.
    if (code === NGHTTP2_CANCEL && (this.peerEnded || this.session.destroyed)) {
      this.failClosed(null);
      return;
    }
    if (code === NGHTTP2_ENHANCE_YOUR_CALM && this.watch.headersAt !== null) {
      // nghttp2 resets the stream itself when the decoded header list passes our limits.
      this.fail(
        'header_overflow',
        `response header block over the limits (${this.limits.maxHeaders} fields, ` +
          `${this.limits.maxHeaderBytes} bytes decoded)`,
      );
      return;
    }
    if (code === NGHTTP2_NO_ERROR) {
      this.failClosed(null);
      return;
    }
    // A session error closes the stream first and is emitted after: let it speak.
    this.pendingReset = setImmediate(() => {
      this.pendingReset = null;
      this.failClosed(`stream reset (${errorName(code)})`);
    });
  };

  private readonly onGoaway = (code: number, lastStreamId: number): void => {
    this.goaway = { code, lastStreamId };
  };

  private readonly onSessionError = (error: unknown): void => {
    if (this.over) return;
    const message = error instanceof Error ? error.message : String(error);
    this.fail('protocol_error', `HTTP/2 session error: ${message}`);
  };

  private readonly onSessionClose = (): void => {
    if (!this.over) this.failClosed(null);
  };

  private failClosed(reason: string | null): void {
    const goaway = this.goaway;
    if (goaway !== null) {
      const code: ProbeErrorCode =
        goaway.code === NGHTTP2_NO_ERROR ? 'connection_closed' : 'protocol_error';
      this.fail(code, `server sent GOAWAY (${errorName(goaway.code)}) before answering`);
      return;
    }
    if (reason !== null) this.fail('protocol_error', reason);
    else this.fail('connection_closed', 'connection closed before the HTTP/2 response head');
  }

  private failNotHttp2(): void {
    const first = this.watch.firstBytes;
    const text = first.toString('latin1');
    if (text.startsWith('HTTP/')) {
      this.fail(
        'http2_not_negotiated',
        `the server answered HTTP/2 with HTTP/1.x ("${text.split('\r')[0]}")`,
      );
    } else {
      this.fail(
        'not_http',
        `the server's first bytes are not an HTTP/2 frame: ${first.toString('hex')}`,
      );
    }
  }

  private fail(code: ProbeErrorCode, message: string): void {
    if (this.over) return;
    this.over = true;
    this.owner.onHttp2Failure(code, message);
  }
}
