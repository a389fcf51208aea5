// The command's curl-shaped outputs: -w compared with real `curl -w` against the same loopback
// servers (the same fields; times within a tolerance), and -o har through the HAR schema.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import harValidator from 'har-validator';
import { describe, expect, it } from 'vitest';
import { makeSelfSignedCertificate } from '../support/certs.js';
import { track } from '../support/cleanup.js';
import { runCommand } from '../support/command.js';
import { startH2Server } from '../support/h2-servers.js';
import {
  type ConnectionHandler,
  normalResponse,
  respondWith,
  startTcpServer,
  startTlsServer,
} from '../support/servers.js';

const run = promisify(execFile);

/** `/old` redirects to `/new`, which answers 200; both with two X-Dup headers. */
const redirecting: ConnectionHandler = (socket) => {
  socket.once('data', (data) => {
    const path = data.toString('latin1').split(' ')[1];
    const dup = 'X-Dup: first\r\nX-Dup: second\r\n';
    socket.end(
      path === '/old'
        ? `HTTP/1.1 301 Moved\r\nLocation: /new\r\n${dup}Content-Length: 0\r\n\r\n`
        : `HTTP/1.1 200 OK\r\nServer: loopback\r\n${dup}Content-Length: 2\r\n\r\nok`,
    );
  });
};

const FIELDS = [
  'http_code',
  'http_version',
  'remote_ip',
  'remote_port',
  'url_effective',
  'num_headers',
  'num_redirects',
  'ssl_verify_result',
  'scheme',
  'exitcode',
];
const TIMES = [
  'time_namelookup',
  'time_connect',
  'time_appconnect',
  'time_pretransfer',
  'time_starttransfer',
  'time_total',
];
/** One line per target: the fields, a header, an unterminated %{ and the escapes. */
const FORMAT = `${[...FIELDS, ...TIMES].map((name) => `%{${name}}`).join('\\t')}\\t%header{x-dup}|%header{server}|100%%\\n`;

function fieldsOf(line: string) {
  const cells = line.split('\t');
  const named = Object.fromEntries([...FIELDS, ...TIMES].map((name, i) => [name, cells[i]!]));
  return { named, rest: cells.slice(FIELDS.length + TIMES.length).join('\t') };
}

async function curl(args: string[]): Promise<string> {
  const { stdout } = await run('curl', ['-s', '-o', '/dev/null', ...args]).catch(
    (error: { stdout: string }) => ({ stdout: error.stdout }),
  );
  return stdout;
}

async function compare(url: string, extra: string[] = []) {
  const theirs = fieldsOf(await curl([...extra, '-w', FORMAT, url]));
  const ours = await runCommand(['-s', ...extra, '-w', FORMAT, url]);
  expect(ours.code).toBe(0);
  return { theirs, ours: fieldsOf(ours.stdout), stdout: ours.stdout };
}

function expectTimesLikeCurls(
  ours: Record<string, string>,
  theirs: Record<string, string>,
  tls: boolean,
) {
  for (const name of TIMES) {
    // Six decimals, as curl prints them.
    expect(ours[name], name).toMatch(/^\d+\.\d{6}$/);
    // Loopback: both well under a second, within 0.2 s of each other.
    expect(Math.abs(Number(ours[name]) - Number(theirs[name])), name).toBeLessThan(0.2);
  }
  // appconnect is 0 for plain http, for curl too: the other milestones only grow.
  const milestones = TIMES.filter((name) => tls || name !== 'time_appconnect').map((name) =>
    Number(ours[name]),
  );
  expect([...milestones].sort((a, b) => a - b)).toEqual(milestones);
  expect(Number(ours.time_appconnect) > 0).toBe(tls);
  expect(Number(theirs.time_appconnect) > 0).toBe(tls);
}

