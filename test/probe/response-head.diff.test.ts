// Differential test: our response-head reader against Node's own parser (llhttp, via
// node:http) on the same bytes, served from a loopback socket. They must agree on
// accept/reject and, when both accept, on version, status, reason and raw headers.
// The only disagreements allowed are the documented, deliberate ones listed below.
import { once } from 'node:events';
import * as http from 'node:http';
import * as net from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultProbeLimits } from '../../src/probe/limits.js';
import { HeadProgress, ResponseHeadReader } from '../../src/probe/response-head.js';

type Parsed =
  | { accepted: true; version: string; status: number; reason: string; headers: string[] }
  | { accepted: false; detail: string };

// Node's limit is 16 KiB; stay under it so both parsers judge syntax, not size.
const limits = { ...defaultProbeLimits, maxHeaderBytes: 15 * 1024, maxHeaders: 1000 };

function parseWithReader(bytes: Buffer, cuts: number[]): Parsed {
  const reader = new ResponseHeadReader(limits);
  let start = 0;
  const points = [...new Set(cuts.filter((c) => c > 0 && c < bytes.length))].sort((a, b) => a - b);
  for (const end of [...points, bytes.length]) {
    const progress = reader.push(bytes, start, end);
    if (progress === HeadProgress.Complete) {
      return {
        accepted: true,
        version: reader.httpVersion!,
        status: reader.status!,
        reason: reader.statusText!,
        headers: reader.headers.flat(),
      };
    }
    if (progress === HeadProgress.Failed) return { accepted: false, detail: reader.failure!.code };
    start = end;
  }
  return { accepted: false, detail: 'incomplete' };
}

let server: net.Server;
let port = 0;
const pending: Buffer[] = [];

