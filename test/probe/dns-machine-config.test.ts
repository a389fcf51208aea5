// The default resolver path for real: in a network namespace with its own resolv.conf and
// hosts file, the builtin resolver (no settings) and getaddrinfo find the same names.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNetns, netnsUnavailable, type TestNetns } from '../support/netns.js';

const run = promisify(execFile);
const unavailable = netnsUnavailable();
if (unavailable !== null) {
  console.warn(`SKIPPED: the resolv.conf path in a network namespace (${unavailable})`);
}

describe.skipIf(unavailable !== null)('the machine resolver configuration', () => {
  let netns: TestNetns;
  beforeAll(() => {
    netns = createNetns({
      resolvConf: 'nameserver 127.0.0.1\nsearch corp.test\noptions ndots:1 timeout:1\n',
      hosts: '127.0.0.1 localhost\n127.0.0.7 fromhosts.test\n',
    });
  });
  afterAll(() => netns?.remove());

  it('resolves as the machine is configured: hosts file, nameserver, search list', async () => {
    const { stdout } = await run(
      netns.exec[0]!,
      [
        ...netns.exec.slice(1),
        process.execPath,
        '--import',
        'tsx',
        'test/support/netns-resolve.ts',
        'plain.test',
        'fromhosts.test',
        'intranet',
        'missing.test',
      ],
      { timeout: 20_000 },
    );
    const lines = stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    const byName = new Map(lines.filter((l) => l.name).map((l) => [l.name, l]));
    expect(byName.get('plain.test')).toMatchObject({
      builtin: { ok: true, facts: { source: 'dns', addresses: [{ address: '127.0.0.2' }] } },
      system: { ok: true, addresses: [{ address: '127.0.0.2' }] },
    });
    expect(byName.get('fromhosts.test')).toMatchObject({
      builtin: { ok: true, facts: { source: 'hosts', addresses: [{ address: '127.0.0.7' }] } },
      system: { ok: true, addresses: [{ address: '127.0.0.7' }] },
    });
    expect(byName.get('intranet')).toMatchObject({
      builtin: { ok: true, facts: { name: 'intranet.corp.test' } },
      system: { ok: true, addresses: [{ address: '127.0.0.3' }] },
    });
    expect(byName.get('missing.test')).toMatchObject({
      builtin: { ok: false, code: 'dns_not_found' },
      system: { ok: false, code: 'dns_not_found' },
    });
    // The builtin resolver asked nothing for the hosts-file name.
    const asked = lines.at(-1).queries.map((q: { name: string }) => q.name);
    expect(asked).not.toContain('fromhosts.test');
    expect(asked).toContain('plain.test');
  });
});
