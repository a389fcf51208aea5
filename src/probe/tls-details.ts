// What a probe reports about a TLS session: protocol, cipher, ALPN, the peer
// certificate, and whether it verified (and if not, why), read once after the handshake.
import type { PeerCertificate, TLSSocket } from 'node:tls';
import type { TlsCertificate, TlsDetails } from '../schemas/probe-result.js';

type NameRecord = TlsCertificate['subject'];

function copyNames(names: PeerCertificate['subject'] | undefined): NameRecord {
  // Node hands out null-prototype objects; copy into plain JSON-friendly records.
  const out: NameRecord = {};
  if (names) {
    for (const [key, value] of Object.entries(names)) if (value !== undefined) out[key] = value;
  }
  return out;
}

function toIsoDate(opensslDate: string): string {
  const parsed = new Date(opensslDate);
  return Number.isNaN(parsed.getTime()) ? new Date(0).toISOString() : parsed.toISOString();
}

function describeCertificate(cert: PeerCertificate): TlsCertificate | null {
  if (!cert || Object.keys(cert).length === 0) return null;
  return {
    subject: copyNames(cert.subject),
    issuer: copyNames(cert.issuer),
    subjectAltNames: cert.subjectaltname ? cert.subjectaltname.split(', ') : [],
    validFrom: toIsoDate(cert.valid_from),
    validTo: toIsoDate(cert.valid_to),
    serialNumber: cert.serialNumber,
    fingerprint256: cert.fingerprint256,
  };
}

export function describeTlsSession(socket: TLSSocket, servername: string | null): TlsDetails {
  const error = socket.authorizationError as unknown;
  return {
    protocol: socket.getProtocol() ?? null,
    cipher: socket.getCipher()?.name ?? null,
    alpn: typeof socket.alpnProtocol === 'string' ? socket.alpnProtocol : null,
    servername,
    verified: socket.authorized,
    verifyError: socket.authorized
      ? null
      : error instanceof Error
        ? error.message
        : String(error ?? 'unknown'),
    certificate: describeCertificate(socket.getPeerCertificate(false)),
  };
}
