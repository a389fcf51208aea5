// Watches what a server sends on an HTTP/2 connection frame by frame (RFC 9113 §4.1) without
// decoding it: when the first HEADERS frame of our stream began (curl's starttransfer),
// whether the peer speaks HTTP/2 at all, and whether it floods us with control frames first.
// node:http2 decodes the same bytes after us, but it cannot tell when the first byte of a
// frame arrived, and its flood guard never trips on a socket that JavaScript feeds.

const FRAME_HEADER_BYTES = 9;
const TYPE_HEADERS = 0x1;
const TYPE_SETTINGS = 0x4;
const TYPE_PING = 0x6;
const TYPE_WINDOW_UPDATE = 0x8;
/** What the peer's first bytes are kept for: a status line to quote, a frame header to read. */
const FIRST_BYTES = 64;
/**
 * SETTINGS, PING and WINDOW_UPDATE frames a server may send before our response head. A real
 * one sends two or three; each asks for an answer (an ACK), so a stream of them is a flood.
 */
export const MAX_CONTROL_FRAMES = 100;
/** The one stream a probe opens: the client's first stream is 1. */
const PROBE_STREAM_ID = 1;

export const PeerProtocol = { Unknown: 0, Http2: 1, NotHttp2: 2 } as const;
export type PeerProtocol = (typeof PeerProtocol)[keyof typeof PeerProtocol];

export class Http2FrameWatch {
  /** performance.now() of the chunk that held the first byte of our first HEADERS frame. */
  headersAt: number | null = null;
  /** A server's first frame must be SETTINGS (RFC 9113 §3.4); anything else is not HTTP/2. */
  peer: PeerProtocol = PeerProtocol.Unknown;
  /** The first bytes received (up to 64), for the message when the peer is not HTTP/2. */
  firstBytes: Buffer = Buffer.alloc(0);
  /** SETTINGS, PING and WINDOW_UPDATE frames seen so far (see MAX_CONTROL_FRAMES). */
  controlFrames = 0;

  private readonly header = Buffer.alloc(FRAME_HEADER_BYTES);
  private headerFill = 0;
  private frameStartAt = 0;
  private payloadLeft = 0;

  /** Reads one chunk that arrived at `at`. Stops looking once the HEADERS frame is found. */
  scan(chunk: Buffer, at: number): void {
    if (this.headersAt !== null || this.peer === PeerProtocol.NotHttp2) return;
    if (this.firstBytes.length < FIRST_BYTES) {
      const more = chunk.subarray(0, FIRST_BYTES - this.firstBytes.length);
      this.firstBytes = Buffer.concat([this.firstBytes, more]);
    }
    let offset = 0;
    while (offset < chunk.length) {
      if (this.payloadLeft > 0) {
        const skipped = Math.min(this.payloadLeft, chunk.length - offset);
        this.payloadLeft -= skipped;
        offset += skipped;
        continue;
      }
      if (this.headerFill === 0) this.frameStartAt = at;
      const copied = chunk.copy(this.header, this.headerFill, offset, offset + FRAME_HEADER_BYTES);
      this.headerFill += copied;
      offset += copied;
      if (this.headerFill < FRAME_HEADER_BYTES) return;
      this.headerFill = 0;
      if (this.onFrameHeader()) return;
    }
  }

  /** True when there is nothing more to look for. */
  private onFrameHeader(): boolean {
    const length = this.header.readUIntBE(0, 3);
    const type = this.header[3];
    const streamId = this.header.readUInt32BE(5) & 0x7fffffff;
    if (this.peer === PeerProtocol.Unknown) {
      this.peer =
        type === TYPE_SETTINGS && streamId === 0 ? PeerProtocol.Http2 : PeerProtocol.NotHttp2;
      if (this.peer === PeerProtocol.NotHttp2) return true;
    }
    if (type === TYPE_HEADERS && streamId === PROBE_STREAM_ID) {
      this.headersAt = this.frameStartAt;
      return true;
    }
    if (type === TYPE_SETTINGS || type === TYPE_PING || type === TYPE_WINDOW_UPDATE) {
      this.controlFrames += 1;
      if (this.controlFrames > MAX_CONTROL_FRAMES) return true;
    }
    this.payloadLeft = length;
    return false;
  }
}

const TYPE_GOAWAY = 0x7;
const CLIENT_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

/**
 * The error code of a GOAWAY among the frames of one write of ours, or null. node:http2 writes
 * whole frames, each write starting at a frame boundary; nghttp2 answers a broken peer (a
 * frame too large, DATA past the window, a bad header block) with a GOAWAY of its own and then
 * waits, telling JavaScript nothing: this is how the probe hears of it.
 */
export function goawayErrorIn(chunk: Buffer): number | null {
  // The connection's first write opens with the client preface, which is not a frame.
  let offset = chunk.subarray(0, CLIENT_PREFACE.length).equals(CLIENT_PREFACE)
    ? CLIENT_PREFACE.length
    : 0;
  while (offset + FRAME_HEADER_BYTES <= chunk.length) {
    const length = chunk.readUIntBE(offset, 3);
    const type = chunk[offset + 3];
    const payload = offset + FRAME_HEADER_BYTES;
    if (type === TYPE_GOAWAY && payload + 8 <= chunk.length) return chunk.readUInt32BE(payload + 4);
    offset = payload + length;
  }
  return null;
}
