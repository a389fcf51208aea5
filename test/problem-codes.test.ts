// The catalog of problem codes is the contract: every code the service sends is in it (the
// types see to that for ServiceErrors and hand-built problems; this scan also catches a
// code written where the types do not look), and the README's table lists each with the
// catalog's statuses and title.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROBLEMS, type ProblemCode } from '../src/errors.js';

describe('the problem code catalog', () => {
  const root = new URL('..', import.meta.url).pathname;
  const sources = (dir: string): string[] =>
    readdirSync(join(root, dir), { recursive: true, encoding: 'utf8' })
      // The probe's own error codes are results, not problems.
      .filter((file) => file.endsWith('.ts') && !file.startsWith('probe/'))
      .filter((file) => !file.endsWith('result-json.ts') && file !== 'errors.ts')
      .map((file) => readFileSync(join(root, dir, file), 'utf8'));

  it('holds every code the service sends', () => {
    const text = [...sources('src'), ...sources('routes')].join('\n');
    // super('code', …), sendProblem(reply, 'code'…), code: '…' (pairs typed ProblemCode the
    // compiler checks).
    const used = new Set(
      [
        ...text.matchAll(/super\(\s*'([a-z_]+)',/g),
        ...text.matchAll(
          /(?:sendProblem\(reply|rawProblemResponse\(|problemJson\()\s*'([a-z_]+)'/g,
        ),
        ...text.matchAll(/code: '([a-z_]+)'/g),
      ].map((match) => match[1]!),
    );
    expect(used.size).toBeGreaterThan(5);
    for (const code of used) expect(Object.keys(PROBLEMS), code).toContain(code);
  });

  it('has no code the service never sends', () => {
    const text = [...sources('src'), ...sources('routes')].join('\n');
    for (const code of Object.keys(PROBLEMS)) expect(text, code).toContain(`'${code}'`);
  });

  it('is the README’s table: each code with its statuses and title', () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    for (const [code, definition] of Object.entries(PROBLEMS) as Array<
      [ProblemCode, (typeof PROBLEMS)[ProblemCode]]
    >) {
      const statuses = [
        definition.status,
        ...('otherStatuses' in definition ? definition.otherStatuses : []),
      ].join(', ');
      expect(readme, code).toContain(`| ${statuses} | \`${code}\` | ${definition.title} |`);
    }
  });

  it('sends each code only with its own statuses', async () => {
    const { ServiceError } = await import('../src/errors.js');
    expect(() => new ServiceError('job_not_found', 'x', { status: 500 })).toThrow(RangeError);
    const error = new ServiceError('too_many_streams', 'x', { status: 503 });
    expect([error.statusCode, error.title]).toEqual([503, 'Too many result streams']);
  });
});
