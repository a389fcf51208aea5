// Loopback TLS target of the HTTP/2 bench: node:http2 with allowHTTP1, so one listener
// answers h2 streams and HTTP/1.1 requests (ALPN picks which) with the same bodiless 200 and
// about ten headers of a real site. It counts what it served, so the bench can check that
// each client spoke the version it claims.
//   node dist-bench/bench/shared/h2-target-server.js --cert FILE --key FILE [--port P]
//                                                    [--max-seconds S] [--watch-stdin]
// Prints `ready PORT` once listening on 0.0.0.0 (every 127.A.B.C reaches it). Each stdin line
// `counts` is answered with `counts {json}` on stdout. Exits by itself after --max-seconds, on
// SIGTERM/SIGINT, and with --watch-stdin when stdin closes.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as http2 from 'node:http2';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';

/** What the target has served since it started (h2-target-process.ts diffs two per run). */
interface H2TargetCounts {
  /** TLS connections that finished their handshake. */
  tlsConnections: number;
  /** TLS handshakes that failed (tlsClientError). */
  tlsErrors: number;
  h2Sessions: number;
  h2Requests: number;
  h1Requests: number;
}

const counts: H2TargetCounts = {
  tlsConnections: 0,
  tlsErrors: 0,
  h2Sessions: 0,
  h2Requests: 0,
  h1Requests: 0,
};

// A per-process random prefix plus a counter: unique ids without a CSPRNG call per request.
const requestIdPrefix = randomBytes(8).toString('hex');
let requestCount = 0;

let dateSecond = -1;
let dateValue = '';
function currentDate(): string {
  const now = Date.now();
  const second = Math.floor(now / 1000);
  if (second !== dateSecond) {
    dateSecond = second;
    dateValue = new Date(now).toUTCString();
  }
  return dateValue;
}

// Lower-case names: HTTP/2 requires them, and node:http writes them as given on HTTP/1.1.
const fixedHeaders: Record<string, string> = {
  server: 'headprobe-bench',
  'content-type': 'text/html; charset=utf-8',
  'content-length': '0',
  'cache-control': 'private, no-cache, no-store, max-age=0, must-revalidate',
  'set-cookie':
    'sessionid=8f14e45fceea167a5a36dedd4bea2543; Path=/; HttpOnly; Secure; SameSite=Lax',
  'strict-transport-security': 'max-age=31536000; includeSubDomains',
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'SAMEORIGIN',
  'referrer-policy': 'strict-origin-when-cross-origin',
  vary: 'Accept-Encoding, Cookie',
};

function answer(request: http2.Http2ServerRequest, response: http2.Http2ServerResponse): void {
  if (request.httpVersionMajor === 2) counts.h2Requests++;
  else counts.h1Requests++;
  requestCount++;
  response.writeHead(200, {
    ...fixedHeaders,
    date: currentDate(),
    'x-request-id': requestIdPrefix + requestCount.toString(16).padStart(16, '0'),
  });
  response.end();
}

interface TargetOptions {
  cert: string;
  key: string;
  port: number;
  maxSeconds: number;
  watchStdin: boolean;
}

function parseOptions(argv: string[]): TargetOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      cert: { type: 'string' },
      key: { type: 'string' },
      port: { type: 'string', default: '0' },
      'max-seconds': { type: 'string', default: '1800' },
      'watch-stdin': { type: 'boolean', default: false },
    },
  });
  const port = Number(values.port);
  const maxSeconds = Number(values['max-seconds']);
  if (values.cert === undefined || values.key === undefined) throw new Error('--cert, --key');
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error('--port: 0..65535');
  if (!Number.isFinite(maxSeconds) || maxSeconds <= 0) throw new Error('--max-seconds: > 0');
  return {
    cert: values.cert,
    key: values.key,
    port,
    maxSeconds,
    watchStdin: values['watch-stdin'],
  };
}

function main(): void {
  const options = parseOptions(process.argv.slice(2));
  const server = http2.createSecureServer(
    {
      cert: readFileSync(options.cert),
      key: readFileSync(options.key),
      allowHTTP1: true,
      // Every client opens at most one stream per connection; the default 100 is plenty.
      settings: { maxConcurrentStreams: 100 },
    },
    answer,
  );
  server.on('secureConnection', () => counts.tlsConnections++);
  server.on('session', () => counts.h2Sessions++);
  server.on('tlsClientError', () => counts.tlsErrors++);
  const stop = (code: number) => {
    server.close();
    process.exit(code);
  };
  server.on('error', (err) => {
    process.stderr.write(`h2-target-server: ${err.message}\n`);
    stop(1);
  });
  server.listen({ host: '0.0.0.0', port: options.port, backlog: 4096 }, () => {
    const address = server.address();
    const bound = typeof address === 'object' && address !== null ? address.port : options.port;
    process.stdout.write(`ready ${bound}\n`);
  });
  setTimeout(() => stop(0), options.maxSeconds * 1000).unref();
  process.on('SIGTERM', () => stop(0));
  process.on('SIGINT', () => stop(0));
  const lines = createInterface({ input: process.stdin });
  lines.on('line', (line) => {
    if (line.trim() === 'counts') process.stdout.write(`counts ${JSON.stringify(counts)}\n`);
  });
  if (options.watchStdin) {
    // The bench holds our stdin open; EOF means it is gone even if it was SIGKILLed.
    lines.on('close', () => stop(0));
    process.stdin.on('error', () => stop(0));
  }
}

main();
