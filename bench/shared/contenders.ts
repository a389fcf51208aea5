// What each contender runs and how its successes are counted. A success is a 200 status
// line with its header block, counted the way the shared peer harness counts it.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import * as path from 'node:path';

/** Every contender both benches know, in table order. */
export const contenderNames = [
  'headprobe-engine',
  'headprobe-cli',
  'curl-chunked',
  'py-asyncio-wget',
  'py-asyncio-wget+uvloop',
  'node-net-ref',
] as const;
export type ContenderName = (typeof contenderNames)[number];

/** curl 7.88 silently clamps --parallel-max to this (curl/curl#8930). */
export const curlParallelCap = 300;

export interface RunInputs {
  readonly root: string;
  readonly urlsFile: string;
  readonly curlChunkFiles: readonly string[];
  readonly concurrency: number;
  readonly python: string;
  readonly engineScript: string;
  /** logs/<contender>.<rep>; contenders may add their own files with this prefix. */
  readonly outPrefix: string;
}

export interface Tally {
  ok: number;
  fail: number | undefined;
  /** Seconds the contender measured itself, start-up excluded. */
  inprocS: number | undefined;
  errors: string;
}

export interface Contender {
  readonly name: ContenderName;
  readonly what: string;
  /** Why it cannot run here, or undefined when it can. */
  unavailable(inputs: Pick<RunInputs, 'python' | 'engineScript'>): string | undefined;
  commands(inputs: RunInputs): string[][];
  tally(inputs: RunInputs, stdoutFile: string): Promise<Tally>;
}

const resultLine = /^RESULT ok=(\d+) fail=(\d+)\b.*?\belapsed=([\d.]+) errors=(\S*)/gm;

/** Reads the last `RESULT ok= fail= ... elapsed= errors=` line (the shared peers' contract). */
export async function tallyResultLine(stdoutFile: string): Promise<Tally> {
  const text = await readFile(stdoutFile, 'utf8').catch(() => '');
  const last = [...text.matchAll(resultLine)].pop();
  if (!last) return { ok: 0, fail: undefined, inprocS: undefined, errors: 'no-RESULT-line' };
  return {
    ok: Number(last[1]),
    fail: Number(last[2]),
    inprocS: Number(last[3]),
    errors: last[4] || '-',
  };
}

/** The compiled command beside the engine script (both in dist-bench/). */
function cliScript(engineScript: string): string {
  return path.join(path.dirname(engineScript), '../../src/cli/run.js');
}

/** Counts the command's JSON Lines: a success is `status` 200 with its headers read. */
async function tallyJsonLines(stdoutFile: string): Promise<Tally> {
  const text = await readFile(stdoutFile, 'utf8').catch(() => '');
  let ok = 0;
  let fail = 0;
  const errors = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const result = JSON.parse(line) as {
      ok: boolean;
      status: number | null;
      error: { code: string } | null;
    };
    if (result.ok && result.status === 200) ok++;
    else {
      fail++;
      const code = result.error?.code ?? `status-${result.status}`;
      errors.set(code, (errors.get(code) ?? 0) + 1);
    }
  }
  const list = [...errors].map(([code, count]) => `${code}:${count}`).join(',');
  return { ok, fail, inprocS: undefined, errors: list || '-' };
}

function curlHeaderFile(inputs: RunInputs, chunk: number): string {
  return `${inputs.outPrefix}.hdr.${chunk}`;
}

/** 200 status lines curl actually wrote with -D, plus the non-200 codes from -w. */
async function tallyCurl(inputs: RunInputs, stdoutFile: string): Promise<Tally> {
  let ok = 0;
  for (let chunk = 0; chunk < inputs.curlChunkFiles.length; chunk++) {
    const file = curlHeaderFile(inputs, chunk);
    const headers = await readFile(file, 'latin1').catch(() => '');
    ok += headers.match(/^HTTP\/1\.[01] 200\b/gm)?.length ?? 0;
    await rm(file, { force: true }); // ~9 MB per 10k hosts, of no use once counted
  }
  const codes = new Map<string, number>();
  const written = await readFile(stdoutFile, 'utf8').catch(() => '');
  for (const code of written.split('\n')) {
    if (code === '' || code === '200') continue;
    codes.set(code, (codes.get(code) ?? 0) + 1);
  }
  const fail = [...codes.values()].reduce((sum, count) => sum + count, 0);
  const errors = [...codes].map(([code, count]) => `code${code}:${count}`).join(',') || '-';
  return { ok, fail, inprocS: undefined, errors };
}

