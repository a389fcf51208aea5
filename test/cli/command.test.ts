// The `headprobe` command as its users run it: a child process against loopback targets, its
// outputs parsed back (JSON Lines, CSV with a CSV parser, the table), targets from arguments,
// -l and stdin, --skip-done, Ctrl-C mid-run, the progress bar under a real pseudo-terminal,
// and bad usage answered with one line and an exit code.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseCsv } from 'csv-parse/sync';
import { afterAll, describe, expect, it } from 'vitest';
import { CSV_COLUMNS } from '../../src/exports/result-row.js';
import { track } from '../support/cleanup.js';
import { runCommand, runInTerminal, startCommand } from '../support/command.js';
import { startH2Server } from '../support/h2-servers.js';
import {
  normalResponse,
  respondWith,
  type ServerHandle,
  startTcpServer,
} from '../support/servers.js';
import { listeningPort } from '../support/service-process.js';

const dir = mkdtempSync(join(tmpdir(), 'headprobe-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function server(respond = respondWith(normalResponse)): Promise<ServerHandle> {
  return track(startTcpServer(respond));
}

const jsonLines = (text: string) =>
  text
    .split('\n')
    .filter((line) => line !== '')
    .map(
      (line) =>
        JSON.parse(line) as {
          index: number;
          target: string;
          ok: boolean;
          status: number | null;
          error: { code: string } | null;
        },
    );

describe('headprobe, run locally', () => {
  it('probes the targets given as arguments and writes JSON Lines when piped', async () => {
    const target = await server();
    const up = `127.0.0.1:${target.port}`;
    const run = await runCommand([up, `http://${up}/path?q=1`, '127.0.0.1:1']);

    expect(run.code).toBe(0);
    const results = jsonLines(run.stdout).sort((a, b) => a.index - b.index);
    expect(results.map((r) => [r.index, r.target, r.status])).toEqual([
      [0, up, 200],
      [1, `http://${up}/path?q=1`, 200],
      [2, '127.0.0.1:1', null],
    ]);
    // A target that fails is data, not a failing exit.
    expect(results[2]?.error?.code).toBe('connection_refused');
    // No bar when stderr is not a terminal; the summary still.
    expect(run.stderr).toMatch(
      /^headprobe: 3 targets in [\d.]+ s \(\d+\/s\): 2 ok, 1 failed \(connection_refused 1\)\n$/,
    );
  });

  it('reads -l FILE and stdin, skipping blank lines and # comments', async () => {
    const target = await server();
    const up = `127.0.0.1:${target.port}`;
    const list = join(dir, 'list.txt');
    writeFileSync(list, `# my hosts\n${up}\n\n  ${up}/a  \r\n# done\n`);

    const fromFile = await runCommand(['-l', list, '-s']);
    expect(
      jsonLines(fromFile.stdout)
        .map((r) => r.target)
        .sort(),
    ).toEqual([up, `${up}/a`]);
    expect(fromFile.stderr).toBe('');

    const fromStdin = await runCommand(['-s'], { stdin: `${up}\n#x\n${up}/b\n` });
    expect(
      jsonLines(fromStdin.stdout)
        .map((r) => r.target)
        .sort(),
    ).toEqual([up, `${up}/b`]);
  });

  it('writes CSV with a header row and the documented columns, headers as one JSON column', async () => {
    const target = await server();
    const up = `127.0.0.1:${target.port}`;
    const out = join(dir, 'out.csv');
    const run = await runCommand(['-o', 'csv', '-O', out, '-s', up, '127.0.0.1:1']);

    expect(run.code).toBe(0);
    expect(run.stdout).toBe('');
    const rows = parseCsv(readFileSync(out, 'utf8'), { columns: true }) as Array<
      Record<string, string>
    >;
    expect(Object.keys(rows[0]!)).toEqual([...CSV_COLUMNS]);
    const byTarget = new Map(rows.map((row) => [row.target, row]));
    const ok = byTarget.get(up)!;
    expect(ok).toMatchObject({
      ok: 'true',
      status: '200',
      remoteAddress: '127.0.0.1',
      errorCode: '',
    });
    expect(Number(ok.total)).toBeGreaterThan(0);
    expect(JSON.parse(ok.headers!)).toContainEqual(['Content-Length', expect.any(String)]);
    expect(byTarget.get('127.0.0.1:1')).toMatchObject({
      ok: 'false',
      status: '',
      errorCode: 'connection_refused',
    });
  });

  /** The most connections one host saw at once while the command probed 8 URLs on it. */
  async function mostAtOnceOnOneHost(caps: string[]): Promise<number> {
    let open = 0;
    let most = 0;
    // Counted from accept to the answer: the probe holds its slot at least that long.
    const target = await server((socket) => {
      most = Math.max(most, ++open);
      socket.once('data', () => {
        setTimeout(() => {
          open--;
          socket.end(normalResponse);
        }, 100);
      });
    });
    const up = `127.0.0.1:${target.port}`;
    const args = Array.from({ length: 8 }, (_, i) => `${up}/${i}`);
    const run = await runCommand(['-s', ...caps, ...args]);
    expect(jsonLines(run.stdout).filter((r) => r.status === 200)).toHaveLength(8);
    return most;
  }

  it('holds each host:port to --per-destination connections at once', async () => {
    expect(await mostAtOnceOnOneHost(['-c', '20', '--per-destination', '2'])).toBe(2);
  });

  it('runs -c targets at once on one host when --per-destination is at least -c', async () => {
    expect(await mostAtOnceOnOneHost(['-c', '3', '--per-destination', '5'])).toBe(3);
  });

  it('stops with one line when its reader goes away, no stack trace', async () => {
    const target = await server(respondWith(normalResponse, { delayMs: 50 }));
    const up = `127.0.0.1:${target.port}`;
    const targets = Array.from({ length: 400 }, (_, i) => `${up}/${i}`).join('\n');
    const { child, done } = startCommand(['-s', '-c', '4', '--per-destination', '4'], {
      stdin: targets,
    });
    child.stdout!.once('data', () => child.stdout!.destroy());
    const run = await done;
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^headprobe: cannot write the results: .*EPIPE.*\n$/);
  });

  it('prints a table with -o table, without colours when not on a terminal', async () => {
    const target = await server();
    const run = await runCommand(['-o', 'table', '-s', `127.0.0.1:${target.port}`]);
    const [head, row] = run.stdout.split('\n');
    expect(head).toMatch(
      /^target\s+status\s+server\s+http\s+grade\s+cert days\s+total ms\s+error$/,
    );
    expect(row).toMatch(
      new RegExp(
        `^127\\.0\\.0\\.1:${target.port}\\s+200\\s+nginx/1\\.24\\.0\\s+1\\.1\\s+[A-F][+-]?\\s+-\\s+[\\d.]+$`,
      ),
    );
    expect(run.stdout).not.toContain('\x1b[');
  });

  it('speaks HTTP/2 with --http2-prior-knowledge, and leaves out findings with --no-findings', async () => {
    const h2c = await track(
      startH2Server((stream) =>
        stream.respond({ ':status': 200, server: 'h2c-fixture/2.0' }, { endStream: true }),
      ),
    );
    const up = `127.0.0.1:${h2c.port}`;
    const [h2] = jsonLines(
      (await runCommand(['-s', '--http2-prior-knowledge', up])).stdout,
    ) as unknown as Array<{ httpVersion: string; grade: string | null; technologies: unknown[] }>;
    expect(h2).toMatchObject({ httpVersion: '2', grade: expect.any(String) });

    const [bare] = jsonLines(
      (await runCommand(['-s', '--http2-prior-knowledge', '--no-findings', up])).stdout,
    ) as unknown as Array<{ findings: unknown[]; grade: string | null; technologies: unknown[] }>;
    expect(bare).toMatchObject({ findings: [], grade: null, technologies: [] });

    // The default over plain http stays HTTP/1.1: the h2c server refuses it.
    const [plain] = jsonLines((await runCommand(['-s', up])).stdout);
    expect(plain?.ok).toBe(false);
  });

  it('resumes with --skip-done: only targets missing from the earlier output are probed, appended', async () => {
    const target = await server();
    const up = `127.0.0.1:${target.port}`;
    const out = join(dir, 'resume.jsonl');
    await runCommand(['-O', out, '-s', `${up}/1`, `${up}/2`]);
    // The earlier run was cut mid-line: that line's target is probed again.
    writeFileSync(out, `${readFileSync(out, 'utf8')}{"index":2,"target":"${up}/3","ok":tr`);
    const before = target.connections;

    const list = join(dir, 'resume.txt');
    writeFileSync(list, [1, 2, 3, 4].map((n) => `${up}/${n}`).join('\n'));
    const run = await runCommand(['-l', list, '--skip-done', out, '-O', out, '-s']);

    expect(run.code).toBe(0);
    expect(target.connections - before).toBe(2);
    const lines = readFileSync(out, 'utf8').split('\n');
    const complete = lines
      .filter((line) => line.endsWith('}'))
      .map((line) => JSON.parse(line).target);
    expect(complete.sort()).toEqual([1, 2, 3, 4].map((n) => `${up}/${n}`));
  });

  it('stops on Ctrl-C: running targets end cancelled, the output is whole lines, exit 130', async () => {
    let answered = 0;
    // Answers the first four requests, then never again.
    const target = await server((socket) => {
      if (answered++ < 4) respondWith(normalResponse)(socket);
    });
    const up = `127.0.0.1:${target.port}`;
    const targets = Array.from({ length: 50 }, (_, i) => `${up}/${i}`).join('\n');
    const { child, done } = startCommand(['-c', '8', '--per-destination', '8', '-m', '30'], {
      stdin: targets,
    });
    await new Promise<void>((resolve) => {
      let seen = 0;
      child.stdout!.on('data', (chunk: string) => {
        seen += chunk.split('\n').length - 1;
        if (seen >= 4) resolve();
      });
    });
    // Every answered target is in; the next ones hang on the silent server.
    await new Promise<void>((resolve) => {
      const poll = () => (target.connections >= 12 ? resolve() : setTimeout(poll, 20));
      poll();
    });
    child.kill('SIGINT');
    const run = await done;

    expect(run.code).toBe(130);
    expect(run.stdout.endsWith('\n')).toBe(true);
    const results = jsonLines(run.stdout);
    expect(results.filter((r) => r.ok)).toHaveLength(4);
    const cancelled = results.filter((r) => r.error?.code === 'cancelled');
    expect(cancelled).toHaveLength(8);
    expect(new Set(results.map((r) => r.index)).size).toBe(results.length);
    expect(run.stderr).toMatch(/12 targets .* 4 ok, 8 failed \(cancelled 8\); interrupted\n$/);
  });
});

