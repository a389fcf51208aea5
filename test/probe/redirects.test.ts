// Redirect following: every hop parsed, vetted and dialled like a new target; loops, limits,
// bad Locations and downgrades reported; the chain carried in the result.
import type { Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createAddressPolicy } from '../../src/policy/address-policy.js';
import { defaultProbeLimits, probeTarget } from '../../src/probe/index.js';
import { ProbeOptions, type ProbeOptionsInput } from '../../src/schemas/probe-options.js';
import { makeSelfSignedCertificate } from '../support/certs.js';
import { loopbackResolver } from '../support/loopback-resolver.js';
import {
  normalResponse,
  onRequestHead,
  respondWith,
  startTcpServer,
  startTlsServer,
} from '../support/servers.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((close) => close()));
});

const redirectTo = (location: string, status = 302) =>
  respondWith(`HTTP/1.1 ${status} Moved\r\nLocation: ${location}\r\nContent-Length: 0\r\n\r\n`);

async function server(handler: (socket: Socket) => void, host = '127.0.0.1') {
  const handle = await startTcpServer(handler, { host });
  cleanups.push(() => handle.close());
  return handle;
}

const context = {
  resolver: loopbackResolver(),
  limits: { ...defaultProbeLimits, headersTimeoutMs: 1000 },
  policy: createAddressPolicy({ allowCidrs: ['127.0.0.1/32'] }),
};
const probe = (target: string, options: ProbeOptionsInput) =>
  probeTarget(target, ProbeOptions.parse(options), context);

describe('followRedirects', () => {
  it('is off by default: a 302 is the result', async () => {
    const a = await server(redirectTo('/elsewhere'));
    const result = await probe(`127.0.0.1:${a.port}`, {});
    expect(result).toMatchObject({ ok: true, status: 302, redirects: [] });
  });

  it('follows a chain, absolute and relative, and reports each hop', async () => {
    const final = await server(respondWith(normalResponse));
    const middle = await server(redirectTo(`http://127.0.0.1:${final.port}/landing?x=1`, 301));
    const first = await server(redirectTo(`http://127.0.0.1:${middle.port}/step`));
    const result = await probe(`127.0.0.1:${first.port}`, { followRedirects: 5 });
    expect(result).toMatchObject({
      target: `127.0.0.1:${first.port}`,
      ok: true,
      status: 200,
      finalUrl: `http://127.0.0.1:${final.port}/landing?x=1`,
      error: null,
    });
    expect(result.redirects.map((hop) => [hop.status, hop.url, hop.downgrade])).toEqual([
      [302, `http://127.0.0.1:${first.port}/`, false],
      [301, `http://127.0.0.1:${middle.port}/step`, false],
    ]);
    expect(result.redirects[0]?.timing.total).toBeGreaterThan(0);
  });

  it('reports a loop, a hop limit and a Location that is not http(s)', async () => {
    const loop = await server(redirectTo('/'));
    expect((await probe(`127.0.0.1:${loop.port}`, { followRedirects: 5 })).error).toMatchObject({
      code: 'redirect_loop',
      phase: 'redirect',
    });
    let hops = 0;
    const endless = await server((socket) =>
      onRequestHead(socket, () => {
        hops++;
        socket.end(`HTTP/1.1 302 Found\r\nLocation: /hop${hops}\r\n\r\n`);
      }),
    );
    const limited = await probe(`127.0.0.1:${endless.port}`, { followRedirects: 2 });
    expect(limited.error?.code).toBe('too_many_redirects');
    expect(limited.redirects).toHaveLength(2);
    expect(hops).toBe(3);
    const ftp = await server(redirectTo('ftp://127.0.0.1/file'));
    expect((await probe(`127.0.0.1:${ftp.port}`, { followRedirects: 2 })).error?.code).toBe(
      'invalid_redirect',
    );
  });

  it('vets every hop: a redirect to a denied address is blocked without a packet', async () => {
    const hidden = await server(respondWith(normalResponse), '127.0.0.2');
    const bouncer = await server(redirectTo(`http://127.0.0.2:${hidden.port}/admin`));
    const result = await probe(`127.0.0.1:${bouncer.port}`, { followRedirects: 3 });
    expect(result.error).toMatchObject({ code: 'blocked_by_policy', phase: 'connect' });
    expect(result.redirects).toHaveLength(1);
    expect(hidden.connections).toBe(0);
  });

  it('flags an https → http downgrade', async () => {
    const plain = await server(respondWith(normalResponse));
    const cert = await makeSelfSignedCertificate({ commonName: 'x', ipAddresses: ['127.0.0.1'] });
    const secure = await startTlsServer(
      (socket) => redirectTo(`http://127.0.0.1:${plain.port}/`)(socket),
      cert,
    );
    cleanups.push(() => secure.close());
    const result = await probe(`https://127.0.0.1:${secure.port}/`, {
      followRedirects: 2,
      tlsVerify: false,
    });
    expect(result).toMatchObject({ ok: true, status: 200, tls: null });
    expect(result.redirects[0]).toMatchObject({ status: 302, downgrade: true });
  });

  it('keeps the whole chain within the first target’s deadline', async () => {
    const silent = await server(() => {});
    const bouncer = await server(redirectTo(`http://127.0.0.1:${silent.port}/`));
    const result = await probe(`127.0.0.1:${bouncer.port}`, { followRedirects: 2, timeoutMs: 300 });
    expect(result.error?.code).toBe('deadline_exceeded');
    const spent = result.redirects[0]!.timing.total + result.timing.total;
    expect(spent).toBeLessThan(300 + 50);
  });
});
