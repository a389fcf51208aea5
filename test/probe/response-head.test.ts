import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { defaultProbeLimits } from '../../src/probe/limits.js';
import { HeadProgress, ResponseHeadReader } from '../../src/probe/response-head.js';

type Outcome =
  | {
      kind: 'complete';
      version: string | null;
      status: number | null;
      reason: string | null;
      headers: Array<[string, string]>;
      informational: number[];
    }
  | { kind: 'failed'; code: string }
  | { kind: 'incomplete' };

function read(bytes: Buffer, cuts: number[] = [], limits = defaultProbeLimits): Outcome {
  const reader = new ResponseHeadReader(limits);
  const points = [...new Set(cuts.filter((c) => c > 0 && c < bytes.length))].sort((a, b) => a - b);
  let start = 0;
  for (const end of [...points, bytes.length]) {
    // A reused buffer, like net's onread one: stale bytes after `end` must not matter.
    const chunk = Buffer.alloc(bytes.length + 8, 0x0a);
    bytes.copy(chunk, 0, start, end);
    const progress = reader.push(chunk, 0, end - start);
    chunk.fill(0x41);
    if (progress === HeadProgress.Complete) {
      return {
        kind: 'complete',
        version: reader.httpVersion,
        status: reader.status,
        reason: reader.statusText,
        headers: reader.headers,
        informational: reader.informational,
      };
    }
    if (progress === HeadProgress.Failed) return { kind: 'failed', code: reader.failure!.code };
    start = end;
  }
  return { kind: 'incomplete' };
}

const latin1 = (s: string) => Buffer.from(s, 'latin1');