describe('headprobe -w, beside curl -w', () => {
  it('prints what curl prints for a plain http target, redirects followed with -L', async () => {
    const server = await track(startTcpServer(redirecting));
    const url = `http://127.0.0.1:${server.port}/old`;
    const { theirs, ours, stdout } = await compare(url, ['-L']);
    expect(ours.named.url_effective).toBe(`http://127.0.0.1:${server.port}/new`);
    for (const name of FIELDS) expect(ours.named[name], name).toBe(theirs.named[name]);
    expect(ours.rest).toBe(theirs.rest);
    expect(ours.rest).toBe('first|loopback|100%\n');
    expect(stdout.endsWith('\n')).toBe(true);
    expectTimesLikeCurls(ours.named, theirs.named, false);
  });

  it('prints what curl prints for a self-signed https target with -k, and a refused one', async () => {
    const { key, cert } = await makeSelfSignedCertificate({
      commonName: 'localhost',
      ipAddresses: ['127.0.0.1'],
    });
    const server = await track(startTlsServer(respondWith(normalResponse) as never, { key, cert }));
    const tls = await compare(`https://127.0.0.1:${server.port}/`, ['-k']);
    for (const name of FIELDS) expect(tls.ours.named[name], name).toBe(tls.theirs.named[name]);
    expect(tls.ours.named.ssl_verify_result).toBe('18');
    expectTimesLikeCurls(tls.ours.named, tls.theirs.named, true);

    const h2 = await track(
      startH2Server(
        (stream) =>
          stream.respond(
            { ':status': 200, server: 'loopback', 'x-dup': ['first', 'second'] },
            { endStream: true },
          ),
        { certificate: { key, cert } },
      ),
    );
    // Both offer h2 by ALPN and speak what the server picks.
    const overH2 = await compare(`https://127.0.0.1:${h2.port}/`, ['-k']);
    for (const name of FIELDS)
      expect(overH2.ours.named[name], name).toBe(overH2.theirs.named[name]);
    expect(overH2.ours.named.http_version).toBe('2');
    expect(overH2.ours.rest).toBe(overH2.theirs.rest);
    expectTimesLikeCurls(overH2.ours.named, overH2.theirs.named, true);

    const refused = await compare('http://127.0.0.1:1/');
    for (const name of FIELDS)
      expect(refused.ours.named[name], name).toBe(refused.theirs.named[name]);
    expect(refused.ours.named).toMatchObject({ http_code: '000', exitcode: '7', remote_port: '0' });
  });

  it('warns once about an unknown variable and prints nothing for it, as curl does', async () => {
    const server = await track(startTcpServer(respondWith(normalResponse)));
    const url = `http://127.0.0.1:${server.port}/`;
    const format = 'a%{no_such_thing}b %{http_code}%{onerror} failed\\n';
    const theirs = await run('curl', ['-s', '-o', '/dev/null', '-w', format, url]);
    const ours = await runCommand(['-s', '-w', format, url, url]);
    expect(ours.stdout).toBe(theirs.stdout.repeat(2));
    expect(ours.stdout).toBe('ab 200ab 200');
    expect(theirs.stderr).toContain("unknown --write-out variable: 'no_such_thing'");
    expect(ours.stderr).toBe("headprobe: unknown --write-out variable: 'no_such_thing'\n");
    const failed = await runCommand(['-s', '-w', format, '127.0.0.1:1']);
    expect(failed.stdout).toBe('ab 000 failed\n');
  });
});

describe('headprobe -o har', () => {
  it('writes one HAR 1.2 document that passes the HAR schema, hops included', async () => {
    const server = await track(startTcpServer(redirecting));
    const url = `http://127.0.0.1:${server.port}/old`;
    const ours = await runCommand(['-s', '-L', '-o', 'har', url, '127.0.0.1:1', 'not a target']);
    expect(ours.code).toBe(0);
    const har = JSON.parse(ours.stdout);
    await expect(harValidator.har(har)).resolves.toEqual(har);
    const entries = har.log.entries as Array<{ _index: number; response: { status: number } }>;
    expect(entries.map((entry) => [entry._index, entry.response.status]).sort()).toEqual([
      [0, 200],
      [0, 301],
      [1, 0],
      [2, 0],
    ]);
  });

  it('writes an HTTP/2 exchange as HTTP/2, with the h2 request fields that were sent', async () => {
    const h2c = await track(
      startH2Server((stream) =>
        stream.respond({ ':status': 204, 'x-a': '1' }, { endStream: true }),
      ),
    );
    const url = `http://127.0.0.1:${h2c.port}/p`;
    const ours = await runCommand(['-s', '--http2-prior-knowledge', '-o', 'har', url]);
    const har = JSON.parse(ours.stdout);
    await expect(harValidator.har(har)).resolves.toEqual(har);
    const [entry] = har.log.entries;
    expect(entry.request.httpVersion).toBe('HTTP/2');
    expect(entry.response).toMatchObject({ httpVersion: 'HTTP/2', status: 204, statusText: '' });
    expect(entry.request.headers.slice(0, 4)).toEqual([
      { name: ':method', value: 'GET' },
      { name: ':scheme', value: 'http' },
      { name: ':authority', value: `127.0.0.1:${h2c.port}` },
      { name: ':path', value: '/p' },
    ]);
  });

  it('writes an empty but valid document for an empty list', async () => {
    const ours = await runCommand(['-s', '-o', 'har'], { stdin: '\n# nothing\n' });
    const har = JSON.parse(ours.stdout);
    await expect(harValidator.har(har)).resolves.toEqual(har);
    expect(har.log.entries).toEqual([]);
  });
});
