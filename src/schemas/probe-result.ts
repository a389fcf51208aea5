// The wire shape of one probed target. The probe engine builds values of these
// types; the job API (later) serialises and documents them from the same schemas.
import { z } from 'zod';
import { AltSvc, Finding, Grade, Technology } from './findings.js';

/** Closed taxonomy of per-target failures. Clients switch on these; never rename one. */
export const probeErrorCodes = [
  'invalid_target',
  'blocked_by_policy',
  'dns_not_found',
  'dns_timeout',
  'dns_error',
  'connection_refused',
  'connection_reset',
  'connection_closed',
  'connect_timeout',
  'network_unreachable',
  'tls_error',
  'tls_timeout',
  'headers_timeout',
  'header_overflow',
  'protocol_error',
  'not_http',
  'http2_not_negotiated',
  'cancelled',
  'deadline_exceeded',
  'too_many_redirects',
  'redirect_loop',
  'invalid_redirect',
  'internal_error',
] as const;
export const ProbeErrorCode = z.enum(probeErrorCodes);
export type ProbeErrorCode = z.infer<typeof ProbeErrorCode>;

export const probePhases = [
  'queued',
  'parse',
  'dns',
  'connect',
  'tls',
  'request',
  'headers',
  'redirect',
] as const;
export const ProbePhase = z.enum(probePhases);
export type ProbePhase = z.infer<typeof ProbePhase>;

export const ProbeError = z
  .object({
    code: ProbeErrorCode,
    phase: ProbePhase.describe('The step the target was in when it failed.'),
    message: z.string(),
  })
  .meta({ id: 'ProbeError' });
export type ProbeError = z.infer<typeof ProbeError>;

const milliseconds = z.number().nonnegative();
const milestone = milliseconds.nullable();

export const ProbeTiming = z
  .object({
    startedAt: z.iso.datetime().describe('Wall-clock time the probe started.'),
    namelookup: milestone.describe('curl time_namelookup: start → name resolved (0 for an IP).'),
    connect: milestone.describe('curl time_connect: start → TCP connected.'),
    appconnect: milestone.describe('curl time_appconnect: start → TLS done (0 for plain http).'),
    pretransfer: milestone.describe('curl time_pretransfer: start → request handed to the socket.'),
    starttransfer: milestone.describe('curl time_starttransfer: start → first response byte.'),
    total: milliseconds.describe('Start → end of the final response header block (or failure).'),
    phases: z
      .object({
        dns: milestone,
        tcp: milestone,
        tls: milestone,
        request: milestone.describe('Connected → request written.'),
        wait: milestone.describe('Request written → first response byte.'),
        transfer: milestone.describe('First response byte → header block complete.'),
      })
      .describe('Durations of each step; they add up to total for a complete probe.'),
  })
  .describe(
    'Milliseconds from a monotonic clock. A milestone never reached is null in the phase that failed and after.',
  )
  .meta({ id: 'ProbeTiming' });
export type ProbeTiming = z.infer<typeof ProbeTiming>;

export const RemoteEndpoint = z
  .object({
    address: z.string(),
    port: z.number().int(),
    family: z.enum(['IPv4', 'IPv6']),
  })
  .meta({ id: 'RemoteEndpoint' });
export type RemoteEndpoint = z.infer<typeof RemoteEndpoint>;

export const DnsAddress = z
  .object({ address: z.string(), family: z.enum(['IPv4', 'IPv6']) })
  .meta({ id: 'DnsAddress' });

export const dnsSources = ['dns', 'cache', 'hosts', 'system', 'pinned'] as const;

export const DnsFacts = z
  .object({
    source: z
      .enum(dnsSources)
      .describe(
        'dns: a nameserver answered for this lookup (perhaps a query already on the wire ' +
          'for another target, or for the look-ahead); cache: every answer came from the ' +
          'shared cache (perhaps filled by the look-ahead while the target queued); hosts: the ' +
          'hosts file; system: getaddrinfo (HEADPROBE_DNS=system); pinned: options.resolve.',
      ),
    name: z
      .string()
      .describe('The name that was resolved, after the search list, without a trailing dot.'),
    cnames: z
      .array(z.string())
      .describe(
        'CNAME chain from name to the canonical name, in order; empty when there is none or ' +
          'the resolver does not tell (system).',
      ),
    addresses: z
      .array(DnsAddress)
      .describe(
        'Every address the name resolved to that the address policy allows, both families (at ' +
          'most 64 of each).',
      ),
    ttl: z
      .int()
      .nullable()
      .describe(
        'Seconds: the smallest TTL of the answer (of a negative answer, from its SOA); for a ' +
          'cached answer, what is left of it. Null for hosts, pins and the system resolver.',
      ),
  })
  .meta({ id: 'DnsFacts' });
