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
    const chunks: Buffer[] = [];
    let received = 0;
    let settled = false;
    const settle = (reply: TcpReply): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(reply);
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
      chunks.push(chunk);
      received += chunk.length;
      if (received < 2) return;
      const whole = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
      const expected = whole.readUInt16BE(0);
      // The length prefix caps the reply at 65,535 bytes: nothing beyond it is kept.
      if (whole.length >= expected + 2) {
        settle({ ok: true, message: whole.subarray(2, expected + 2) });
      } else {
        chunks.length = 0;
        chunks.push(whole);
      }
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
