// `headprobe`: probe a list of targets from the terminal, on this machine, with the engine the
// service runs (no server needed), or start the service (`serve`) or a worker (`worker`).
// Commander parses the arguments; a bad flag or an unreadable file is one line on stderr and
// an exit code, never a stack trace.
import { createWriteStream, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { Writable } from 'node:stream';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { createAddressPolicy } from '../policy/address-policy.js';
import { createDnsResolver, defaultProbeLimits, type ProbeLimits } from '../probe/index.js';
import type { JobOptionsInput } from '../schemas/job.js';
import { ProbeOptions } from '../schemas/probe-options.js';
import type { ProbeResult } from '../schemas/probe-result.js';
import { endsWithNewline, opened } from './files.js';
import { LocalRun } from './local-run.js';
import { parseWriteOut, type WriteOut } from './output/write-out.js';
import {
  createWriter,
  OUTPUT_FORMATS,
  type OutputFormat,
  type ResultWriter,
  writeOutWriter,
} from './output/writers.js';
import { createTally } from './progress.js';
import { RemoteError, RemoteRun } from './remote-run.js';
import { targetsDone } from './skip-done.js';
import { targetLines } from './target-lines.js';

/** Documented in --help and the README. */
export const EXIT = { ok: 0, error: 1, usage: 2, interrupted: 130 } as const;

class UsageError extends Error {}

/** The package's version: its package.json is two folders up from src/, three from dist/. */
function packageVersion(): string {
  for (const up of ['../../package.json', '../../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(up, import.meta.url), 'utf8'));
      if (pkg.name === 'headprobe') return String(pkg.version);
    } catch {
      // Not there: one more folder up.
    }
  }
  return 'unknown';
}

function positiveInt(value: string): number {
  const number = Number(value);
  if (!Number.isInteger(number) || number < 1)
    throw new InvalidArgumentError('expected a whole number ≥ 1');
  return number;
}

function seconds(value: string): number {
  const number = Number(value);
  if (!Number.isFinite(number) || number <= 0)
    throw new InvalidArgumentError('expected seconds > 0');
  return number;
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

/** `Name: value` (curl's -H) into a header record; a repeated name keeps the last value. */
function headersOf(lines: readonly string[]): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon <= 0) throw new UsageError(`-H "${line}": expected "Name: value"`);
    headers[line.slice(0, colon).trim()] = line.slice(colon + 1).trim();
  }
  return headers;
}

/** curl's `--resolve host:port:addr` into the job option `{ "host:port": addr }`. */
function pinsOf(entries: readonly string[]): Record<string, string> {
  const pins: Record<string, string> = {};
  for (const entry of entries) {
    const match = /^(\[[^\]]+\]|[^:]+):(\d{1,5}):(.+)$/.exec(entry);
    if (match === null) throw new UsageError(`--resolve ${entry}: expected host:port:address`);
    pins[`${match[1]}:${match[2]}`] = match[3]!.replace(/^\[(.*)\]$/, '$1');
  }
  return pins;
}

/** curl's version flags; the narrower wins when several are given. */
function httpVersionOf(flags: ProbeFlags): ProbeOptions['httpVersion'] {
  if (flags.http10) return '1.0';
  if (flags.http11) return '1.1';
  if (flags.http2PriorKnowledge) return '2';
  return 'auto';
}

interface ProbeFlags {
  list?: string;
  method: string;
  head?: boolean;
  header?: string[];
  http10?: boolean;
  http11?: boolean;
  http2?: boolean;
  http2PriorKnowledge?: boolean;
  findings: boolean;
  certExpiryDays?: number;
  location?: boolean;
  maxRedirs?: number;
  resolve?: string[];
  insecure?: boolean;
  maxTime: number;
  connectTimeout?: number;
  concurrency: number;
  perDestination: number;
  parallelMaxHost?: number;
  dnsServer?: string[];
  dnsCache: boolean;
  denyPrivate?: boolean;
  outputFormat?: OutputFormat;
  writeOut?: string;
  output?: string;
  skipDone?: string;
  silent?: boolean;
  server?: string;
  jobSize: number;
  /** Flags the user gave (not commander's defaults): --server sends only those. */
  given: ReadonlySet<string>;
}

