// Loopback target of both benchmarks: answers every connection with one canned
// HTTP/1.1 200 (17 headers, 211-byte body, same as the shared peer harness's targets) and closes.
// Plain node:net, so the target costs far less per connection than the clients under test.
//   node dist-bench/bench/shared/target-server.js [--port P] [--delay-ms D] [--max-seconds S]
//                                                 [--watch-stdin] [--holds FILE]
// Prints `ready PORT` once listening on 0.0.0.0 (every 127.A.B.C reaches it); exits by itself
// after --max-seconds, on SIGTERM/SIGINT, and with --watch-stdin when stdin closes.
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import * as net from 'node:net';
import { parseArgs } from 'node:util';

const maxHeadBytes = 16 * 1024;
const idleSocketMs = 30_000;
const headEnd = Buffer.from('\r\n\r\n');
const headMethod = Buffer.from('HEAD ');

const body =
  '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>peer bench</title></head>' +
  '<body><h1>It works</h1><p>Static body for the header-probing peer benchmark; about two hundred bytes.</p></body></html>\n';

// Everything but Date and X-Request-Id is fixed, so it is joined once.
const headersAfterDate =
  'Content-Type: text/html; charset=utf-8\r\n' +
  `Content-Length: ${Buffer.byteLength(body)}\r\n` +
  'Connection: close\r\n' +
  'Cache-Control: private, no-cache, no-store, max-age=0, must-revalidate\r\n' +
  'Set-Cookie: sessionid=8f14e45fceea167a5a36dedd4bea2543; Path=/; HttpOnly; Secure; SameSite=Lax\r\n' +
  'Set-Cookie: csrftoken=c9f0f895fb98ab9159f51fd0297e236d; Path=/; Max-Age=31449600; SameSite=Lax\r\n' +
  'X-Frame-Options: SAMEORIGIN\r\n' +
  'X-Content-Type-Options: nosniff\r\n' +
  'Strict-Transport-Security: max-age=31536000; includeSubDomains\r\n' +
  'Referrer-Policy: strict-origin-when-cross-origin\r\n' +
  "Content-Security-Policy: default-src 'self'; img-src 'self' data:\r\n" +
  'Vary: Accept-Encoding, Cookie\r\n' +
  'Expires: Thu, 01 Jan 1970 00:00:01 GMT\r\n';

// A per-process random prefix plus a counter: unique ids without a CSPRNG call per request.
const requestIdPrefix = randomBytes(8).toString('hex');
let requestCount = 0;

let dateSecond = -1;
let dateLine = '';
function currentDateLine(): string {
  const now = Date.now();
  const second = Math.floor(now / 1000);
  if (second !== dateSecond) {
    dateSecond = second;
    dateLine = `Date: ${new Date(now).toUTCString()}\r\n`;
  }
  return dateLine;
}

function cannedResponse(withBody: boolean): string {
  requestCount += 1;
  const requestId = requestIdPrefix + requestCount.toString(16).padStart(16, '0');
  return (
    `HTTP/1.1 200 OK\r\nServer: headprobe-bench\r\n${currentDateLine()}${headersAfterDate}` +
    `X-Request-Id: ${requestId}\r\nContent-Language: en\r\n\r\n${withBody ? body : ''}`
  );
}

// libuv timers run on a cached millisecond clock and may fire up to ~1 ms early; the
// accuracy section measures clients against this delay, so it must never be short.
// With --holds FILE, how late each delayed answer went out (ms past its due time) is written
// to FILE at exit: the target's own share of a client's wait error.
const lateMs: number[] = [];

function answerAfter(due: number, answer: () => void): void {
  const left = due - performance.now();
  if (left <= 0) answer();
  else if (left >= 1) setTimeout(() => answerAfter(due, answer), left);
  else setImmediate(() => answerAfter(due, answer));
}

function handleConnection(socket: net.Socket, delayMs: number): void {
  let head: Buffer = Buffer.alloc(0);
  let answered = false;
  socket.setTimeout(idleSocketMs, () => socket.destroy());
  socket.on('error', () => socket.destroy());
  socket.on('data', (chunk: Buffer) => {
    if (answered) return;
    head = head.length === 0 ? chunk : Buffer.concat([head, chunk]);
    if (head.indexOf(headEnd) < 0) {
      if (head.length > maxHeadBytes) socket.destroy();
      return;
    }
    answered = true;
    const withBody = !head.subarray(0, 5).equals(headMethod);
    if (delayMs > 0) {
      const due = performance.now() + delayMs;
      answerAfter(due, () => {
        if (socket.destroyed) return;
        socket.end(cannedResponse(withBody), 'latin1');
        lateMs.push(performance.now() - due);
      });
    } else if (!socket.destroyed) {
      socket.end(cannedResponse(withBody), 'latin1');
    }
  });
}

interface TargetOptions {
  port: number;
  delayMs: number;
  maxSeconds: number;
  watchStdin: boolean;
  holdsFile: string | undefined;
}

function parseOptions(argv: string[]): TargetOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: 'string', default: process.env.TARGET_PORT ?? '0' },
      'delay-ms': { type: 'string', default: '0' },
      'max-seconds': { type: 'string', default: '1800' },
      'watch-stdin': { type: 'boolean', default: false },
      holds: { type: 'string' },
    },
  });
  const port = Number(values.port);
  const delayMs = Number(values['delay-ms']);
  const maxSeconds = Number(values['max-seconds']);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error('--port: 0..65535');
  if (!Number.isFinite(delayMs) || delayMs < 0) throw new Error('--delay-ms: a number >= 0');
  if (!Number.isFinite(maxSeconds) || maxSeconds <= 0) throw new Error('--max-seconds: > 0');
  return { port, delayMs, maxSeconds, watchStdin: values['watch-stdin'], holdsFile: values.holds };
}

function main(): void {
  const { port, delayMs, maxSeconds, watchStdin, holdsFile } = parseOptions(process.argv.slice(2));
  const server = net.createServer({ noDelay: true }, (socket) => handleConnection(socket, delayMs));
  const stop = (code: number) => {
    server.close();
    if (holdsFile !== undefined) writeFileSync(holdsFile, lateMs.map((ms) => `${ms}\n`).join(''));
    process.exit(code);
  };
  server.on('error', (err) => {
    process.stderr.write(`target-server: ${err.message}\n`);
    stop(1);
  });
  server.listen({ host: '0.0.0.0', port, backlog: 4096 }, () => {
    const address = server.address();
    const bound = typeof address === 'object' && address !== null ? address.port : port;
    process.stdout.write(`ready ${bound}\n`);
  });
  setTimeout(() => stop(0), maxSeconds * 1000).unref();
  process.on('SIGTERM', () => stop(0));
  process.on('SIGINT', () => stop(0));
  if (watchStdin) {
    // The bench holds our stdin open; EOF means it is gone even if it was SIGKILLed.
    process.stdin.on('end', () => stop(0));
    process.stdin.on('error', () => stop(0));
    process.stdin.resume();
  }
}

main();
