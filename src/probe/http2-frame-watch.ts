// Watches what a server sends on an HTTP/2 connection frame by frame (RFC 9113 §4.1) without
// decoding it: when the first HEADERS frame of our stream began (curl's starttransfer), and
// whether the peer speaks HTTP/2 at all. node:http2 decodes the same bytes after us, but it
// cannot tell when the first byte of a frame arrived.

const FRAME_HEADER_BYTES = 9;
const TYPE_HEADERS = 0x1;
const TYPE_SETTINGS = 0x4;
/** The one stream a probe opens: the client's first stream is 1. */
const PROBE_STREAM_ID = 1;

export const PeerProtocol = { Unknown: 0, Http2: 1, NotHttp2: 2 } as const;
export type PeerProtocol = (typeof PeerProtocol)[keyof typeof PeerProtocol];

export class Http2FrameWatch {
  /** performance.now() of the chunk that held the first byte of our first HEADERS frame. */
  headersAt: number | null = null;
  /** A server's first frame must be SETTINGS (RFC 9113 §3.4); anything else is not HTTP/2. */
  peer: PeerProtocol = PeerProtocol.Unknown;
  /** The first bytes received, for the message when the peer is not HTTP/2. */
  firstBytes: Buffer | null = null;

  private readonly header = Buffer.alloc(FRAME_HEADER_BYTES);
  private headerFill = 0;
  private frameStartAt = 0;
  private payloadLeft = 0;

  /** Reads one chunk that arrived at `at`. Stops looking once the HEADERS frame is found. */
  scan(chunk: Buffer, at: number): void {
    if (this.headersAt !== null || this.peer === PeerProtocol.NotHttp2) return;
    this.firstBytes ??= Buffer.from(chunk.subarray(0, 64));
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
    this.payloadLeft = length;
    return false;
  }
}