export interface Io {
  readonly stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  readonly stdout: Writable & { isTTY?: boolean };
  readonly stderr: Writable & { isTTY?: boolean };
  readonly env: NodeJS.ProcessEnv;
}

function probeOptionsOf(flags: ProbeFlags): ProbeOptions {
  const parsed = ProbeOptions.safeParse({
    method: flags.head ? 'HEAD' : flags.method.toUpperCase(),
    httpVersion: httpVersionOf(flags),
    headers: headersOf(flags.header ?? []),
    timeoutMs: Math.round(flags.maxTime * 1000),
    resolve: pinsOf(flags.resolve ?? []),
    followRedirects: flags.maxRedirs ?? (flags.location ? 10 : 0),
    dnsCache: flags.dnsCache,
    tlsVerify: !flags.insecure,
    findings: flags.findings,
    ...(flags.certExpiryDays === undefined ? {} : { certificateExpiryDays: flags.certExpiryDays }),
  });
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new UsageError(`${issue.path.join('.') || 'options'}: ${issue.message}`);
  }
  return parsed.data;
}

async function probe(targets: string[], flags: ProbeFlags, io: Io): Promise<number> {
  if (targets.length === 0 && flags.list === undefined && io.stdin.isTTY) {
    throw new UsageError('no targets: give them as arguments, with -l FILE, or on stdin (--help)');
  }
  const options = probeOptionsOf(flags);
  const jsonl = flags.writeOut === undefined && (flags.outputFormat ?? 'jsonl') === 'jsonl';
  if (flags.skipDone !== undefined && !jsonl) {
    throw new UsageError('--skip-done reads and appends JSON Lines: use it with -o jsonl');
  }
  // Every usage check before -O opens (and so empties) its file.
  const server = flags.server === undefined ? null : serverUrl(flags);
  const writeOut = await writeOutOf(flags, io);
  const done = flags.skipDone === undefined ? null : await targetsDone(flags.skipDone);
  const out: Writable & { isTTY?: boolean } =
    flags.output === undefined ? io.stdout : await openOutput(flags.output, done !== null);
  const writer = writerFor(flags, writeOut, options, out, io);
  const tally = createTally(io.stderr, flags.silent === true);
  const onResult = (index: number, result: ProbeResult) => {
    writer.write(index, result);
    tally.result(result);
  };
  const onTargetsRead = (count: number, complete: boolean) => tally.read(count, complete);
  const run =
    server === null
      ? new LocalRun({
          probe: options,
          concurrency: flags.concurrency,
          concurrencyPerDestination: flags.parallelMaxHost ?? flags.perDestination,
          resolver: createDnsResolver({ servers: flags.dnsServer }),
          limits: limitsOf(flags),
          policy: flags.denyPrivate ? createAddressPolicy() : undefined,
          onResult,
          onTargetsRead,
        })
      : new RemoteRun({
          server,
          apiKey: io.env.HEADPROBE_API_KEY || undefined,
          jobOptions: remoteJobOptions(options, flags),
          jobSize: flags.jobSize,
          onResult,
          onTargetsRead,
          onNotice: (message) => tally.notice(message),
        });
  let outputError: Error | null = null;
  // A reader that went away (`| head`): stop probing, say so in one line.
  out.on('error', (error: Error) => {
    outputError ??= error;
    run.cancel();
  });
  let interrupted = false;
  const onSigint = () => {
    // A second Ctrl-C does not wait for the running targets.
    if (interrupted) process.exit(EXIT.interrupted);
    interrupted = true;
    run.cancel();
  };
  process.on('SIGINT', onSigint);
  let remoteError: RemoteError | null = null;
  try {
    const sources = targetLines({ args: targets, listFile: flags.list, stdin: io.stdin as never });
    await run.run(skipping(sources, done, writer));
  } catch (error) {
    if (!(error instanceof RemoteError)) throw error;
    remoteError = error;
  } finally {
    process.off('SIGINT', onSigint);
  }
  await writer.end();
  tally.finish(interrupted);
  if (out !== io.stdout && !out.destroyed) await new Promise((resolve) => out.end(resolve));
  if (outputError !== null) {
    io.stderr.write(`headprobe: cannot write the results: ${(outputError as Error).message}\n`);
    return EXIT.error;
  }
  if (remoteError !== null) {
    io.stderr.write(`headprobe: ${remoteError.message}\n`);
    return EXIT.error;
  }
  return interrupted ? EXIT.interrupted : EXIT.ok;
}

