// TLS findings from certificates minted here and served on loopback, read through the real
// probe engine (tlsVerify off, so the response still arrives) and then analysed.
import type { AddressInfo } from 'node:net';
import * as tls from 'node:tls';
import { describe, expect, it } from 'vitest';
import { analyseHead } from '../../src/findings/index.js';
import { probeOnce } from '../../src/probe/index.js';
import type { ProbeContext } from '../../src/probe/probe.js';
import { ProbeOptions } from '../../src/schemas/probe-options.js';
import type { ProbeResult } from '../../src/schemas/probe-result.js';
import {
  type CertificateOptions,
  makeCertificateAuthority,
  makeSelfSignedCertificate,
  makeSignedCertificate,
} from '../support/certs.js';
import { onCleanup, track } from '../support/cleanup.js';
import { loopbackResolver } from '../support/loopback-resolver.js';
import { normalResponse, respondWith, startTlsServer } from '../support/servers.js';
import { analyse, headFacts, verifiedTls } from './head-facts.js';

const DAY_MS = 24 * 60 * 60 * 1000;
const resolver = loopbackResolver();

async function probeWith(
  cert: { key: string; cert: string },
  host: string,
  context: Partial<ProbeContext> = {},
): Promise<ProbeResult> {
  const server = await track(startTlsServer((socket) => respondWith(normalResponse)(socket), cert));
  const pins = host === '127.0.0.1' ? {} : { [`${host}:${server.port}`]: '127.0.0.1' };
  const options = ProbeOptions.parse({ tlsVerify: false, resolve: pins });
  const result = await probeOnce(`https://${host}:${server.port}/`, options, {
    resolver,
    ...context,
  });
  expect(result.ok, JSON.stringify(result.error)).toBe(true);
  return result;
}

function tlsIds(result: ProbeResult): string[] {
  const analysis = analyseHead(result, { certificateExpiryDays: 30 });
  return analysis.findings.filter((f) => f.category === 'tls').map((f) => f.id);
}

async function signedBy(options: CertificateOptions) {
  const ca = await makeCertificateAuthority();
  const leaf = await makeSignedCertificate(ca, options);
  return { leaf, trusting: { secureContext: tls.createSecureContext({ ca: ca.cert }) } };
}

