// What a caller may ask of one probe. Validated here, so the engine can trust it:
// header names and values that could split or smuggle a request never get through.
import { isIP } from 'node:net';
import { z } from 'zod';

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// field-value without CR, LF, NUL or other controls (HTAB allowed), no leading/trailing space.
const FIELD_VALUE = /^(?:[\x21-\x7e\x80-\xff](?:[\t\x20-\x7e\x80-\xff]*[\x21-\x7e\x80-\xff])?)?$/;

/** Hop-by-hop and framing fields the engine owns; a caller setting them breaks the probe. */
export const forbiddenRequestHeaders = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'content-length',
  'expect',
  'http2-settings',
]);

export const RequestHeaderName = z
  .string()
  .min(1)
  .max(256)
  .regex(TOKEN, 'header name must be an RFC 9110 token')
  .refine((name) => !forbiddenRequestHeaders.has(name.toLowerCase()), {
    message: 'hop-by-hop and framing headers are set by headprobe and cannot be overridden',
  });

export const RequestHeaderValue = z
  .string()
  .max(8192)
  .regex(FIELD_VALUE, 'header value must not contain control characters or surrounding spaces');

const HOST_PORT = /^(?:\[[0-9A-Fa-f:.]+\]|[^\s:[\]/]+):\d{1,5}$/;

export const ResolveOverrides = z
  .record(
    z.string().regex(HOST_PORT, 'key must be "host:port" (IPv6 in brackets), like curl --resolve'),
    z.string().refine((address) => isIP(address) !== 0, 'value must be an IPv4 or IPv6 address'),
  )
  .refine((pins) => Object.keys(pins).length <= 64, 'at most 64 pinned names')
  .describe(
    'Pin names to addresses without DNS: {"example.com:443": "192.0.2.7"}. Names match ' +
      "case-insensitively, in Unicode or punycode, as curl's do.",
  );

export const ProbeOptions = z
  .strictObject({
    method: z.enum(['GET', 'HEAD']).default('GET'),
    httpVersion: z
      .enum(['auto', '2', '1.1', '1.0'])
      .default('auto')
      .describe(
        'auto: offer h2 and http/1.1 by ALPN on https and use what the server picks (as curl ' +
          'and browsers do), HTTP/1.1 on plain http. 2: HTTP/2 only — on https a server that ' +
          'does not pick h2 gives http2_not_negotiated; on http, prior-knowledge h2c. 1.1, ' +
          '1.0: HTTP/1.x only.',
      ),
    headers: z
      .record(RequestHeaderName, RequestHeaderValue)
      .refine((headers) => Object.keys(headers).length <= 64, 'at most 64 request headers')
      .default({})
      .describe('Extra request headers; Host and User-Agent may be overridden.'),
    timeoutMs: z
      .int()
      .min(100)
      .max(120_000)
      .default(10_000)
      .describe('Deadline per target over DNS, connect, TLS and response head.'),
    resolve: ResolveOverrides.default({}),
    followRedirects: z
      .int()
      .min(0)
      .max(10)
      .default(0)
      .describe(
        'Redirects to follow (0 = none). Each hop is parsed, vetted by the address policy and ' +
          'dialled like a new target, within the same deadline.',
      ),
    dnsCache: z
      .boolean()
      .default(true)
      .describe(
        "Use the service's shared DNS cache. false asks the nameservers afresh for this job " +
          '(its answers still refresh the cache).',
      ),
    tlsVerify: z
      .boolean()
      .default(true)
      .describe(
        'Fail https targets whose certificate does not verify (details still reported), with ' +
          "Node's TLS defaults (TLS 1.2 and up, OpenSSL security level 1). false reaches down " +
          'to TLS 1.0 at security level 0, so outdated servers are described instead of refused.',
      ),
    findings: z
      .boolean()
      .default(true)
      .describe(
        'Compute findings, score, grade and technology hints from each head (README, ' +
          '"Findings"). false leaves findings and technologies empty and score and grade null.',
      ),
    certificateExpiryDays: z
      .int()
      .min(1)
      .max(365)
      .default(30)
      .describe(
        'A certificate that expires within this many days is a tls-certificate-expiring finding.',
      ),
  })
  .meta({ id: 'ProbeOptions' });
export type ProbeOptions = z.infer<typeof ProbeOptions>;
export type ProbeOptionsInput = z.input<typeof ProbeOptions>;

export const defaultProbeOptions: ProbeOptions = Object.freeze(ProbeOptions.parse({}));
