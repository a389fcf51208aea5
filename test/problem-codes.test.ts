// The catalog of problem codes is the contract: every code the service sends is in it, and
// the README's table lists each. (Its own file: importing the schema module ahead of the app
// changes the order zod registers schemas in, and with it the generated OpenAPI document.)
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROBLEM_CODES } from '../src/schemas/problem.js';

describe('the problem code catalog', () => {
  const root = new URL('..', import.meta.url).pathname;
  const sources = (dir: string): string[] =>
    readdirSync(join(root, dir), { recursive: true, encoding: 'utf8' })
      // The probe's own error codes are results, not problems.
      .filter((file) => file.endsWith('.ts') && !file.startsWith('probe/'))
      .filter((file) => !file.endsWith('result-json.ts'))
      .map((file) => readFileSync(join(root, dir, file), 'utf8'));

  it('holds every code the service sends, and the README lists each', () => {
    const text = [...sources('src'), ...sources('routes')].join('\n');
    // ServiceError subclasses: super('code', status, …); problems built by hand: code: '…'.
    const used = new Set(
      [
        ...text.matchAll(/super\(\s*'([a-z_]+)',\s*(?:\d{3}|scope)/g),
        ...text.matchAll(/\[\d{3}, '([a-z_]+)'/g),
      ].map((match) => match[1]!),
    );
    for (const match of text.matchAll(/code: '([a-z_]+)'/g)) used.add(match[1]!);
    expect(used.size).toBeGreaterThan(15);
    for (const code of used) expect(Object.keys(PROBLEM_CODES), code).toContain(code);
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    for (const code of Object.keys(PROBLEM_CODES)) {
      expect(readme, code).toMatch(new RegExp(`\\| \`${code}\` \\|`));
    }
  });
});
