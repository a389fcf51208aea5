// Certificates minted at test time (ECDSA P-256, so generation takes milliseconds): a
// self-signed leaf, a CA and leaves it signs, with any validity window, for TLS tests.
// Must run before @peculiar/x509 loads: its DI container throws without Reflect metadata.
import 'reflect-metadata';
import { KeyObject, webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto);

export interface CertificateOptions {
  commonName: string;
  dnsNames?: string[];
  ipAddresses?: string[];
  /** Defaults to one day ago, so clock skew between runs never makes a fresh cert "not yet valid". */
  notBefore?: Date;
  /** Defaults to 30 days ahead; pass a past date for an expired certificate. */
  notAfter?: Date;
}

/** PEM strings, ready for `tls.createServer({ key, cert })`. */
export interface KeyAndCertificate {
  readonly key: string;
  readonly cert: string;
}

export interface CertificateAuthority extends KeyAndCertificate {
  /** Distinguished name the CA signs as, e.g. `CN=headprobe test CA`. */
  readonly subject: string;
  readonly signingKey: webcrypto.CryptoKey;
}

const dayMs = 24 * 60 * 60 * 1000;
const keyAlgorithm = { name: 'ECDSA', namedCurve: 'P-256' };
const signingAlgorithm = { name: 'ECDSA', hash: 'SHA-256' };

function generateKeys(): Promise<webcrypto.CryptoKeyPair> {
  return webcrypto.subtle.generateKey(keyAlgorithm, true, ['sign', 'verify']);
}

function privateKeyPem(key: webcrypto.CryptoKey): string {
  return KeyObject.from(key).export({ type: 'pkcs8', format: 'pem' }).toString();
}

function validity(options: Pick<CertificateOptions, 'notBefore' | 'notAfter'>): {
  notBefore: Date;
  notAfter: Date;
} {
  const now = Date.now();
  return {
    notBefore: options.notBefore ?? new Date(now - dayMs),
    notAfter: options.notAfter ?? new Date(now + 30 * dayMs),
  };
}

function distinguishedName(commonName: string): string {
  // The DN parser treats , + " \ as syntax; escaping them keeps odd test names literal.
  return `CN=${commonName.replace(/[,+"\\]/g, '\\$&')}`;
}

/** Extensions of a server certificate; modern verifiers match names against SANs only. */
async function leafExtensions(options: CertificateOptions, publicKey: webcrypto.CryptoKey) {
  const names: x509.JsonGeneralName[] = [
    ...(options.dnsNames ?? []).map((value) => ({ type: 'dns' as const, value })),
    ...(options.ipAddresses ?? []).map((value) => ({ type: 'ip' as const, value })),
  ];
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
    new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
    await x509.SubjectKeyIdentifierExtension.create(publicKey),
  ];
  if (names.length > 0) extensions.push(new x509.SubjectAlternativeNameExtension(names));
  return extensions;
}

/** A leaf that signs itself: clients that don't trust it report DEPTH_ZERO_SELF_SIGNED_CERT. */
export async function makeSelfSignedCertificate(
  options: CertificateOptions,
): Promise<KeyAndCertificate> {
  const keys = await generateKeys();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    name: distinguishedName(options.commonName),
    keys,
    signingAlgorithm,
    ...validity(options),
    extensions: await leafExtensions(options, keys.publicKey),
  });
  return { key: privateKeyPem(keys.privateKey), cert: cert.toString('pem') };
}

/** A root to pass as `ca` on the client, so certificates it signs verify. */
export async function makeCertificateAuthority(
  options: { commonName?: string; notBefore?: Date; notAfter?: Date } = {},
): Promise<CertificateAuthority> {
  const keys = await generateKeys();
  const subject = distinguishedName(options.commonName ?? 'headprobe test CA');
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    name: subject,
    keys,
    signingAlgorithm,
    ...validity(options),
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign,
        true,
      ),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return {
    key: privateKeyPem(keys.privateKey),
    cert: cert.toString('pem'),
    subject,
    signingKey: keys.privateKey,
  };
}

export async function makeSignedCertificate(
  ca: CertificateAuthority,
  options: CertificateOptions,
): Promise<KeyAndCertificate> {
  const keys = await generateKeys();
  const caCert = new x509.X509Certificate(ca.cert);
  const extensions = await leafExtensions(options, keys.publicKey);
  extensions.push(await x509.AuthorityKeyIdentifierExtension.create(caCert.publicKey));
  const cert = await x509.X509CertificateGenerator.create({
    subject: distinguishedName(options.commonName),
    issuer: caCert.subject,
    publicKey: keys.publicKey,
    signingKey: ca.signingKey,
    signingAlgorithm,
    ...validity(options),
    extensions,
  });
  return { key: privateKeyPem(keys.privateKey), cert: cert.toString('pem') };
}