/** Local-run settings a service decides for itself: refused with --server, not ignored. */
const LOCAL_ONLY = ['dnsServer', 'denyPrivate', 'connectTimeout'] as const;
const FLAG_NAMES: Record<(typeof LOCAL_ONLY)[number], string> = {
  dnsServer: '--dns-server',
  denyPrivate: '--deny-private',
  connectTimeout: '--connect-timeout',
};

function serverUrl(flags: ProbeFlags): URL {
  for (const name of LOCAL_ONLY) {
    if (flags.given.has(name))
      throw new UsageError(`${FLAG_NAMES[name]} applies to a local run; the service sets its own`);
  }
  try {
    const url = new URL(flags.server!);
    if (url.protocol === 'http:' || url.protocol === 'https:') return url;
  } catch {
    // Said below.
  }
  throw new UsageError(`--server ${flags.server}: expected an http(s) URL`);
}

/** The job's options; the caps only when given, so the service's defaults apply otherwise. */
function remoteJobOptions(options: ProbeOptions, flags: ProbeFlags): JobOptionsInput {
  const perDestination = flags.parallelMaxHost ?? flags.perDestination;
  return {
    ...options,
    ...(flags.given.has('concurrency') ? { concurrency: flags.concurrency } : {}),
    ...(flags.given.has('perDestination') || flags.given.has('parallelMaxHost')
      ? { concurrencyPerDestination: perDestination }
      : {}),
  };
}

function limitsOf(flags: ProbeFlags): ProbeLimits {
  if (flags.connectTimeout === undefined) return defaultProbeLimits;
  return { ...defaultProbeLimits, connectTimeoutMs: Math.round(flags.connectTimeout * 1000) };
}

/** `-w FORMAT` (or `-w @FILE`) parsed, unknown variables warned about; null without -w. */
async function writeOutOf(flags: ProbeFlags, io: Io): Promise<WriteOut | null> {
  if (flags.writeOut === undefined) return null;
  if (flags.outputFormat !== undefined)
    throw new UsageError('-w prints its own format: use it without -o');
  const format = flags.writeOut.startsWith('@')
    ? await readFile(flags.writeOut.slice(1), 'utf8')
    : flags.writeOut;
  const writeOut = parseWriteOut(format);
  for (const name of writeOut.unknown)
    io.stderr.write(`headprobe: unknown --write-out variable: '${name}'\n`);
  return writeOut;
}

/** `-w` replaces the output format, as curl prints only its write-out with `-o /dev/null`. */
function writerFor(
  flags: ProbeFlags,
  writeOut: WriteOut | null,
  options: ProbeOptions,
  out: Writable & { isTTY?: boolean },
  io: Io,
): ResultWriter {
  if (writeOut !== null) return writeOutWriter(out, writeOut);
  const format = flags.outputFormat ?? (out.isTTY ? 'table' : 'jsonl');
  const colour = out.isTTY === true && !io.env.NO_COLOR;
  return createWriter(format, out, colour, options);
}

/**
 * `-O FILE`, opened now (so an unwritable path fails before any probe), appended to when
 * resuming. A file whose last line was cut by the run that died gets a newline first, so the
 * first new result is a line of its own.
 */
