// Reference, not a user tool: the tutorial algorithm on bare node:net (connect, write
// `GET / HTTP/1.0`, buffer until CRLFCRLF, destroy), C workers pulling from the list.
// It shows what one Node event loop does with no HTTP-client machinery: the floor cost
// of the service. Adapted from the shared peer harness's node_net.mjs (same contract).
//   node node_net_ref.mjs URLS_FILE CONCURRENCY [--waits OUT]
// Last stdout line: RESULT ok=<n> fail=<n> headers=<n> elapsed=<s> errors=<k:v,...>
// --waits writes one wait (ms, write() returned → first byte) per ok target, as the engine does.
import * as fs from 'node:fs';
import * as net from 'node:net';
import { parseArgs } from 'node:util';

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: { waits: { type: 'string' } },
});
const [file, concArg] = positionals;
const urls = fs.readFileSync(file, 'utf8').split('\n').filter(Boolean);
const concurrency = Number(concArg);
const timeoutMs = 30_000;
const headEnd = Buffer.from('\r\n\r\n');

function probe(url) {
  const u = new URL(url);
  return new Promise((resolve) => {
    let done = false;
    let buf = Buffer.alloc(0);
    let sent = 0;
    let firstByte = 0;
    const sock = net.connect({ host: u.hostname, port: Number(u.port) || 80 });
    const finish = (result) => {
      if (done) return;
      done = true;
      sock.destroy();
      resolve(result);
    };
    sock.setTimeout(timeoutMs, () => finish({ error: 'timeout' }));
    sock.on('connect', () => {
      sock.write(`GET ${u.pathname} HTTP/1.0\r\nHost: ${u.hostname}\r\n\r\n`);
      sent = performance.now();
    });
    sock.on('data', (d) => {
      if (firstByte === 0) firstByte = performance.now();
      buf = buf.length ? Buffer.concat([buf, d]) : d;
      const end = buf.indexOf(headEnd);
      if (end < 0) {
        if (buf.length > 65536) finish({ error: 'headers-too-large' });
        return;
      }
      const lines = buf.subarray(0, end).toString('latin1').split('\r\n');
      const status = Number(lines[0]?.split(' ')[1]);
      finish({ status, headers: lines.length - 1, wait: firstByte - sent });
    });
    sock.on('end', () => finish({ error: 'eof-before-headers' }));
    sock.on('error', (e) => finish({ error: e.code || e.message }));
  });
}

const t0 = performance.now();
let next = 0;
let ok = 0;
let fail = 0;
let headerCount = 0;
const waits = [];
const errors = new Map();
async function worker() {
  // Bounded: every iteration consumes one URL.
  while (next < urls.length) {
    const r = await probe(urls[next++]);
    if (r.status === 200) {
      ok++;
      headerCount += r.headers;
      waits.push(r.wait);
    } else {
      fail++;
      const key = r.error ?? `status-${r.status}`;
      errors.set(key, (errors.get(key) ?? 0) + 1);
    }
  }
}
await Promise.all(Array.from({ length: Math.min(concurrency, urls.length) }, worker));
const elapsed = (performance.now() - t0) / 1000;
if (values.waits) fs.writeFileSync(values.waits, waits.map((w) => `${w.toFixed(3)}\n`).join(''));
const errorList = [...errors].map(([k, v]) => `${k}:${v}`).join(',') || '-';
console.log(
  `RESULT ok=${ok} fail=${fail} headers=${headerCount} elapsed=${elapsed.toFixed(3)} errors=${errorList}`,
);
