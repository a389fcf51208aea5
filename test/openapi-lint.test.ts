// The committed document passes the linters users point at a service: Redocly's recommended
// rules and Spectral's spectral:oas (.spectral.yaml says which rule is off and why), both
// pinned as dev dependencies and run from node_modules.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = new URL('..', import.meta.url).pathname;
const bin = (name: string) => `${root}node_modules/.bin/${name}`;
// No network here: no telemetry, no update check.
const env = { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' };

async function lint(command: string, args: string[]) {
  try {
    const { stdout, stderr } = await run(bin(command), args, { cwd: root, env });
    return { code: 0, output: stdout + stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? 1, output: (failed.stdout ?? '') + (failed.stderr ?? '') };
  }
}

describe('the OpenAPI document under linters', () => {
  it('passes Redocly’s recommended rules with no error or warning', async () => {
    const { code, output } = await lint('redocly', ['lint', 'openapi/openapi.json']);
    expect(output).toContain('Your API description is valid');
    // Findings are `line:col  error|warning  rule  message` (a Node version banner is not one).
    expect(output).not.toMatch(/^\s*\d+:\d+\s+(error|warning)\s/m);
    expect(code).toBe(0);
  }, 60_000);

  it('passes Spectral’s spectral:oas with no error or warning', async () => {
    const { code, output } = await lint('spectral', [
      'lint',
      '--ruleset',
      '.spectral.yaml',
      '--fail-severity',
      'warn',
      'openapi/openapi.json',
    ]);
    expect(output, output).toContain('No results with a severity of');
    expect(code).toBe(0);
  }, 60_000);
});