beforeAll(async () => {
  server = net.createServer((socket) => {
    const bytes = pending.shift() ?? Buffer.alloc(0);
    socket.on('error', () => {});
    socket.once('data', () => socket.end(bytes));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  port = (server.address() as net.AddressInfo).port;
});

afterAll(async () => {
  server.close();
  await once(server, 'close');
});

function parseWithNode(bytes: Buffer): Promise<Parsed> {
  pending.push(bytes);
  return new Promise((resolve) => {
    const request = http.get({ host: '127.0.0.1', port, agent: false }, (response) => {
      resolve({
        accepted: true,
        version: response.httpVersion,
        status: response.statusCode ?? -1,
        reason: response.statusMessage ?? '',
        headers: response.rawHeaders,
      });
      response.destroy();
    });
    request.on('upgrade', (_res, socket) => {
      socket.destroy();
      resolve({ accepted: false, detail: 'upgrade' });
    });
    request.on('error', (error: NodeJS.ErrnoException) =>
      resolve({ accepted: false, detail: error.code ?? error.message }),
    );
  });
}

/** Node rejects on body framing, which a head-only reader deliberately does not judge. */
const FRAMING_ERRORS = new Set([
  'HPE_INVALID_CONTENT_LENGTH',
  'HPE_UNEXPECTED_CONTENT_LENGTH',
  'HPE_INVALID_TRANSFER_ENCODING',
]);

/**
 * A status line that a bare CR ends: llhttp took `HTTP/1.1 200 OK\r\r\r\nbody` for a whole head
 * in one of CI's runs (a counterexample fast-check found; not every run of llhttp on those
 * bytes accepts them, so no fixed case asserts llhttp's verdict), while RFC 9112 §2.2 has a
 * recipient treat a bare CR as invalid or as SP, either of which leaves no head here.
 */
const STATUS_LINE_ENDED_BY_BARE_CR = /^[\r\n]*HTTP\/[^\r\n]*\r(?!\n)/;

/** Why llhttp may accept what we refuse: stricter on purpose (see response-head.ts). */
function deliberatelyStricter(node: Parsed & { accepted: true }, bytes: Buffer): boolean {
  return (
    node.version === '0.9' || // no status line existed in HTTP/0.9
    node.version === '2.0' || // not an HTTP/1.x exchange
    node.status < 100 || // RFC 9110 §15: status codes are 100..599 (we allow ..999)
    /[\x00-\x08\x0a-\x1f\x7f]/.test(node.reason) || // RFC 9112 §4: reason-phrase has no CTLs
    STATUS_LINE_ENDED_BY_BARE_CR.test(bytes.toString('latin1'))
  );
}

async function assertAgreement(bytes: Buffer, cuts: number[]): Promise<void> {
  const ours = parseWithReader(bytes, cuts);
  const node = await parseWithNode(bytes);
  if (node.accepted && node.status === 101) return; // Node hands 101 to 'upgrade' handling
  if (ours.accepted && node.accepted) {
    expect(ours).toEqual(node);
  } else if (ours.accepted && !node.accepted) {
    expect(
      FRAMING_ERRORS.has(node.detail),
      `llhttp rejected (${node.detail}) what we accepted`,
    ).toBe(true);
  } else if (!ours.accepted && node.accepted) {
    expect(
      deliberatelyStricter(node, bytes),
      `we rejected (${ours.detail}) what llhttp accepted`,
    ).toBe(true);
  }
}

const token = fc.stringMatching(/^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,12}$/);
const oddByte = fc.constantFrom(
  ' ',
  '\t',
  '\x00',
  '\x01',
  '\x7f',
  '\xe9',
  '\r',
  '\n',
  ':',
  '@',
  '"',
);
const valueText = fc
  .array(
    fc.oneof(
      { weight: 30, arbitrary: fc.stringMatching(/^[ -~]{0,8}$/) },
      { weight: 1, arbitrary: oddByte },
    ),
    {
      maxLength: 6,
    },
  )
  .map((parts) => parts.join(''));
const fieldName = fc.oneof(
  { weight: 40, arbitrary: token },
  { weight: 1, arbitrary: fc.tuple(token, oddByte, token).map(([a, b, c]) => a + b + c) },
  { weight: 1, arbitrary: fc.constantFrom('Content-Length', 'Transfer-Encoding', 'Set-Cookie') },
);
const separator = fc.constantFrom(': ', ':', ':\t', ' : ', ':  ');
const lineEnd = fc.oneof(
  { weight: 60, arbitrary: fc.constant('\r\n') },
  { weight: 1, arbitrary: fc.constantFrom('\n', '\r', '\r\r\n') },
);
const statusLine = fc
  .tuple(
    fc.oneof(
      { weight: 12, arbitrary: fc.constantFrom('1.1', '1.0') },
      { weight: 1, arbitrary: fc.constantFrom('0.9', '2.0', '1.2', '1.x', '11') },
    ),
    fc.oneof(
      { weight: 15, arbitrary: fc.integer({ min: 100, max: 599 }).map(String) },
      {
        weight: 1,
        arbitrary: fc.constantFrom('000', '099', '999', '20', '2000', ' 200', 'abc'),
      },
    ),
    fc.oneof(
      fc.constant(' OK'),
      fc.constant(''),
      fc.constant(' '),
      valueText.map((r) => ` ${r}`),
    ),
  )
  .map(([version, status, reason]) => `HTTP/${version} ${status}${reason}`);
const structuredHead = fc
  .tuple(
    fc.constantFrom(
      '',
      '',
      '',
      '\r\n',
      'HTTP/1.1 100 Continue\r\n\r\n',
      'HTTP/1.1 103 Early\r\nLink: </a>\r\n\r\n',
    ),
    statusLine,
    lineEnd,
    fc.array(fc.tuple(fieldName, separator, valueText, lineEnd), { maxLength: 12 }),
    fc.oneof(
      { weight: 8, arbitrary: fc.constant('') },
      { weight: 1, arbitrary: fc.constantFrom(' folded\r\n', '\tfolded\r\n') },
    ),
    lineEnd,
  )
  .map(([prefix, status, end, fields, fold, last]) => {
    const lines = fields.map(([n, s, v, e]) => `${n}${s}${v}${e}`).join('');
    return Buffer.from(`${prefix}${status}${end}${lines}${fold}${last}body`, 'latin1');
  });

const realistic = Buffer.from(
  'HTTP/1.1 200 OK\r\nServer: nginx\r\nDate: Tue, 24 Nov 2026 20:00:00 GMT\r\nContent-Type: text/html\r\n' +
    'Set-Cookie: a=1; Path=/\r\nSet-Cookie: b=2\r\nX-Frame-Options: DENY\r\nVary: Accept-Encoding\r\n\r\nhello',
  'latin1',
);
const mutatedHead = fc
  .array(
    fc.tuple(
      fc.constantFrom('replace', 'insert', 'delete'),
      fc.nat({ max: realistic.length - 1 }),
      fc.integer({ min: 0, max: 255 }),
    ),
    { minLength: 1, maxLength: 3 },
  )
  .map((edits) => {
    let bytes = Buffer.from(realistic);
    for (const [kind, at, byte] of edits) {
      const i = Math.min(at, bytes.length - 1);
      if (kind === 'replace') bytes[i] = byte;
      else if (kind === 'insert')
        bytes = Buffer.concat([bytes.subarray(0, i), Buffer.from([byte]), bytes.subarray(i)]);
      else bytes = Buffer.concat([bytes.subarray(0, i), bytes.subarray(i + 1)]);
    }
    return bytes;
  });
const randomBytes = fc
  .tuple(fc.constantFrom('', 'HTTP/1.1 ', 'HTTP/1.1 200 OK\r\n'), fc.uint8Array({ maxLength: 64 }))
  .map(([prefix, tail]) => Buffer.concat([Buffer.from(prefix, 'latin1'), tail]));
const cuts = fc.array(fc.nat({ max: 300 }), { maxLength: 6 });

describe('response head reader vs llhttp (node:http)', () => {
  it('agrees on structured heads, valid and broken', async () => {
    await fc.assert(fc.asyncProperty(structuredHead, cuts, assertAgreement), { numRuns: 600 });
  });

  it('agrees on mutated realistic heads', async () => {
    await fc.assert(fc.asyncProperty(mutatedHead, cuts, assertAgreement), { numRuns: 400 });
  });

  it('agrees on random bytes', async () => {
    await fc.assert(fc.asyncProperty(randomBytes, cuts, assertAgreement), { numRuns: 300 });
  });

  it('agrees on a head after a bare-LF empty line (a counterexample fast-check found)', async () => {
    const head = Buffer.from(
      '\nHTTP/1.1 200 OK\r\nServer: nginx\r\nVary: A\r\n\r\nhello',
      'latin1',
    );
    await assertAgreement(head, []);
    await assertAgreement(head, [1, 5]);
  });

  it.each([
    ['an empty line', '\r\n'],
    ['a lone CR', '\r'],
  ])('agrees on a final head after a 1xx head and %s', async (_name, between) => {
    const head = Buffer.from(
      `HTTP/1.1 100 Continue\r\n\r\n${between}HTTP/1.1 200 OK\r\nServer: nginx\r\n\r\nhello`,
      'latin1',
    );
    await assertAgreement(head, []);
    await assertAgreement(head, [26, 27]);
  });

  it('agrees on a head after a lone CR (a counterexample fast-check found)', async () => {
    const head = Buffer.from('\rHTTP/1.1 200 OK\r\nServer: nginx\r\n\r\nhello', 'latin1');
    await assertAgreement(head, []);
    // Cut after the CR, and inside the status line: the same verdict whatever the split.
    await assertAgreement(head, [1, 4]);
  });

  it.each([
    ['HTTP/2.0 status line', 'HTTP/2.0 200 OK\r\n\r\n'],
    ['HTTP/0.9 status line', 'HTTP/0.9 200 OK\r\n\r\n'],
    ['status below 100', 'HTTP/1.1 099 Low\r\n\r\n'],
    ['control byte in reason', 'HTTP/1.1 200 O\x01K\r\n\r\n'],
  ])('is deliberately stricter than llhttp on %s', async (_name, head) => {
    const bytes = Buffer.from(head, 'latin1');
    expect(parseWithReader(bytes, [])).toMatchObject({ accepted: false, detail: 'protocol_error' });
    expect(await parseWithNode(bytes)).toMatchObject({ accepted: true });
  });
});
