// No Docker engine runs here, so this replays the Dockerfile's own steps outside it: each
// stage in a temp folder (WORKDIR), its COPY, ENV and RUN lines in order, then the runtime
// stage's CMD, probed with its HEALTHCHECK command. A step the image would fail on fails here.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const root = new URL('../..', import.meta.url).pathname;
const workspace = mkdtempSync(path.join(tmpdir(), 'headprobe-dockerfile-'));
afterAll(() => rmSync(workspace, { recursive: true, force: true }));

interface Stage {
  name: string;
  dir: string;
  env: Record<string, string>;
}

/** Dockerfile instructions, with line continuations joined and comments dropped. */
function instructions(text: string): Array<[string, string]> {
  return text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const space = line.indexOf(' ');
      return [line.slice(0, space).toUpperCase(), line.slice(space + 1).trim()];
    });
}

describe('the Dockerfile, replayed outside Docker', () => {
  it('installs, builds, and starts a server that passes its own HEALTHCHECK', async () => {
    const stages = new Map<string, Stage>();
    let stage: Stage | null = null;
    let cmd: string[] = [];
    let healthcheck: string[] = [];
    for (const [op, args] of instructions(readFileSync(path.join(root, 'Dockerfile'), 'utf8'))) {
      if (op === 'FROM') {
        const name = /\bAS\s+(\S+)/i.exec(args)?.[1] ?? `stage${stages.size}`;
        stage = { name, dir: path.join(workspace, name), env: {} };
        mkdirSync(stage.dir, { recursive: true });
        stages.set(name, stage);
        continue;
      }
      if (stage === null) throw new Error(`${op} before FROM`);
      if (op === 'ENV') {
        for (const pair of args.split(/\s+/)) {
          const [key, value] = pair.split('=') as [string, string];
          stage.env[key] = value;
        }
      } else if (op === 'COPY') {
        const parts = args.split(/\s+/);
        const from = parts[0]?.startsWith('--from=') ? parts.shift()!.slice(7) : null;
        const dest = path.join(stage.dir, parts.pop()!);
        for (const source of parts) {
          const base = from === null ? root : stages.get(from)!.dir;
          const relative = from === null ? source : source.replace(/^\/app\/?/, '');
          const target =
            parts.length > 1 || dest.endsWith('/') ? path.join(dest, path.basename(source)) : dest;
          cpSync(path.join(base, relative), target, { recursive: true });
        }
      } else if (op === 'RUN') {
        // Awaited, not run synchronously: `npm ci` of the build stage can take over a minute,
        // and a worker blocked that long misses vitest's own RPC deadline (60 s).
        const step = spawn('bash', ['-c', args], {
          cwd: stage.dir,
          env: { ...process.env, ...stage.env },
          stdio: 'ignore',
        });
        const [code] = (await once(step, 'exit')) as [number | null];
        if (code !== 0) throw new Error(`RUN ${args} exited with ${code}`);
      } else if (op === 'CMD') {
        cmd = JSON.parse(args);
      } else if (op === 'HEALTHCHECK') {
        healthcheck = JSON.parse(args.slice(args.indexOf('CMD') + 3).trim());
      }
    }
    expect(stage?.name).toBe('runtime');
    expect(cmd[0]).toBe('node');
    expect(healthcheck[0]).toBe('node');

    // Any free port instead of the image's 3000; everything else as the image has it.
    const env = { ...process.env, ...stage!.env, PORT: '0' };
    const server = spawn(process.execPath, cmd.slice(1), {
      cwd: stage!.dir,
      env,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      const port = await new Promise<string>((resolve, reject) => {
        let seen = '';
        server.stdout!.setEncoding('utf8');
        server.stdout!.on('data', (chunk: string) => {
          seen += chunk;
          const match = /Server listening at http:\/\/[^:]+:(\d+)/.exec(seen);
          if (match) resolve(match[1]!);
        });
        server.once('exit', (code) => reject(new Error(`server exited with ${code}`)));
      });
      // Listening on all interfaces, as HOST=0.0.0.0 in the image asks.
      expect(stage!.env.HOST).toBe('0.0.0.0');
      const health = spawn(process.execPath, healthcheck.slice(1), { env: { ...env, PORT: port } });
      const [code] = await once(health, 'exit');
      expect(code).toBe(0);
      // The command runs from the image too (its dist/, no source, no tsx), here against
      // the server the image started.
      const command = spawn(
        process.execPath,
        ['bin/headprobe.js', '-s', `http://127.0.0.1:${port}/livez`],
        { cwd: stage!.dir, env },
      );
      let output = '';
      command.stdout.setEncoding('utf8').on('data', (chunk: string) => {
        output += chunk;
      });
      const [commandCode] = await once(command, 'exit');
      expect(commandCode).toBe(0);
      expect(JSON.parse(output)).toMatchObject({ ok: true, status: 200 });
      // The results page, built in the build stage, is served by the image.
      const page = await fetch(`http://127.0.0.1:${port}/`);
      expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
      const script = /src="(\/assets\/[^"]+\.js)"/.exec(await page.text())?.[1];
      expect((await fetch(`http://127.0.0.1:${port}${script}`)).status).toBe(200);
      // Production install: no dev tooling in the runtime stage.
      expect(() =>
        readFileSync(path.join(stage!.dir, 'node_modules/vitest/package.json')),
      ).toThrow();
    } finally {
      const exited = once(server, 'exit');
      server.kill('SIGTERM');
      await exited;
    }
  }, 300_000);
});
