// A TCP proxy in front of a service that cuts the first event stream (/events) it carries
// once so many result events have gone through: how the tests drop a follower's connection
// mid-job, at a known point, to see it resume with Last-Event-ID.
import { once } from 'node:events';
import { type AddressInfo, createServer, type Socket, connect as tcpConnect } from 'node:net';

/**
 * A TCP proxy to `port` that cuts the first event stream it carries once `cutAfter` result
 * events have gone through, and keeps every request head it saw.
 */
export async function cuttingProxy(port: number, cutAfter: number) {
  const heads: string[] = [];
  let cut = false;
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = tcpConnect(port, '127.0.0.1');
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('error', () => {});
      socket.once('close', () => sockets.delete(socket));
    }
    let head = '';
    let results = 0;
    client.on('data', (chunk: Buffer) => {
      head += chunk.toString('latin1');
      if (head.includes('\r\n\r\n') && !heads.includes(head)) heads.push(head);
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      client.write(chunk);
      if (cut || !head.includes('/events')) return;
      results += chunk.toString('utf8').split('event: result').length - 1;
      if (results >= cutAfter) {
        cut = true;
        client.destroy();
        upstream.destroy();
      }
    });
    client.once('end', () => upstream.end());
    upstream.once('end', () => client.end());
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    heads,
    wasCut: () => cut,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