describe('headprobe, on a terminal', () => {
  it('draws a progress bar, redraws it, clears it and leaves the summary', async () => {
    const target = await server(respondWith(normalResponse, { delayMs: 150 }));
    const up = `127.0.0.1:${target.port}`;
    const args = Array.from({ length: 12 }, (_, i) => `${up}/${i}`);
    const run = await runInTerminal(['-c', '2', '--per-destination', '2', ...args]);

    expect(run.code).toBe(0);
    const frames = run.stdout.match(/\d+\/12 \| ok \d+ failed 0/g) ?? [];
    // Redrawn as results land (12 targets, two at a time, 150 ms each: about a second).
    expect(new Set(frames).size).toBeGreaterThan(2);
    const afterBar = run.stdout.slice(run.stdout.lastIndexOf('ok 12 failed 0') + 1);
    // Cleared (cli-progress erases the line) before the summary.
    expect(afterBar).toMatch(/\x1b\[2K|\x1b\[0K/);
    expect(run.stdout).toMatch(
      /headprobe: 12 targets in [\d.]+ s \(\d+\/s\): 12 ok, 0 failed\r?\n$/,
    );
    // On a terminal the results are a table.
    expect(run.stdout).toMatch(/target\s+status\s+server/);
  });

  it('asks for targets instead of waiting on the terminal for them', async () => {
    const run = await runInTerminal([]);
    expect(run.code).toBe(2);
    expect(run.stdout).toMatch(/^headprobe: no targets: give them as arguments/);
  });

  it('has no bar with --silent', async () => {
    const target = await server();
    const run = await runInTerminal(['-s', `127.0.0.1:${target.port}`]);
    expect(run.code).toBe(0);
    expect(run.stdout).not.toMatch(/\| ok \d+ failed/);
    expect(run.stdout).not.toContain('headprobe:');
  });
});

describe('headprobe serve', () => {
  it('starts the service with its flags as settings, and stops on SIGTERM with exit 0', async () => {
    const { child, done } = startCommand(['serve', '--port', '0', '--concurrency', '7'], {
      env: { LOG_LEVEL: 'info' },
    });
    const port = await listeningPort(child, [], 'headprobe serve');
    const loop = await fetch(`http://127.0.0.1:${port}/v1/loop`);
    expect(await loop.json()).toMatchObject({ concurrency: 7 });
    child.kill('SIGTERM');
    expect((await done).code).toBe(0);
  });
});

describe('headprobe, used wrong', () => {
  it.each([
    [['--bogus'], /unknown option '--bogus'/],
    [['-X', 'POST', 'a.example'], /method: /],
    [['-c', 'many', 'a.example'], /expected a whole number/],
    [['-H', 'no colon', 'a.example'], /expected "Name: value"/],
    [['--resolve', 'a.example:443', 'a.example'], /expected host:port:address/],
    [['-o', 'xml', 'a.example'], /Allowed choices are jsonl, csv, table/],
    [['-o', 'csv', '--skip-done', 'x.jsonl', 'a.example'], /use it with -o jsonl/],
  ])('answers %j with one line and exit 2', async (args, message) => {
    const run = await runCommand(args);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(message);
    expect(run.stderr).not.toMatch(/\n\s+at /);
    expect(run.stdout).toBe('');
  });

  it('answers an unreadable list with one line and exit 1', async () => {
    const run = await runCommand(['-l', join(dir, 'missing.txt')]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(
      /^headprobe: ENOENT: no such file or directory, open '.*missing\.txt'\n$/,
    );
  });

  it('prints its version and help', async () => {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
    expect((await runCommand(['--version'])).stdout).toBe(`${pkg.version}\n`);
    const help = await runCommand(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/Examples:/);
    expect(help.stdout).toMatch(/Exit codes: 0 done/);
  });
});
