// A strict, bounded, incremental reader of an HTTP/1.x response head (RFC 9112):
// status line and header fields only. It is fed raw socket bytes and stops at the
// blank line that ends the final (non-1xx) head; the body is never looked at.
// Proven against Node's own parser (llhttp) by test/probe/response-head.diff.test.ts.

export interface HeadLimits {
  /** Bytes of all heads read, interim 1xx ones included. */
  readonly maxHeaderBytes: number;
  /** Header fields in the final head. */
  readonly maxHeaders: number;
  /** Interim 1xx responses tolerated before the final one. */
  readonly maxInformational: number;
}

export type HeadFailureCode = 'not_http' | 'protocol_error' | 'header_overflow';

export interface HeadFailure {
  readonly code: HeadFailureCode;
  readonly message: string;
}

export const HeadProgress = { NeedMore: 0, Complete: 1, Failed: 2 } as const;
export type HeadProgress = (typeof HeadProgress)[keyof typeof HeadProgress];

const CR = 0x0d;
const LF = 0x0a;
const SP = 0x20;
const HTAB = 0x09;
const COLON = 0x3a;
const HTTP_PREFIX = 'HTTP/';

// tchar (RFC 9110 §5.6.2) and field-vchar / obs-text plus SP and HTAB (§5.5).
const TOKEN = new Uint8Array(256);
const FIELD_VALUE = new Uint8Array(256);
for (let c = 0; c < 256; c++) {
  const isAlnum = (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
  TOKEN[c] = isAlnum || "!#$%&'*+-.^_`|~".includes(String.fromCharCode(c)) ? 1 : 0;
  FIELD_VALUE[c] = c === HTAB || c === SP || (c >= 0x21 && c !== 0x7f) ? 1 : 0;
}

// Shared empty defaults: most heads have no 1xx, and every reader starts without headers.
// Frozen, so a consumer that mutates a result cannot corrupt every other result.
const NO_HEADERS = Object.freeze([]) as unknown as Array<[string, string]>;
const NO_INFORMATIONAL = Object.freeze([]) as unknown as number[];

/** The first index at or after `pos` that holds neither CR nor LF (`limit` if none does). */
function skipLineBreaks(text: string, pos: number, limit: number): number {
  let at = pos;
  while (at < limit) {
    const code = text.charCodeAt(at);
    if (code !== CR && code !== LF) break;
    at++;
  }
  return at;
}

/** The decimal digit at `index`, or -1 (also past the end, where charCodeAt gives NaN). */
function digitAt(text: string, index: number): number {
  const code = text.charCodeAt(index);
  return code >= 0x30 && code <= 0x39 ? code - 0x30 : -1;
}

const EXPECT_STATUS_LINE = 0;
const EXPECT_FIELD_LINE = 1;
const EXPECT_NOTHING = 2;

export class ResponseHeadReader {
  httpVersion: string | null = null;
  status: number | null = null;
  statusText: string | null = null;
  headers: Array<[string, string]> = NO_HEADERS;
  /** Status codes of interim 1xx responses; a fresh array only once there is one. */
  informational: number[] = NO_INFORMATIONAL;
  failure: HeadFailure | null = null;
  /** Bytes consumed by complete head lines so far. */
  bytesRead = 0;

  private expect: number = EXPECT_STATUS_LINE;
  private carry = '';

  constructor(private readonly limits: HeadLimits) {}

  /**
   * Reads `chunk[start, end)`. The chunk may be a reused buffer: nothing keeps a
   * reference to it after the call returns.
   */
  push(chunk: Buffer, start: number, end: number): HeadProgress {
    if (this.expect === EXPECT_NOTHING) {
      return this.failure ? HeadProgress.Failed : HeadProgress.Complete;
    }
    // One latin1 decode per read (a byte is a char): names and values are then cheap
    // slices of this string instead of one native call each.
    const fresh = chunk.toString('latin1', start, end);
    let text = fresh;
    if (this.carry !== '') {
      // A trickled line only grows the carry; it is scanned once, when its LF arrives.
      if (fresh.indexOf('\n') === -1) return this.keepPartialLine(fresh, 0, fresh.length);
      text = this.carry + fresh;
      this.carry = '';
    }
    const limit = text.length;
    let pos = 0;

    while (pos < limit) {
      if (this.expect === EXPECT_STATUS_LINE) {
        // CR and LF bytes before a status line (the first, or the one after a 1xx head) are
        // skipped, a lone CR too, as llhttp's start state does before every message (the
        // differential test holds us to it); bytesRead bounds them.
        const from = pos;
        pos = skipLineBreaks(text, pos, limit);
        this.bytesRead += pos - from;
        if (this.bytesRead > this.limits.maxHeaderBytes) return this.overflowBytes();
        if (pos === limit) break;
      }
      const lf = text.indexOf('\n', pos);
      if (lf === -1) return this.keepPartialLine(text, pos, limit);
      // Same verdict whatever the split: a partial line is judged on this prefix too.
      if (this.expect === EXPECT_STATUS_LINE && !this.startsLikeHttp(text, pos, lf)) {
        return this.notHttp(text, pos, lf);
      }
      const lineLength = lf + 1 - pos;
      this.bytesRead += lineLength;
      if (this.bytesRead > this.limits.maxHeaderBytes) return this.overflowBytes();
      if (lf === pos || text.charCodeAt(lf - 1) !== CR) {
        return this.fail('protocol_error', 'bare LF in head');
      }
      const progress =
        this.expect === EXPECT_STATUS_LINE
          ? this.readStatusLine(text, pos, lf - 1)
          : this.readFieldLine(text, pos, lf - 1);
      if (progress !== HeadProgress.NeedMore) return progress;
      pos = lf + 1;
    }
    return HeadProgress.NeedMore;
  }

  /** True once any byte of a status line was seen (used to tell silence from a cut head). */
  get sawAnyByte(): boolean {
    return this.bytesRead > 0 || this.carry !== '';
  }

  /** Keeps `data[pos, limit)`, the start of a line whose end has not arrived yet. */
  private keepPartialLine(data: string, pos: number, limit: number): HeadProgress {
    const carried = this.carry.length;
    this.carry += data.slice(pos, limit);
    // Decide not_http from the first bytes, without waiting for a line end; only the
    // prefix matters, so a long carry is never rescanned.
    if (this.expect === EXPECT_STATUS_LINE && carried < HTTP_PREFIX.length) {
      const head = this.carry.slice(0, HTTP_PREFIX.length);
      if (!this.startsLikeHttp(head, 0, head.length)) return this.notHttp(head, 0, head.length);
    }
    if (this.bytesRead + this.carry.length > this.limits.maxHeaderBytes)
      return this.overflowBytes();
    return HeadProgress.NeedMore;
  }

  private startsLikeHttp(data: string, pos: number, limit: number): boolean {
    const n = Math.min(HTTP_PREFIX.length, limit - pos);
    return data.startsWith(HTTP_PREFIX.slice(0, n), pos);
  }

  // status-line = HTTP-version SP status-code SP [ reason-phrase ]
  // The SP before an empty reason is optional here, as in llhttp and every browser.
  private readStatusLine(data: string, pos: number, eol: number): HeadProgress {
    if (!this.startsLikeHttp(data, pos, eol) || eol - pos < HTTP_PREFIX.length) {
      return this.notHttp(data, pos, eol);
    }
    const v = pos + HTTP_PREFIX.length;
    const major = digitAt(data, v);
    const minor = digitAt(data, v + 2);
    if (
      eol - pos < 12 ||
      major < 0 ||
      major > 9 ||
      data.charCodeAt(v + 1) !== 0x2e ||
      minor < 0 ||
      minor > 9 ||
      data.charCodeAt(v + 3) !== SP
    ) {
      return this.fail('protocol_error', 'malformed status line');
    }
    if (major !== 1 || minor > 1) {
      return this.fail('protocol_error', `unsupported HTTP version ${major}.${minor}`);
    }
    let status = 0;
    for (let i = v + 4; i < v + 7; i++) {
      const d = digitAt(data, i);
      if (d < 0 || d > 9) return this.fail('protocol_error', 'malformed status code');
      status = status * 10 + d;
    }
    if (status < 100) return this.fail('protocol_error', `status code ${status} out of range`);
    let reasonStart = v + 7;
    if (reasonStart < eol) {
      if (data.charCodeAt(reasonStart) !== SP)
        return this.fail('protocol_error', 'malformed status code');
      reasonStart++;
    }
    for (let i = reasonStart; i < eol; i++) {
      if (FIELD_VALUE[data.charCodeAt(i)] !== 1) {
        return this.fail('protocol_error', 'invalid character in reason phrase');
      }
    }

    if (status >= 100 && status < 200 && status !== 101) {
      if (this.informational === NO_INFORMATIONAL) this.informational = [];
      this.informational.push(status);
      if (this.informational.length > this.limits.maxInformational) {
        return this.fail(
          'header_overflow',
          `more than ${this.limits.maxInformational} interim 1xx responses`,
        );
      }
    }
    this.httpVersion = major === 1 && minor === 1 ? '1.1' : '1.0';
    this.status = status;
    this.statusText = data.slice(reasonStart, eol);
    this.headers = [];
    this.expect = EXPECT_FIELD_LINE;
    return HeadProgress.NeedMore;
  }

  // field-line = field-name ":" OWS field-value OWS
  private readFieldLine(data: string, pos: number, eol: number): HeadProgress {
    if (pos === eol) return this.endOfHead();
    const first = data.charCodeAt(pos);
    // obs-fold (RFC 9112 §5.2) is refused outright, as llhttp does: it hides fields from filters.
    if (first === SP || first === HTAB) return this.fail('protocol_error', 'obs-fold line in head');

    let colon = pos;
    while (colon < eol && TOKEN[data.charCodeAt(colon)] === 1) colon++;
    if (colon === pos || colon === eol || data.charCodeAt(colon) !== COLON) {
      return this.fail('protocol_error', 'invalid header field name');
    }
    const value = this.readFieldValue(data, colon + 1, eol);
    if (value === null) return this.fail('protocol_error', 'invalid character in header value');
    if (this.headers.length >= this.limits.maxHeaders) {
      return this.fail('header_overflow', `more than ${this.limits.maxHeaders} header fields`);
    }
    this.headers.push([data.slice(pos, colon), value]);
    return HeadProgress.NeedMore;
  }

  /** The value between OWS, or null when a byte is not allowed in a field value. */
  private readFieldValue(data: string, start: number, end: number): string | null {
    let s = start;
    let e = end;
    for (let i = s; i < e; i++) {
      if (FIELD_VALUE[data.charCodeAt(i)] !== 1) return null;
    }
    while (s < e && (data.charCodeAt(s) === SP || data.charCodeAt(s) === HTAB)) s++;
    while (e > s && (data.charCodeAt(e - 1) === SP || data.charCodeAt(e - 1) === HTAB)) e--;
    return data.slice(s, e);
  }

  private endOfHead(): HeadProgress {
    const status = this.status ?? 0;
    if (status >= 100 && status < 200 && status !== 101) {
      this.expect = EXPECT_STATUS_LINE;
      return HeadProgress.NeedMore;
    }
    this.expect = EXPECT_NOTHING;
    return HeadProgress.Complete;
  }

  private overflowBytes(): HeadProgress {
    return this.fail(
      'header_overflow',
      `response head exceeds ${this.limits.maxHeaderBytes} bytes`,
    );
  }

  private notHttp(data: string, pos: number, limit: number): HeadProgress {
    // A server that speaks only HTTP/2 opens with a SETTINGS frame: 3 length bytes, type 4.
    if (limit - pos >= 4 && data.charCodeAt(pos) === 0 && data.charCodeAt(pos + 3) === 0x04) {
      return this.fail(
        'not_http',
        'the server answered with HTTP/2 frames (SETTINGS) to an HTTP/1.x request',
      );
    }
    const preview = data.slice(pos, Math.min(limit, pos + 16)).replace(/[^\x20-\x7e]/g, '.');
    return this.fail('not_http', `response does not start with an HTTP status line: "${preview}"`);
  }

  private fail(code: HeadFailureCode, message: string): HeadProgress {
    this.failure = { code, message };
    this.expect = EXPECT_NOTHING;
    this.carry = '';
    return HeadProgress.Failed;
  }
}