describe('ResponseHeadReader', () => {
  it('reads status, reason and headers in wire order with case and duplicates kept', () => {
    const out = read(
      latin1(
        'HTTP/1.1 200 OK\r\nServer: x\r\nSet-Cookie: a=1\r\nset-cookie: b=2\r\nX-Empty:\r\n\r\nBODY',
      ),
    );
    expect(out).toEqual({
      kind: 'complete',
      version: '1.1',
      status: 200,
      reason: 'OK',
      headers: [
        ['Server', 'x'],
        ['Set-Cookie', 'a=1'],
        ['set-cookie', 'b=2'],
        ['X-Empty', ''],
      ],
      informational: [],
    });
  });

  it.each([
    ['no reason phrase', 'HTTP/1.1 204\r\n\r\n', 204, ''],
    ['empty reason after SP', 'HTTP/1.1 204 \r\n\r\n', 204, ''],
    ['HTTP/1.0', 'HTTP/1.0 302 Found\r\nLocation: /x\r\n\r\n', 302, 'Found'],
    ['obs-text in reason', 'HTTP/1.1 200 D\xe9j\xe0\r\n\r\n', 200, 'D\xe9j\xe0'],
    ['leading empty lines', '\r\n\r\nHTTP/1.1 200 OK\r\n\r\n', 200, 'OK'],
    // llhttp skips a bare-LF empty line there too (the differential test found it).
    ['a leading bare LF', '\n\r\nHTTP/1.1 200 OK\r\n\r\n', 200, 'OK'],
    // And a lone CR (found the same way): llhttp's start state skips CR and LF bytes alike.
    ['a leading lone CR', '\rHTTP/1.1 200 OK\r\n\r\n', 200, 'OK'],
    ['leading CRs and LFs mixed', '\r\r\n\n\rHTTP/1.1 200 OK\r\n\r\n', 200, 'OK'],
    // llhttp skips them before every message, so after a 1xx head too.
    [
      'an empty line after a 1xx head',
      'HTTP/1.1 100 Continue\r\n\r\n\r\nHTTP/1.1 200 OK\r\n\r\n',
      200,
      'OK',
    ],
    [
      'a lone CR after a 1xx head',
      'HTTP/1.1 100 Continue\r\n\r\n\rHTTP/1.1 200 OK\r\n\r\n',
      200,
      'OK',
    ],
    ['status 999', 'HTTP/1.1 999 Odd\r\n\r\n', 999, 'Odd'],
  ])('accepts %s', (_name, head, status, reason) => {
    const out = read(latin1(head));
    expect(out).toMatchObject({ kind: 'complete', status, reason });
  });

  it('trims optional whitespace around values but keeps inner tabs', () => {
    const out = read(latin1('HTTP/1.1 200 OK\r\nA:\t b\tc \t\r\nB:c\r\n\r\n'));
    expect(out).toMatchObject({
      headers: [
        ['A', 'b\tc'],
        ['B', 'c'],
      ],
    });
  });

  it('skips interim 1xx responses and records their codes', () => {
    const out = read(
      latin1(
        'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\nA: 1\r\n\r\n',
      ),
    );
    expect(out).toMatchObject({
      kind: 'complete',
      status: 200,
      headers: [['A', '1']],
      informational: [100, 103],
    });
  });

  it('treats 101 as the final response', () => {
    expect(read(latin1('HTTP/1.1 101 Switching\r\nUpgrade: h2c\r\n\r\n'))).toMatchObject({
      status: 101,
    });
  });

  it.each([
    ['an SSH banner', 'SSH-2.0-OpenSSH_9.2p1 Debian\r\n'],
    ['an SMTP greeting', '220 mail.example ESMTP\r\n'],
    ['an HTTP/2 SETTINGS frame', '\x00\x00\x12\x04\x00\x00\x00\x00\x00'],
    ['HTTP/0.9 (a body, no status line)', '<html><body>hi</body></html>'],
    ['lowercase http', 'http/1.1 200 OK\r\n\r\n'],
  ])('says not_http for %s, from the first bytes', (_name, bytes) => {
    // Only the first 3 bytes are enough to decide: no waiting for a line end.
    expect(read(latin1(bytes.slice(0, 3)))).toEqual({ kind: 'failed', code: 'not_http' });
    expect(read(latin1(bytes))).toEqual({ kind: 'failed', code: 'not_http' });
  });

  it.each([
    ['bare LF line ends', 'HTTP/1.1 200 OK\nA: b\n\n'],
    ['bare LF ending the head', 'HTTP/1.1 200 OK\r\nA: b\r\n\n'],
    // RFC 9112 §2.2: a bare CR is invalid (llhttp once took this for a whole head).
    ['a bare CR ending the status line', 'HTTP/1.1 200 OK\r\r\r\nbody'],
    ['bare CR inside a value', 'HTTP/1.1 200 OK\r\nA: b\rc\r\n\r\n'],
    ['obs-fold', 'HTTP/1.1 200 OK\r\nA: b\r\n  c\r\n\r\n'],
    ['space before colon', 'HTTP/1.1 200 OK\r\nA : b\r\n\r\n'],
    ['empty field name', 'HTTP/1.1 200 OK\r\n: b\r\n\r\n'],
    ['no colon', 'HTTP/1.1 200 OK\r\nAbc\r\n\r\n'],
    ['NUL in a value', 'HTTP/1.1 200 OK\r\nA: b\x00c\r\n\r\n'],
    ['DEL in a value', 'HTTP/1.1 200 OK\r\nA: b\x7fc\r\n\r\n'],
    ['non-token name', 'HTTP/1.1 200 OK\r\nA@b: c\r\n\r\n'],
    ['two-digit status', 'HTTP/1.1 20 OK\r\n\r\n'],
    ['four-digit status', 'HTTP/1.1 2000 OK\r\n\r\n'],
    ['status below 100', 'HTTP/1.1 099 X\r\n\r\n'],
    ['double space before status', 'HTTP/1.1  200 OK\r\n\r\n'],
    ['tab after version', 'HTTP/1.1\t200 OK\r\n\r\n'],
    ['letters in version', 'HTTP/1.x 200 OK\r\n\r\n'],
    ['HTTP/2.0 status line', 'HTTP/2.0 200 OK\r\n\r\n'],
    ['HTTP/1.2 status line', 'HTTP/1.2 200 OK\r\n\r\n'],
    ['control byte in reason', 'HTTP/1.1 200 O\x01K\r\n\r\n'],
    ['truncated status line', 'HTTP/1.1\r\n\r\n'],
  ])('says protocol_error for %s', (_name, head) => {
    expect(read(latin1(head))).toEqual({ kind: 'failed', code: 'protocol_error' });
  });

  it('bounds the head in bytes, even for one endless line', () => {
    const limits = { ...defaultProbeLimits, maxHeaderBytes: 1024 };
    const long = latin1(`HTTP/1.1 200 OK\r\nX: ${'a'.repeat(2000)}`);
    expect(read(long, [100, 600, 1500], limits)).toEqual({
      kind: 'failed',
      code: 'header_overflow',
    });
    const exact = latin1(`HTTP/1.1 200 OK\r\nX: ${'a'.repeat(1024 - 17 - 7)}\r\n\r\n`);
    expect(exact.length).toBe(1024);
    expect(read(exact, [], limits)).toMatchObject({ kind: 'complete' });
    expect(
      read(Buffer.concat([exact.subarray(0, 20), latin1('b'), exact.subarray(20)]), [], limits),
    ).toEqual({
      kind: 'failed',
      code: 'header_overflow',
    });
  });

  it('bounds the number of header fields and of interim responses', () => {
    const limits = { ...defaultProbeLimits, maxHeaders: 3, maxInformational: 2 };
    expect(
      read(latin1('HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n'), [], limits),
    ).toMatchObject({ kind: 'complete' });
    expect(
      read(latin1('HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n'), [], limits),
    ).toEqual({
      kind: 'failed',
      code: 'header_overflow',
    });
    const interim = 'HTTP/1.1 102 Processing\r\n\r\n';
    expect(read(latin1(`${interim.repeat(2)}HTTP/1.1 200 OK\r\n\r\n`), [], limits)).toMatchObject({
      kind: 'complete',
    });
    expect(read(latin1(interim.repeat(3)), [], limits)).toEqual({
      kind: 'failed',
      code: 'header_overflow',
    });
  });

  it('reads a head trickled one byte per read, in linear time', () => {
    const value = 'v'.repeat(60_000);
    const bytes = latin1(`HTTP/1.1 200 OK\r\nX-Long: ${value}\r\n\r\n`);
    const reader = new ResponseHeadReader({ ...defaultProbeLimits, maxHeaderBytes: 100_000 });
    let progress: number = HeadProgress.NeedMore;
    for (let i = 0; i < bytes.length && progress === HeadProgress.NeedMore; i++) {
      progress = reader.push(bytes, i, i + 1);
    }
    expect(progress).toBe(HeadProgress.Complete);
    expect(reader.headers).toEqual([['X-Long', value]]);
  });

  it('waits for more on an incomplete head', () => {
    expect(read(latin1('HTTP/1.1 200 OK\r\nA: b\r\n'))).toEqual({ kind: 'incomplete' });
    expect(read(latin1('HTT'))).toEqual({ kind: 'incomplete' });
    expect(read(latin1('\r'))).toEqual({ kind: 'incomplete' });
  });

  it('gives the same outcome however the bytes are split', () => {
    const heads = [
      'HTTP/1.1 200 OK\r\nServer: x\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n\r\nbody',
      'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.0 404 Not Found\r\nA:\tb \r\n\r\n',
      'HTTP/1.1 200 OK\r\nA: b\r\n  folded\r\n\r\n',
      'SSH-2.0-x\r\n',
      'HTTP/1.1 200 OK\nA: b\n\n',
    ];
    const anyHead = fc.oneof(
      fc.constantFrom(...heads).map(latin1),
      fc
        .tuple(
          fc.constantFrom('', 'H', 'HTTP/1.1 200 OK\r\n', 'HTTP/1.1 100 C\r\n\r\n', '\r\n'),
          fc.uint8Array({ maxLength: 40 }).map((b) => Buffer.from(b)),
        )
        .map(([prefix, tail]) => Buffer.concat([latin1(prefix), tail])),
    );
    fc.assert(
      fc.property(anyHead, fc.array(fc.nat({ max: 80 }), { maxLength: 12 }), (bytes, cuts) => {
        expect(read(bytes, cuts)).toEqual(read(bytes));
      }),
      { numRuns: 2000 },
    );
  });
});
