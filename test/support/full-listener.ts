// A real listener that never accepts (python3, since Node's servers accept on their own):
// once its queue is full the kernel drops further SYNs, so a connect to it hangs, the way a
// silent host's would, without leaving loopback.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import * as net from 'node:net';

export interface FullListener {
  readonly port: number;
  close(): Promise<void>;
}

export async function startFullListener(host: '127.0.0.1' | '::1'): Promise<FullListener> {
  const family = host === '::1' ? 'socket.AF_INET6' : 'socket.AF_INET';
  const child = spawn('python3', [
    '-c',
    `import socket,sys\ns=socket.socket(${family})\ns.bind(("${host}",0))\ns.listen(0)\n` +
      'print(s.getsockname()[1],flush=True)\nsys.stdin.read()',
  ]);
  const [line] = (await once(child.stdout, 'data')) as [Buffer];
  const port = Number(line.toString().trim());
  // listen(0) queues one connection (and Linux one more): fill the queue.
  const fillers = [0, 1, 2].map(() => net.connect({ host, port }).on('error', () => {}));
  await once(fillers[0]!, 'connect');
  return {
    port,
    async close() {
      for (const filler of fillers) filler.destroy();
      child.kill();
      if (child.exitCode === null && child.signalCode === null) await once(child, 'exit');
    },
  };
}