async function openOutput(path: string, append: boolean): Promise<Writable> {
  const out = await opened(createWriteStream(path, { flags: append ? 'a' : 'w' }));
  if (append && !(await endsWithNewline(path))) out.write('\n');
  return out;
}

/** The targets not in `done`, read no faster than the output takes results. */
async function* skipping(
  targets: AsyncIterable<string>,
  done: ReadonlySet<string> | null,
  writer: { room(): Promise<void> },
): AsyncGenerator<string> {
  let count = 0;
  for await (const target of targets) {
    if (done?.has(target)) continue;
    if (++count % 256 === 0) await writer.room();
    yield target;
  }
}

/** `serve` and `worker`: the service's entry point, with flags for the common settings. */
async function startService(
  role: 'all' | 'worker',
  flags: Record<string, string | undefined>,
  io: Io,
) {
  const settings: Record<string, string | undefined> = {
    PORT: flags.port,
    HOST: flags.host,
    HEADPROBE_CONCURRENCY: flags.concurrency,
    HEADPROBE_REDIS_URL: flags.redisUrl,
    HEADPROBE_ROLE: role === 'worker' ? 'worker' : flags.role,
  };
  for (const [name, value] of Object.entries(settings))
    if (value !== undefined) io.env[name] = value;
  await import('../server.js');
}

const EXAMPLES = `
Examples:
  headprobe example.com https://example.org/login 192.0.2.7:8443
  headprobe -l hosts.txt -c 200 -o csv -O results.csv
  cat hosts.txt | headprobe -X HEAD -H 'Accept: */*' -m 5 > results.jsonl
  headprobe -l hosts.txt --skip-done results.jsonl -O results.jsonl   # resume a cut-short run
  headprobe --resolve example.com:443:192.0.2.7 https://example.com/

Address policy: this is the operator's own tool, so like curl it dials any address,
private and loopback ones included. --deny-private applies the service's policy instead
(no loopback, private, link-local or metadata addresses).

Output: a table on a terminal, JSON Lines (the API's result shape) when piped; -o picks.
Targets that fail are data, not a failing exit.

Exit codes: 0 done (whatever the targets answered), 1 error (e.g. an unreadable file),
2 bad usage, 130 interrupted (Ctrl-C: running targets end "cancelled", output is flushed).
`;

