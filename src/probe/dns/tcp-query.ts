// One DNS question over TCP (RFC 7766), for answers too big for UDP: a two-byte length, the
// message, and the reply read the same way, within a timeout and at most 64 KB.
import { connect } from 'node:net';
import type { DnsServerAddress } from './resolv-conf.js';

export type TcpReply =
  | { readonly ok: true; readonly message: Buffer }
  | { readonly ok: false; readonly timedOut: boolean; readonly message: string };

/** Never rejects. */
export function queryOverTcp(
  server: DnsServerAddress,
  packet: Buffer,
  timeoutMs: number,
): Promise<TcpReply> {
  return new Promise((resolve) => {
    const socket = connect({ host: server.host, port: server.port, family: server.family });
    // The length prefix caps the reply at 65,535 bytes; it is read into one buffer of that size.
    const prefix = Buffer.alloc(2);
    let prefixRead = 0;
    let reply: Buffer | null = null;
    let replyRead = 0;
    let settled = false;
    const settle = (result: TcpReply): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    const timer = setTimeout(
      () => settle({ ok: false, timedOut: true, message: 'DNS over TCP timed out' }),
      timeoutMs,
    );
    socket.on('connect', () => {
      const length = Buffer.allocUnsafe(2);
      length.writeUInt16BE(packet.length, 0);
      // No half-close: some servers drop a connection on FIN before they answer.
      socket.write(Buffer.concat([length, packet]));
    });
    socket.on('data', (chunk: Buffer) => {
      let at = 0;
      while (prefixRead < 2 && at < chunk.length) prefix[prefixRead++] = chunk[at++]!;
      if (prefixRead < 2) return;
      reply ??= Buffer.allocUnsafe(prefix.readUInt16BE(0));
      replyRead += chunk.copy(reply, replyRead, at);
      if (replyRead === reply.length) settle({ ok: true, message: reply });
    });
    socket.on('error', (error: NodeJS.ErrnoException) =>
      settle({
        ok: false,
        timedOut: false,
        message: `DNS over TCP failed (${error.code ?? 'error'})`,
      }),
    );
    socket.on('close', () =>
      settle({ ok: false, timedOut: false, message: 'DNS server closed the TCP connection early' }),
    );
  });
}
