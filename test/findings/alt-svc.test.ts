// parseAltSvc against RFC 7838 §3 shapes: clear, entries with parameters, quoted and
// percent-encoded parts, joined headers, bad entries skipped and the bounds.
import { describe, expect, it } from 'vitest';
import { parseAltSvc } from '../../src/findings/index.js';
import { AltSvc } from '../../src/schemas/findings.js';

describe('parseAltSvc', () => {
  it('null when there is no header', () => {
    expect(parseAltSvc(null)).toBeNull();
  });

  it('clear withdraws every alternative', () => {
    expect(parseAltSvc('clear')).toEqual({ http3: false, clear: true, services: [] });
    expect(parseAltSvc(' Clear ')).toMatchObject({ clear: true });
  });

  it('the usual h3 advertisement', () => {
    expect(parseAltSvc('h3=":443"; ma=86400, h3-29=":443"; ma=86400')).toEqual({
      http3: true,
      clear: false,
      services: [
        { protocol: 'h3', host: null, port: 443, maxAge: 86400 },
        { protocol: 'h3-29', host: null, port: 443, maxAge: 86400 },
      ],
    });
  });

  it('another host, persist=1, ma defaulting to 24 hours', () => {
    expect(parseAltSvc('h2="alt.example.com:8443"; persist=1')).toEqual({
      http3: false,
      clear: false,
      services: [{ protocol: 'h2', host: 'alt.example.com', port: 8443, maxAge: 86400 }],
    });
  });

  it('IPv6 hosts, percent-encoded ALPN ids, quoted parameters', () => {
    expect(parseAltSvc('h3%2D29="[2001:db8::1]:443"; ma="60"')?.services).toEqual([
      { protocol: 'h3-29', host: '[2001:db8::1]', port: 443, maxAge: 60 },
    ]);
  });

  it('several headers joined with ", "', () => {
    const joined = ['h2=":443"', 'h3=":8443"; ma=3600'].join(', ');
    expect(parseAltSvc(joined)).toMatchObject({
      http3: true,
      services: [{ protocol: 'h2' }, { protocol: 'h3', port: 8443, maxAge: 3600 }],
    });
  });

  it.each([
    ['no quotes around the authority', 'h3=:443'],
    ['no port', 'h3="example.com"'],
    ['port 0', 'h3=":0"'],
    ['port too big', 'h3=":65536"'],
    ['ma not a number', 'h3=":443"; ma=soon'],
    ['a bad percent escape', 'h3%G1=":443"'],
    ['an unterminated quote', 'h3=":443'],
  ])('skips an entry with %s', (_label, bad) => {
    expect(parseAltSvc(`${bad}, h2=":443"`)?.services).toEqual(
      bad === 'h3=":443' ? [] : [{ protocol: 'h2', host: null, port: 443, maxAge: 86400 }],
    );
  });

  it('a comma inside a quoted parameter does not split the entry', () => {
    expect(
      parseAltSvc('h3=":443"; note="a, b", h2=":443"')?.services.map((s) => s.protocol),
    ).toEqual(['h3', 'h2']);
  });

  it('keeps at most 16 services, caps ma, and ignores what lies past 8 KiB', () => {
    const many = Array.from({ length: 40 }, (_, i) => `h3=":${i + 1}"`).join(', ');
    expect(parseAltSvc(many)?.services).toHaveLength(16);
    expect(parseAltSvc('h3=":443"; ma=99999999999999999999')?.services[0]?.maxAge).toBe(
      2_147_483_648,
    );
    const late = `${' '.repeat(9000)}h3=":443"`;
    expect(parseAltSvc(late)).toEqual({ http3: false, clear: false, services: [] });
  });

  it('an empty value advertises nothing', () => {
    const parsed = parseAltSvc('');
    expect(parsed).toEqual({ http3: false, clear: false, services: [] });
    expect(AltSvc.parse(parsed)).toEqual(parsed);
  });
});
