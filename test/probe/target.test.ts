import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { classifySocketError } from '../../src/probe/socket-errors.js';
import { parseTarget, parseTargetAsUrl } from '../../src/probe/target.js';

describe('parseTarget', () => {
  it.each([
    ['a..b.example'],
    [`${'x'.repeat(64)}.example`],
    [`${'abcdefghi.'.repeat(25)}example`],
    ['.example'],
  ])('refuses %j, which DNS cannot carry, as an invalid target', (input) => {
    const parsed = parseTarget(input);
    expect(parsed.ok).toBe(false);
    expect(!parsed.ok && parsed.message).toContain('DNS name');
  });

  it('accepts a name at the limits: 63-character labels, 253 characters, a trailing dot', () => {
    const label = 'x'.repeat(63);
    const longest = `${label}.${label}.${label}.${'y'.repeat(61)}`;
    expect(longest).toHaveLength(253);
    expect(parseTarget(longest).ok).toBe(true);
    expect(parseTarget(`${longest}.`).ok).toBe(true);
    expect(parseTarget('_service.example').ok).toBe(true);
  });

  it.each([
    ['example.com', 'http://example.com/', 'example.com', 80, 0, 'example.com', '/'],
    [
      'Example.COM:8080',
      'http://example.com:8080/',
      'example.com',
      8080,
      0,
      'example.com:8080',
      '/',
    ],
    ['https://example.com', 'https://example.com/', 'example.com', 443, 0, 'example.com', '/'],
    [
      'https://example.com:443/x?y=1#f',
      'https://example.com/x?y=1',
      'example.com',
      443,
      0,
      'example.com',
      '/x?y=1',
    ],
    ['HTTP://a.test/p%20q', 'http://a.test/p%20q', 'a.test', 80, 0, 'a.test', '/p%20q'],
    ['[::1]:8080', 'http://[::1]:8080/', '::1', 8080, 6, '[::1]:8080', '/'],
    ['http://[2001:db8::1]/', 'http://[2001:db8::1]/', '2001:db8::1', 80, 6, '[2001:db8::1]', '/'],
    ['10.0.0.1', 'http://10.0.0.1/', '10.0.0.1', 80, 4, '10.0.0.1', '/'],
    ['127.0.0.1:18080', 'http://127.0.0.1:18080/', '127.0.0.1', 18080, 4, '127.0.0.1:18080', '/'],
    [
      'bücher.example',
      'http://xn--bcher-kva.example/',
      'xn--bcher-kva.example',
      80,
      0,
      'xn--bcher-kva.example',
      '/',
    ],
  ])('%s → %s', (input, url, hostname, port, ipFamily, authority, requestTarget) => {
    expect(parseTarget(input)).toEqual({
      ok: true,
      target: {
        url,
        scheme: url.startsWith('https') ? 'https' : 'http',
        hostname,
        port,
        ipFamily,
        authority,
        requestTarget,
      },
    });
  });

  it.each([
    ['', /empty/],
    ['ftp://example.com/', /scheme "ftp"/],
    ['file:///etc/passwd', /scheme "file"/],
    ['javascript://x', /scheme "javascript"/],
    ['http://user@example.com/', /credentials/],
    ['http://:80/', /not a valid/],
    ['example.com:65536', /not a valid/],
    ['example.com:0', /port 0/],
    ['example.com:http', /not a valid/],
    ['exa mple.com', /whitespace/],
    ['example.com\r\nX-Injected: 1', /whitespace or control/],
    ['example.com\t', /whitespace/],
    ['a'.repeat(3000), /longer than/],
  ])('rejects %j', (input, message) => {
    const parsed = parseTarget(input);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.message).toMatch(message);
  });

  it('fast path for plain IPv4 targets gives exactly what the URL parser gives', () => {
    const octet = fc.oneof(
      fc.integer({ min: 0, max: 255 }).map(String),
      fc.constantFrom('00', '01', '256', '999'),
    );
    const input = fc
      .tuple(
        fc.constantFrom('', 'http://', 'https://', 'HTTP://'),
        fc.array(octet, { minLength: 3, maxLength: 5 }).map((o) => o.join('.')),
        fc.oneof(
          fc.constant(''),
          fc.integer({ min: 0, max: 70000 }).map((p) => `:${p}`),
          fc.constant(':080'),
        ),
        fc.constantFrom('', '/', '/x', '?q'),
      )
      .map((parts) => parts.join(''));
    fc.assert(
      fc.property(input, (target) => {
        expect(parseTarget(target)).toEqual(parseTargetAsUrl(target));
      }),
      { numRuns: 2000 },
    );
  });

  it('fast path for plain host names gives exactly what the URL parser gives', () => {
    // Labels from an alphabet with the characters that matter to URL(): digits (a numeric
    // last label is an IPv4 number to it), hyphens, `xn--` (IDNA), upper case, `0x` (hex).
    const label = fc.oneof(
      fc.stringMatching(/^[a-z0-9-]{1,12}$/),
      fc.constantFrom('xn--bcher-kva', 'xn--zz', '0x7f', 'A', 'Ex', '1', '255', 'a'.repeat(64)),
    );
    const input = fc
      .tuple(
        fc.constantFrom('', 'http://', 'https://', 'HTTP://'),
        fc.array(label, { minLength: 1, maxLength: 5 }).map((labels) => labels.join('.')),
        fc.constantFrom('', '.'),
        fc.oneof(
          fc.constant(''),
          fc.integer({ min: 0, max: 70000 }).map((p) => `:${p}`),
          fc.constantFrom(':080', ':443', ':80'),
        ),
        fc.constantFrom('', '/', '/x', '?q'),
      )
      .map((parts) => parts.join(''));
    fc.assert(
      fc.property(input, (target) => {
        expect(parseTarget(target)).toEqual(parseTargetAsUrl(target));
      }),
      { numRuns: 5000 },
    );
  });
});

describe('classifySocketError', () => {
  it.each([
    ['ECONNREFUSED', 'connect', 'connection_refused'],
    ['ECONNRESET', 'headers', 'connection_reset'],
    ['EPIPE', 'request', 'connection_reset'],
    ['ENETUNREACH', 'connect', 'network_unreachable'],
    ['EHOSTUNREACH', 'connect', 'network_unreachable'],
    ['ETIMEDOUT', 'connect', 'connect_timeout'],
    ['ETIMEDOUT', 'headers', 'headers_timeout'],
    ['ETIMEDOUT', 'tls', 'tls_timeout'],
    ['ERR_SSL_WRONG_VERSION_NUMBER', 'tls', 'tls_error'],
    ['ERR_SSL_SSLV3_ALERT_BAD_RECORD_MAC', 'headers', 'tls_error'],
    ['EWHATEVER', 'headers', 'internal_error'],
  ] as const)('%s in %s → %s', (errno, phase, code) => {
    const error = Object.assign(new Error('x'), { code: errno });
    expect(classifySocketError(error, phase).code).toBe(code);
  });
});