function pythonCan(python: string, statement: string): boolean {
  const probe = spawnSync(python, ['-c', statement], { stdio: 'ignore', timeout: 10_000 });
  return probe.status === 0;
}

function pyWget(name: ContenderName, extraArgs: string[], requirement: string): Contender {
  return {
    name,
    what: 'asyncio docs "wget": open_connection, GET HTTP/1.0, readline() to the blank line',
    unavailable: ({ python }) => {
      if (!pythonCan(python, 'import asyncio; asyncio.timeout')) {
        return `${python} lacks asyncio.timeout (needs Python >= 3.11)`;
      }
      if (requirement && !pythonCan(python, requirement)) return 'python3 uvloop not importable';
      return undefined;
    },
    commands: (inputs) => [
      [
        inputs.python,
        path.join(inputs.root, 'bench/peers/py_asyncio_wget.py'),
        inputs.urlsFile,
        String(inputs.concurrency),
        ...extraArgs,
      ],
    ],
    tally: (_inputs, stdoutFile) => tallyResultLine(stdoutFile),
  };
}

export const contenders: readonly Contender[] = [
  {
    name: 'headprobe-engine',
    what: 'the headprobe probe engine driven by bench/engine/run-engine.ts',
    unavailable: ({ engineScript }) =>
      existsSync(engineScript)
        ? undefined
        : `${engineScript} not found (run \`npm run build:bench\`)`,
    commands: (inputs) => [
      [
        process.execPath,
        inputs.engineScript,
        '--urls',
        inputs.urlsFile,
        '--concurrency',
        String(inputs.concurrency),
      ],
    ],
    tally: (_inputs, stdoutFile) => tallyResultLine(stdoutFile),
  },
  {
    name: 'headprobe-cli',
    what: 'the `headprobe` command (compiled, dist-bench/src/cli/run.js): -l FILE, JSON Lines on stdout',
    unavailable: ({ engineScript }) => {
      const command = cliScript(engineScript);
      return existsSync(command) ? undefined : `${command} not found (run \`npm run build:bench\`)`;
    },
    commands: (inputs) => [
      [
        process.execPath,
        cliScript(inputs.engineScript),
        '-s',
        '-m',
        '30',
        '-c',
        String(inputs.concurrency),
        // Every URL of the list is its own host: no per-destination wait, as for the engine.
        '--per-destination',
        String(inputs.concurrency),
        '-l',
        inputs.urlsFile,
      ],
    ],
    tally: (_inputs, stdoutFile) => tallyJsonLines(stdoutFile),
  },
  {
    name: 'curl-chunked',
    what: `curl --parallel, one invocation per chunk of URLs (parallel-max capped at ${curlParallelCap})`,
    unavailable: () =>
      spawnSync('curl', ['--version'], { stdio: 'ignore' }).status === 0
        ? undefined
        : 'curl not on PATH',
    commands: (inputs) =>
      inputs.curlChunkFiles.map((cfg, chunk) => [
        'curl',
        '--silent',
        '--no-progress-meter',
        '--max-time',
        '30',
        '--parallel',
        '--parallel-max',
        String(inputs.concurrency),
        '-K',
        cfg,
        '-D',
        curlHeaderFile(inputs, chunk),
        '-w',
        '%{http_code}\\n',
      ]),
    tally: tallyCurl,
  },
  pyWget('py-asyncio-wget', [], ''),
  pyWget('py-asyncio-wget+uvloop', ['--uvloop'], 'import uvloop'),
  {
    name: 'node-net-ref',
    what: 'reference floor: bare node:net connect/write/read-to-CRLFCRLF loop',
    unavailable: () => undefined,
    commands: (inputs) => [
      [
        process.execPath,
        path.join(inputs.root, 'bench/peers/node_net_ref.mjs'),
        inputs.urlsFile,
        String(inputs.concurrency),
      ],
    ],
    tally: (_inputs, stdoutFile) => tallyResultLine(stdoutFile),
  },
];