export type DnsFacts = z.infer<typeof DnsFacts>;

export const ConnectAttempt = z
  .object({
    address: z.string(),
    family: z.enum(['IPv4', 'IPv6']),
    startedAt: milliseconds.describe('Milliseconds from the probe start to this attempt.'),
    outcome: z
      .enum(['connected', 'failed', 'abandoned'])
      .describe('abandoned: another attempt connected first, or the connect phase timed out.'),
    error: ProbeErrorCode.nullable().describe('Why a failed attempt failed.'),
  })
  .meta({ id: 'ConnectAttempt' });
export type ConnectAttempt = z.infer<typeof ConnectAttempt>;

export const TlsCertificate = z
  .object({
    subject: z.record(z.string(), z.union([z.string(), z.array(z.string())])),
    issuer: z.record(z.string(), z.union([z.string(), z.array(z.string())])),
    subjectAltNames: z.array(z.string()),
    validFrom: z.iso.datetime(),
    validTo: z.iso.datetime(),
    serialNumber: z.string(),
    fingerprint256: z.string().describe('SHA-256 of the DER certificate, colon-separated hex.'),
  })
  .meta({ id: 'TlsCertificate' });
export type TlsCertificate = z.infer<typeof TlsCertificate>;

export const TlsDetails = z
  .object({
    protocol: z.string().nullable(),
    cipher: z.string().nullable(),
    alpn: z.string().nullable(),
    servername: z.string().nullable().describe('SNI sent; null for an IP address.'),
    verified: z.boolean(),
    verifyError: z.string().nullable().describe('Why verification failed (OpenSSL/Node code).'),
    certificate: TlsCertificate.nullable(),
  })
  .meta({ id: 'TlsDetails' });
export type TlsDetails = z.infer<typeof TlsDetails>;

export const HeaderPair = z.tuple([z.string(), z.string()]);

export const RedirectHop = z
  .object({
    url: z.string(),
    httpVersion: z.string().nullable(),
    status: z.number().int(),
    statusText: z.string().nullable(),
    location: z.string().describe('The Location header as sent.'),
    headers: z.array(HeaderPair),
    remote: RemoteEndpoint.nullable(),
    timing: ProbeTiming,
    downgrade: z.boolean().describe('True when this hop leads from https to http.'),
  })
  .meta({ id: 'RedirectHop' });
export type RedirectHop = z.infer<typeof RedirectHop>;

export const ProbeResult = z
  .object({
    target: z.string().describe('The target exactly as submitted.'),
    url: z.string().nullable().describe('Normalised URL probed; null when the target is invalid.'),
    ok: z.boolean().describe('True when a final status line and header block were read.'),
    httpVersion: z.string().nullable(),
    status: z.number().int().nullable(),
    statusText: z.string().nullable(),
    headers: z
      .array(HeaderPair)
      .describe('[name, value] pairs in wire order, case and duplicates kept.'),
    informational: z
      .array(z.number().int())
      .describe('Status codes of interim 1xx responses read before the final one.'),
    remote: RemoteEndpoint.nullable().describe('The address dialled and connected.'),
    dns: DnsFacts.nullable().describe(
      'How the host name was resolved (of the last request); null for an IP literal, an ' +
        'invalid target, or a name whose every address the policy blocks.',
    ),
    connectAttempts: z
      .array(ConnectAttempt)
      .describe(
        'Every address dialled, in order, when more than one was (Happy Eyeballs, RFC 8305); ' +
          'empty when the first address was the only one dialled.',
      ),
    tls: TlsDetails.nullable(),
    timing: ProbeTiming.describe('Of the last request (each redirect hop has its own).'),
    redirects: z
      .array(RedirectHop)
      .describe('Responses that redirected, in order, when options.followRedirects > 0.'),
    finalUrl: z.string().nullable().describe('The URL the fields above describe.'),
    error: ProbeError.nullable(),
    findings: z
      .array(Finding)
      .describe(
        'What the head says about security (README, "Findings"): the scored MDN Observatory ' +
          'results that cost or earn points, TLS and disclosure findings. Empty when ' +
          'options.findings is false.',
      ),
    score: z
      .int()
      .nullable()
      .describe(
        'Security score from the findings (MDN HTTP Observatory scoring, from 100); null ' +
          'without a final response, or when options.findings is false.',
      ),
    grade: Grade.nullable().describe('The letter for score (A+ … F); null with it.'),
    technologies: z
      .array(Technology)
      .describe('Software the headers and cookie names point to, with the evidence.'),
    altSvc: AltSvc.nullable().describe("The final response's Alt-Svc; null without one."),
  })
  .meta({ id: 'ProbeResult' });
export type ProbeResult = z.infer<typeof ProbeResult>;
