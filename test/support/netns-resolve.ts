// Run inside a test's network namespace: serves a zone on 127.0.0.1:53 (the namespace's
// resolv.conf names it), resolves each name given on the command line with the resolver the
// service builds by default, and with HEADPROBE_DNS=system, and prints one JSON line each.
import { createDnsResolver } from '../../src/probe/dns/index.js';
import { startDnsServer } from './dns-server.js';

const server = await startDnsServer(
  {
    'plain.test': { A: ['127.0.0.2'] },
    'intranet.corp.test': { A: ['127.0.0.3'] },
  },
  { port: 53 },
);
const builtin = createDnsResolver();
const system = createDnsResolver({ mode: 'system' });
for (const name of process.argv.slice(2)) {
  const [viaBuiltin, viaSystem] = await Promise.all([builtin.resolve(name), system.resolve(name)]);
  console.log(JSON.stringify({ name, builtin: viaBuiltin, system: viaSystem }));
}
console.log(JSON.stringify({ queries: server.queries }));
await builtin.close?.();
await server.close();
