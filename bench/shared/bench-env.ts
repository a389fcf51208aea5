// What both benchmarks need from their surroundings: where the repo is, a log line, a tool's
// version, and options gathered from argv flags or environment variables.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import type { z } from 'zod';

export function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

/**
 * The repo root holds bench/shared/rusage.py; found by walking up, so this works from the
 * sources and from the bench build (which may hold its own package.json, copied there by
 * resolveJsonModule).
 */
export function findRoot(start: string): string {
  let dir = start;
  for (let depth = 0; depth < 8; depth++) {
    if (existsSync(path.join(dir, 'bench', 'shared', 'rusage.py'))) return dir;
    dir = path.dirname(dir);
  }
  throw new Error(`no bench/shared/rusage.py above ${start}`);
}

/** bench/FILE.ts as `npm run build:bench` (tsconfig.bench.json) emits it: dist-bench/bench/FILE.js. */
export function builtBenchScript(root: string, file: string): string {
  return path.join(root, 'dist-bench', 'bench', file);
}

/** The first line a command prints (stdout, then stderr), e.g. its version. */
export function firstLine(command: string, args: string[]): string {
  const result = spawnSync(command, args, { encoding: 'utf8', timeout: 10_000 });
  return `${result.stdout ?? ''}${result.stderr ?? ''}`.trim().split('\n')[0] ?? '';
}

/** One line on where the figures came from: cores, kernel, Node, curl, Python, load. */
export function machineLine(python: string): string {
  return (
    `machine: ${os.cpus().length} cores, Linux ${os.release()}, node ${process.version}, ` +
    `${firstLine('curl', ['--version']).split(' ').slice(0, 2).join(' ')}, ` +
    `${firstLine(python, ['--version'])} (${python}), load average ${os.loadavg()[0]?.toFixed(2)} at start`
  );
}

/** The process's open-file limit: C connections in flight need C descriptors and more. */
export function openFileLimit(): number {
  const out = spawnSync('sh', ['-c', 'ulimit -n'], { encoding: 'utf8' }).stdout.trim();
  return out === 'unlimited' ? Number.POSITIVE_INFINITY : Number(out);
}

/**
 * Reads `--flag value` options and their environment twins into raw strings for a schema:
 * a flag beats its variable, empty values are dropped. `--help` prints `usage` and exits.
 */
export function rawOptions(
  argv: string[],
  env: NodeJS.ProcessEnv,
  sources: Record<string, readonly [flag: string, variable: string]>,
  usage: string,
  booleanFlags: readonly string[] = [],
): { raw: Record<string, unknown>; flags: Record<string, string | boolean | undefined> } {
  const options: Record<string, { type: 'string' | 'boolean'; short?: string }> = {
    help: { type: 'boolean', short: 'h' },
  };
  for (const [flag] of Object.values(sources)) options[flag] = { type: 'string' };
  for (const flag of booleanFlags) options[flag] = { type: 'boolean' };
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({ args: argv, options, strict: true }));
  } catch (err) {
    throw new Error(`${err instanceof Error ? err.message : String(err)}\n${usage}`);
  }
  if (values.help) {
    process.stdout.write(`${usage}\n`);
    process.exit(0);
  }
  const raw: Record<string, unknown> = {};
  for (const [key, [flag, variable]] of Object.entries(sources)) {
    const fromArgv = values[flag];
    const value = typeof fromArgv === 'string' ? fromArgv : env[variable];
    if (value !== undefined && value !== '') raw[key] = value;
  }
  return { raw, flags: values };
}

/**
 * `rawOptions` validated by `schema` into a frozen object; a bad value fails with the flag and
 * variable it came from, and the usage.
 */
export function parseBenchFlags<Schema extends z.ZodType<Record<string, unknown>>>(
  schema: Schema,
  argv: string[],
  env: NodeJS.ProcessEnv,
  sources: Record<string, readonly [flag: string, variable: string]>,
  usage: string,
): Readonly<z.infer<Schema>> {
  const { raw } = rawOptions(argv, env, sources, usage);
  return validatedOptions(schema, raw, sources, usage);
}

/** Raw option values validated by `schema`; a bad one fails naming its flag and variable. */
export function validatedOptions<Schema extends z.ZodType<Record<string, unknown>>>(
  schema: Schema,
  raw: Record<string, unknown>,
  sources: Record<string, readonly [flag: string, variable: string]>,
  usage: string,
): Readonly<z.infer<Schema>> {
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const key = String(issue.path[0]);
      const [flag, variable] = sources[key] ?? [key, key];
      return `--${flag} / ${variable}: ${issue.message}`;
    });
    throw new Error(`bad bench options:\n  ${problems.join('\n  ')}\n${usage}`);
  }
  return Object.freeze(parsed.data);
}

/** Writes a bench's report to `resultsDir/table.md` and stdout, and says where it went. */
export async function publishReport(
  resultsDir: string,
  sections: readonly string[],
  note = '',
): Promise<void> {
  const report = `${sections.join('\n')}\n`;
  await writeFile(path.join(resultsDir, 'table.md'), report);
  process.stdout.write(`\n${report}`);
  log(`results: ${path.relative(process.cwd(), resultsDir) || resultsDir}${note}`);
}

/** Runs a bench's main: a failure is one line on stderr (with the stack if asked) and exit 1. */
export function runBench(main: () => Promise<void>, withStack = false): void {
  main().catch((err: unknown) => {
    log(
      err instanceof Error ? (withStack ? (err.stack ?? err.message) : err.message) : String(err),
    );
    process.exitCode = 1;
  });
}
