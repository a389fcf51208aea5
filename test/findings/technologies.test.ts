// Technology hints from crafted heads: product tokens with versions, vendor marker headers
// and framework cookie names, each with the header it came from.
import { describe, expect, it } from 'vitest';
import { analyse, headFacts } from './head-facts.js';

type Headers = Array<[string, string]>;

const technologies = (headers: Headers) => analyse(headFacts({ headers })).technologies;
const names = (headers: Headers) =>
  technologies(headers).map((t) => (t.version ? `${t.name} ${t.version}` : t.name));

describe('product headers', () => {
  const cases: Array<readonly [string, string, string[]]> = [
    ['Server', 'nginx/1.25.3', ['nginx 1.25.3']],
    ['Server', 'nginx', ['nginx']],
    ['Server', 'Apache/2.4.57 (Ubuntu) OpenSSL/3.0.2', ['Apache HTTP Server 2.4.57']],
    ['Server', 'Microsoft-IIS/10.0', ['Microsoft IIS 10.0']],
    ['Server', 'LiteSpeed', ['LiteSpeed']],
    ['Server', 'Caddy', ['Caddy']],
    ['Server', 'openresty/1.21.4.1', ['OpenResty 1.21.4.1']],
    ['Server', 'gunicorn', ['Gunicorn']],
    ['Server', 'Kestrel', ['Kestrel']],
    ['Server', 'Jetty(9.4.53.v20231009)', ['Jetty 9.4.53.v20231009']],
    ['Server', 'istio-envoy', ['Envoy']],
    ['Server', 'cloudflare', ['Cloudflare']],
    ['Server', 'AmazonS3', ['Amazon S3']],
    ['Server', 'Apache-Coyote/1.1', ['Apache Tomcat 1.1']],
    ['Server', 'nginx + Phusion Passenger 6.0.18', ['nginx', 'Phusion Passenger 6.0.18']],
    ['Server', 'cloudflare-nginx', ['Cloudflare']],
    ['Server', 'my-nginx-fork', []],
    ['X-Powered-By', 'PHP/8.2.1', ['PHP 8.2.1']],
    ['X-Powered-By', 'Express', ['Express']],
    ['X-Powered-By', 'ASP.NET', ['ASP.NET']],
    ['X-Powered-By', 'Next.js', ['Next.js']],
    ['Via', '1.1 varnish (Varnish/6.0)', ['Varnish 6.0']],
    ['Via', '1.1 abc123.cloudfront.net (CloudFront)', ['Amazon CloudFront']],
    ['Via', '1.1 vegur', ['Heroku']],
    ['X-Generator', 'Drupal 10 (https://www.drupal.org)', ['Drupal 10']],
  ];
  it.each(cases)('%s: %s', (header, value, expected) => {
    expect(names([[header, value]])).toEqual(expected);
  });

  it('ASP.NET version headers give the version', () => {
    expect(
      names([
        ['X-Powered-By', 'ASP.NET'],
        ['X-AspNet-Version', '4.0.30319'],
        ['X-AspNetMvc-Version', '5.2'],
      ]),
    ).toEqual(['ASP.NET 4.0.30319', 'ASP.NET MVC 5.2']);
  });

  it('evidence is the header as received, and a technology is listed once', () => {
    expect(
      technologies([
        ['server', 'Apache/2.4 PHP/8.1'],
        ['X-Powered-By', 'PHP/8.1.2'],
      ]),
    ).toEqual([
      {
        name: 'Apache HTTP Server',
        category: 'web-server',
        version: '2.4',
        evidence: { header: 'server', value: 'Apache/2.4 PHP/8.1' },
      },
      {
        name: 'PHP',
        category: 'language',
        version: '8.1',
        evidence: { header: 'server', value: 'Apache/2.4 PHP/8.1' },
      },
    ]);
  });
});

describe('marker headers', () => {
  const cases: Array<readonly [string, string]> = [
    ['CF-RAY', 'Cloudflare'],
    ['x-amz-cf-id', 'Amazon CloudFront'],
    ['X-Served-By', 'Fastly'],
    ['x-fastly-request-id', 'Fastly'],
    ['X-Akamai-Transformed', 'Akamai'],
    ['x-vercel-id', 'Vercel'],
    ['x-nf-request-id', 'Netlify'],
    ['X-Drupal-Cache', 'Drupal'],
  ];
  it.each(cases)('%s → %s', (header, name) => {
    expect(technologies([[header, 'x']])).toMatchObject([
      { name, version: null, evidence: { header } },
    ]);
  });
});

describe('cookie names', () => {
  const cases: Array<readonly [string, string]> = [
    ['PHPSESSID=a; path=/', 'PHP'],
    ['JSESSIONID=a; Path=/; HttpOnly', 'Java'],
    ['ASP.NET_SessionId=a; path=/; HttpOnly', 'ASP.NET'],
    ['.AspNetCore.Antiforgery.x1=a; path=/', 'ASP.NET Core'],
    ['laravel_session=a; path=/', 'Laravel'],
    ['csrftoken=a; Path=/', 'Django'],
    ['sessionid=a; Path=/', 'Django'],
    ['connect.sid=a; Path=/', 'Express'],
    ['_myapp_session=a; path=/', 'Ruby on Rails'],
    ['wordpress_logged_in_abc=a', 'WordPress'],
    ['SESS0123456789abcdef0123456789abcdef=a', 'Drupal'],
    ['AWSALB=a; Path=/', 'AWS Elastic Load Balancing'],
    ['__cf_bm=a; path=/', 'Cloudflare'],
  ];
  it.each(cases)('%s → %s', (line, name) => {
    expect(technologies([['Set-Cookie', line]])).toMatchObject([
      { name, evidence: { header: 'Set-Cookie', value: line } },
    ]);
  });

  it('an ordinary name says nothing', () => {
    expect(technologies([['Set-Cookie', 'theme=dark']])).toEqual([]);
  });
});

it('technologies are read even without a final response', () => {
  const result = analyse(
    headFacts({
      ok: false,
      status: null,
      headers: [['Server', 'nginx']],
      error: { code: 'headers_timeout', phase: 'headers', message: 'late' },
    }),
  );
  expect(result.technologies.map((t) => t.name)).toEqual(['nginx']);
});