describe('TLS findings from real handshakes', () => {
  it('a trusted, fresh certificate for the host gives none', async () => {
    const { leaf, trusting } = await signedBy({
      commonName: 'good.test',
      dnsNames: ['good.test'],
      notAfter: new Date(Date.now() + 90 * DAY_MS),
    });
    const result = await probeWith(leaf, 'good.test', trusting);
    expect(result.tls?.verified).toBe(true);
    expect(tlsIds(result)).toEqual([]);
  });

  it('tls-certificate-self-signed', async () => {
    const cert = await makeSelfSignedCertificate({
      commonName: 'self.test',
      ipAddresses: ['127.0.0.1'],
      notAfter: new Date(Date.now() + 90 * DAY_MS),
    });
    const result = await probeWith(cert, '127.0.0.1');
    expect(result.tls?.verifyError).toMatch(/SELF_SIGNED/);
    expect(tlsIds(result)).toEqual(['tls-certificate-self-signed']);
  });

  it('tls-certificate-expired (high), not also untrusted', async () => {
    const { leaf, trusting } = await signedBy({
      commonName: 'old.test',
      dnsNames: ['old.test'],
      notBefore: new Date('2020-01-01'),
      notAfter: new Date('2021-01-01'),
    });
    const result = await probeWith(leaf, 'old.test', trusting);
    expect(result.tls?.verifyError).toBe('CERT_HAS_EXPIRED');
    const analysis = analyseHead(result, { certificateExpiryDays: 30 });
    expect(analysis.findings.filter((f) => f.category === 'tls')).toEqual([
      {
        id: 'tls-certificate-expired',
        category: 'tls',
        severity: 'high',
        message: 'The certificate expired on 2021-01-01T00:00:00.000Z.',
        scoreModifier: 0,
        evidence: null,
      },
    ]);
  });

  it('tls-certificate-expiring (medium) in 10 days, with the days in the message', async () => {
    const { leaf, trusting } = await signedBy({
      commonName: 'soon.test',
      dnsNames: ['soon.test'],
      // Ten whole days and an hour: "10 days", as the CSV's certDaysLeft counts them.
      notAfter: new Date(Date.now() + 10 * DAY_MS + 3_600_000),
    });
    const result = await probeWith(leaf, 'soon.test', trusting);
    expect(result.tls?.verified).toBe(true);
    const [finding, ...rest] = analyseHead(result, { certificateExpiryDays: 30 }).findings.filter(
      (f) => f.category === 'tls',
    );
    expect(rest).toEqual([]);
    expect(finding).toMatchObject({ id: 'tls-certificate-expiring', severity: 'medium' });
    expect(finding?.message).toMatch(/^The certificate expires in 10 days \(/);
    // Outside the window: nothing.
    expect(
      analyseHead(result, { certificateExpiryDays: 7 }).findings.some((f) => f.category === 'tls'),
    ).toBe(false);
  });

  it('tls-hostname-mismatch from the certificate, whatever Node reported first', async () => {
    const { leaf, trusting } = await signedBy({
      commonName: 'other.test',
      dnsNames: ['other.test'],
    });
    const result = await probeWith(leaf, 'wanted.test', trusting);
    expect(result.tls?.verifyError).toBe('ERR_TLS_CERT_ALTNAME_INVALID');
    const analysis = analyseHead(result, { certificateExpiryDays: 1 });
    expect(analysis.findings.filter((f) => f.category === 'tls')).toMatchObject([
      {
        id: 'tls-hostname-mismatch',
        severity: 'high',
        message: expect.stringContaining('wanted.test'),
      },
    ]);
  });

  it('a self-signed, expired certificate for another name: all three, though Node names one', async () => {
    const cert = await makeSelfSignedCertificate({
      commonName: 'elsewhere.test',
      dnsNames: ['elsewhere.test'],
      notBefore: new Date('2020-01-01'),
      notAfter: new Date('2021-01-01'),
    });
    const result = await probeWith(cert, 'here.test');
    expect(tlsIds(result).sort()).toEqual([
      'tls-certificate-expired',
      'tls-certificate-self-signed',
      'tls-hostname-mismatch',
    ]);
  });

  it('IP literals are matched against IP SANs', async () => {
    const named = await makeSelfSignedCertificate({
      commonName: 'localhost',
      dnsNames: ['localhost'],
    });
    const ip = await probeWith(named, '127.0.0.1');
    expect(tlsIds(ip)).toContain('tls-hostname-mismatch');
    const withIp = await makeSelfSignedCertificate({
      commonName: 'localhost',
      dnsNames: ['localhost'],
      ipAddresses: ['127.0.0.1'],
    });
    expect(tlsIds(await probeWith(withIp, '127.0.0.1'))).not.toContain('tls-hostname-mismatch');
  });

  it('tls-certificate-untrusted for a chain to an unknown root', async () => {
    const { leaf } = await signedBy({ commonName: 'localhost', dnsNames: ['localhost'] });
    const result = await probeWith(leaf, 'localhost');
    expect(result.tls?.verifyError).toBe('UNABLE_TO_VERIFY_LEAF_SIGNATURE');
    const analysis = analyseHead(result, { certificateExpiryDays: 1 });
    expect(analysis.findings.filter((f) => f.category === 'tls')).toMatchObject([
      {
        id: 'tls-certificate-untrusted',
        message: expect.stringContaining('UNABLE_TO_VERIFY_LEAF_SIGNATURE'),
      },
    ]);
  });

  it('tls-protocol-outdated for a TLS 1.1 server', async () => {
    const cert = await makeSelfSignedCertificate({
      commonName: 'old.test',
      ipAddresses: ['127.0.0.1'],
      notAfter: new Date(Date.now() + 90 * DAY_MS),
    });
    const server = tls.createServer({
      ...cert,
      minVersion: 'TLSv1.1',
      maxVersion: 'TLSv1.1',
      ciphers: 'DEFAULT:@SECLEVEL=0',
    });
    server.on('secureConnection', (socket) => respondWith(normalResponse)(socket));
    server.on('tlsClientError', () => {});
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    onCleanup(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const { port } = server.address() as AddressInfo;
    const result = await probeOnce(
      `https://127.0.0.1:${port}/`,
      ProbeOptions.parse({ tlsVerify: false }),
      { resolver },
    );
    expect(result.tls?.protocol, JSON.stringify(result.error)).toBe('TLSv1.1');
    expect(tlsIds(result)).toEqual(['tls-certificate-self-signed', 'tls-protocol-outdated']);

    // A probe that verifies keeps Node's floor of TLS 1.2, and says how to reach the server.
    const verifying = await probeOnce(`https://127.0.0.1:${port}/`, ProbeOptions.parse({}), {
      resolver,
    });
    expect(verifying.error).toMatchObject({ code: 'tls_error', phase: 'tls' });
    expect(verifying.error!.message).toContain(
      'with tlsVerify false the probe reaches down to TLS 1.0',
    );
  });
});

describe('TLS findings from recorded facts', () => {
  const certificate = {
    subject: { CN: 'example.com' },
    issuer: { CN: 'Example CA' },
    subjectAltNames: ['DNS:example.com', 'DNS:*.example.com'],
    validFrom: '2026-01-01T00:00:00.000Z',
    validTo: '2026-06-01T00:00:00.000Z',
    serialNumber: '01',
    fingerprint256: 'AA',
  };
  const ids = (tlsOverrides: object, url = 'https://www.example.com/', now?: number) =>
    analyseHead(headFacts({ url, tls: { ...verifiedTls, certificate, ...tlsOverrides } }), {
      certificateExpiryDays: 30,
      now,
    })
      .findings.filter((f) => f.category === 'tls')
      .map((f) => f.id);

  it('wildcards cover one label only (judged when the chain did not verify)', () => {
    // A chain error hides a name error: Node reports only the first.
    const untrusted = { verified: false, verifyError: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' };
    expect(ids(untrusted)).toEqual(['tls-certificate-untrusted']);
    expect(ids(untrusted, 'https://a.b.example.com/')).toEqual([
      'tls-hostname-mismatch',
      'tls-certificate-untrusted',
    ]);
  });

  it('takes a verified session’s name as checked: Node checked it in the handshake', () => {
    expect(ids({}, 'https://a.b.example.com/')).toEqual([]);
  });

  it('the clock defaults to timing.startedAt; options.now overrides it', () => {
    expect(ids({})).toEqual([]);
    expect(ids({}, undefined, Date.parse('2026-05-25T00:00:00Z'))).toEqual([
      'tls-certificate-expiring',
    ]);
    expect(ids({}, undefined, Date.parse('2025-12-01T00:00:00Z'))).toEqual([
      'tls-certificate-not-yet-valid',
    ]);
  });

  it.each(['SSLv3', 'TLSv1', 'TLSv1.1'])('%s is outdated', (protocol) => {
    expect(ids({ protocol })).toEqual(['tls-protocol-outdated']);
  });

  it("Node's message strings are understood as well as its codes", () => {
    expect(ids({ verified: false, verifyError: 'self-signed certificate' })).toEqual([
      'tls-certificate-self-signed',
    ]);
    expect(ids({ verified: false, verifyError: 'unable to verify the first certificate' })).toEqual(
      ['tls-certificate-untrusted'],
    );
    expect(
      ids({ verified: false, verifyError: 'certificate has expired', certificate: null }),
    ).toEqual(['tls-certificate-expired']);
    expect(
      ids({
        verified: false,
        verifyError:
          "Hostname/IP does not match certificate's altnames: Host: a. is not in the cert's altnames",
        certificate: null,
      }),
    ).toEqual(['tls-hostname-mismatch']);
  });

  it('no TLS facts, no TLS findings', () => {
    expect(
      analyse(headFacts({ url: 'http://example.com/' })).findings.some((f) => f.category === 'tls'),
    ).toBe(false);
  });
});