export function buildProgram(io: Io, setExit: (code: number) => void): Command {
  const program = new Command('headprobe')
    .description(
      'Probe HTTP(S) targets in bulk: status line, headers, TLS and curl-grade timings, never the body.',
    )
    .version(packageVersion(), '-V, --version')
    // `serve -c 8` is the service's flag, not the probe's.
    .enablePositionalOptions()
    .argument('[targets...]', 'host, host:port or http(s) URL; also from -l FILE or stdin')
    .option('-l, --list <file>', 'read targets from FILE, one per line ("-" for stdin)')
    .option('-X, --method <method>', 'request method: GET or HEAD', 'GET')
    .option('-I, --head', 'same as -X HEAD')
    .option('-H, --header <header>', 'extra request header "Name: value" (repeatable)', collect)
    .option('--http1.0', 'send HTTP/1.0 requests')
    .option('--http1.1', 'HTTP/1.1 only (no h2 offered by ALPN)')
    .option('--http2', 'h2 where the server picks it by ALPN, else HTTP/1.1 (the default)')
    .option(
      '--http2-prior-knowledge',
      'HTTP/2 only: h2c on http, and on https a server without h2 is an error',
    )
    .option('--no-findings', 'no security findings, grade or technology hints')
    .option(
      '--cert-expiry-days <n>',
      'flag certificates that expire within N days (default 30)',
      positiveInt,
    )
    .option('-L, --location', 'follow redirects (up to 10)')
    .option('--max-redirs <n>', 'redirects to follow (0-10)', (value) => Number(value))
    .option(
      '--resolve <host:port:addr>',
      'pin a name to an address, as curl does (repeatable)',
      collect,
    )
    .option('-k, --insecure', 'do not fail https targets whose certificate does not verify')
    .option('-m, --max-time <seconds>', 'deadline per target (DNS to response head)', seconds, 10)
    .option('--connect-timeout <seconds>', 'longest a TCP connect may take (default 5)', seconds)
    .option('-c, --concurrency <n>', 'targets in flight at once', positiveInt, 500)
    .option('--per-destination <n>', 'targets in flight at once to one host:port', positiveInt, 6)
    .addOption(
      new Option('--parallel-max-host <n>', "curl's name for --per-destination")
        .argParser(positiveInt)
        .hideHelp(),
    )
    .option(
      '--dns-server <host[:port]>',
      'ask this DNS server instead of resolv.conf (repeatable)',
      collect,
    )
    .option('--no-dns-cache', 'ask the nameservers afresh for every target')
    .option(
      '--deny-private',
      "refuse private, loopback and metadata addresses (the service's policy)",
    )
    .addOption(new Option('-o, --output-format <format>', 'output format').choices(OUTPUT_FORMATS))
    .option(
      '-w, --write-out <format>',
      "print FORMAT per target, as curl's --write-out (@FILE reads it from FILE)",
    )
    .option('-O, --output <file>', 'write results to FILE (appended to with --skip-done)')
    .option('--skip-done <file>', 'skip targets already in this earlier JSON Lines output')
    .option('-s, --silent', 'no progress bar and no summary on stderr')
    .option(
      '--server <url>',
      'run the list as jobs on this headprobe service (key from HEADPROBE_API_KEY)',
    )
    .option('--job-size <n>', 'with --server: targets per job', positiveInt, 10_000)
    .addHelpText('after', EXAMPLES)
    .action(
      async (
        targets: string[],
        flags: Omit<ProbeFlags, 'given'> & { 'http1.0'?: boolean; 'http1.1'?: boolean },
        command: Command,
      ) => {
        const given = new Set(
          Object.keys(flags).filter((name) => command.getOptionValueSource(name) === 'cli'),
        );
        const http10 = flags['http1.0'];
        const http11 = flags['http1.1'];
        setExit(await probe(targets, { ...flags, http10, http11, given }, io));
      },
    );
  const serviceFlags = (command: Command) =>
    command
      .option('-p, --port <port>', 'port to listen on (PORT)')
      .option('--host <address>', 'address to listen on (HOST)')
      .option('-c, --concurrency <n>', 'global cap on targets in flight (HEADPROBE_CONCURRENCY)')
      .option('--redis-url <url>', 'share jobs through this Redis (HEADPROBE_REDIS_URL)')
      .addHelpText(
        'after',
        '\nEvery other setting comes from the environment, as for `npm start` (README).',
      );
  serviceFlags(program.command('serve').description('start the service (what `npm start` runs)'))
    .addOption(new Option('--role <role>', 'all, or api (HEADPROBE_ROLE)').choices(['all', 'api']))
    .action((flags) => startService('all', flags, io));
  serviceFlags(
    program.command('worker').description('start a worker: runs the queued jobs of a Redis'),
  ).action((flags) => startService('worker', flags, io));
  return program;
}

/**
 * Runs the command line: resolves with the exit code once a probe run (or --help) has
 * ended, or with null once `serve` or `worker` is up (the service then runs until a signal).
 */
export async function main(argv: readonly string[], io: Io): Promise<number | null> {
  let code: number | null = null;
  const program = buildProgram(io, (exit) => {
    code = exit;
  });
  program.exitOverride();
  program.configureOutput({
    writeOut: (text) => io.stdout.write(text),
    writeErr: (text) => io.stderr.write(text),
    outputError: (text, write) => write(text),
  });
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return code;
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version end here too, with code 0.
      return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    if (error instanceof UsageError) {
      io.stderr.write(`headprobe: ${error.message}\n`);
      return EXIT.usage;
    }
    const message = error instanceof Error ? error.message : String(error);
    io.stderr.write(`headprobe: ${message}\n`);
    return EXIT.error;
  }
}
