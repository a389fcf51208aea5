// The `headprobe` command's process: runs main() on this process's streams and exits with its
// code once stdout has taken everything (a service started by `serve` keeps the process).
import { main } from './main.js';

const code = await main(process.argv.slice(2), {
  stdin: process.stdin,
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
});
if (code !== null) {
  // The resolver's sockets and the like would keep the loop alive: exit once output is out.
  process.stdout.write('', () => process.exit(code));
}
