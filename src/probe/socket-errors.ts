// Maps what the socket layer throws at a probe onto the closed error taxonomy.
// Messages name the condition, not internals, and never echo target-controlled bytes.
import type { ProbeErrorCode, ProbePhase } from '../schemas/probe-result.js';

export interface ClassifiedError {
  readonly code: ProbeErrorCode;
  readonly message: string;
}

const BY_ERRNO: Record<string, ClassifiedError> = {
  ECONNREFUSED: { code: 'connection_refused', message: 'connection refused' },
  ECONNRESET: { code: 'connection_reset', message: 'connection reset by peer' },
  EPIPE: { code: 'connection_reset', message: 'connection closed by peer while sending' },
  ECONNABORTED: { code: 'connection_reset', message: 'connection aborted' },
  EHOSTUNREACH: { code: 'network_unreachable', message: 'host unreachable' },
  ENETUNREACH: { code: 'network_unreachable', message: 'network unreachable' },
  EHOSTDOWN: { code: 'network_unreachable', message: 'host is down' },
  ENETDOWN: { code: 'network_unreachable', message: 'network is down' },
  EADDRNOTAVAIL: { code: 'network_unreachable', message: 'address not available' },
  // The service's own shortage, not the target's doing: said plainly.
  EMFILE: { code: 'internal_error', message: 'the service ran out of file descriptors' },
  ENFILE: { code: 'internal_error', message: 'the system ran out of file descriptors' },
};

const OLD_PROTOCOL_ERRORS = new Set([
  'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION',
  'ERR_SSL_UNSUPPORTED_PROTOCOL',
]);

export function classifySocketError(error: unknown, phase: ProbePhase): ClassifiedError {
  const code = (error as NodeJS.ErrnoException | null)?.code ?? '';
  const known = BY_ERRNO[code];
  if (known) return known;
  if (code === 'ETIMEDOUT') {
    if (phase === 'connect')
      return { code: 'connect_timeout', message: 'connect timed out (kernel)' };
    if (phase === 'tls') return { code: 'tls_timeout', message: 'connection timed out during TLS' };
    return { code: 'headers_timeout', message: 'connection timed out' };
  }
  // OpenSSL failures after the handshake (bad record MAC, a fatal alert) are the peer's TLS too.
  if (phase === 'tls' || code.startsWith('ERR_SSL_') || code === 'EPROTO') {
    // OpenSSL errors carry a short `reason` ("wrong version number"); the message is a dump.
    const reason = (error as { reason?: unknown } | null)?.reason;
    const detail = typeof reason === 'string' ? reason : code || 'handshake failed';
    // A probe that verifies speaks TLS 1.2 and up only; one that does not goes down to 1.0.
    const hint = OLD_PROTOCOL_ERRORS.has(code)
      ? ' (the server has no TLS 1.2 or 1.3; with tlsVerify false the probe reaches down to TLS 1.0)'
      : '';
    return { code: 'tls_error', message: `TLS handshake failed: ${detail}${hint}` };
  }
  return { code: 'internal_error', message: `socket error ${code || 'without code'}` };
}
