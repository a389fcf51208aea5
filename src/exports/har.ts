// HAR 1.2 (http://www.softwareishard.com/blog/har-12-spec/): one entry per request a target
// made, its redirect hops first, so a browser's devtools can import a job and draw it. The
// body is never read, so every content is empty and says so; our phases map onto HAR's
// timings, -1 where a phase does not apply. A document is written as a head, entries joined
// by commas, and a tail, so a job of any size streams in bounded memory.
import { isIP } from 'node:net';
import packageJson from '../../package.json' with { type: 'json' };
import { buildHttp2RequestHeaders, buildRequestHead, defaultUserAgent } from '../probe/request.js';
import { parseTarget } from '../probe/target.js';
import type { ProbeOptions } from '../schemas/probe-options.js';
import type { ProbeResult, ProbeTiming, RemoteEndpoint } from '../schemas/probe-result.js';
import { headerValue } from './result-row.js';

/** Not registered with IANA; what HAR tools that name a media type use. */
export const HAR_MEDIA_TYPE = 'application/har+json';

export interface HarHeader {
  name: string;
  value: string;
}

export interface HarTimings {
  blocked: number;
  dns: number;
  connect: number;
  ssl: number;
  send: number;
  wait: number;
  receive: number;
}

export interface HarEntry {
  startedDateTime: string;
  time: number;
  request: {
    method: string;
    url: string;
    httpVersion: string;
    cookies: never[];
    headers: HarHeader[];
    queryString: HarHeader[];
    headersSize: number;
    bodySize: number;
  };
  response: {
    status: number;
    statusText: string;
    httpVersion: string;
    cookies: Array<{ name: string; value: string; httpOnly?: boolean; secure?: boolean }>;
    headers: HarHeader[];
    content: { size: number; mimeType: string; comment: string };
    redirectURL: string;
    headersSize: number;
    bodySize: number;
  };
  cache: Record<string, never>;
  timings: HarTimings;
  serverIPAddress?: string;
  connection?: string;
  /** Custom fields (HAR allows names starting with an underscore). */
  _index: number;
  _target: string;
  _error?: ProbeResult['error'];
}

/** Everything before the first entry of a document. */
export function harLogHead(): string {
  const creator = { name: 'headprobe', version: packageJson.version };
  return `{"log":{"version":"1.2","creator":${JSON.stringify(creator)},"pages":[],"entries":[`;
}

export const HAR_LOG_TAIL = ']}}\n';

const round = (ms: number) => Math.round(ms * 1000) / 1000;

/**
 * Our phases as HAR's: connect includes ssl (HAR 1.2, timings), send, wait and receive are
 * never -1. A probe that failed spent the rest of its time in the phase it failed in, which
 * has no duration of its own: that phase gets it, so `time` is the probe's total either way.
 */
export function harTimings(timing: ProbeTiming, url: string | null): HarTimings {
  const host = url === null ? '' : new URL(url).hostname.replace(/^\[(.*)\]$/, '$1');
  const https = url?.startsWith('https:') === true;
  const { phases } = timing;
  // An IP literal is not looked up at all (-1); a cached name is, in no time.
  const steps = [
    isIP(host) === 0 && url !== null ? phases.dns : undefined,
    phases.tcp,
    https ? phases.tls : undefined,
    phases.request,
    phases.wait,
    phases.transfer,
  ];
  const spent = steps.reduce<number>((sum, step) => sum + (step ?? 0), 0);
  const failedIn = steps.indexOf(null);
  if (failedIn !== -1) steps[failedIn] = Math.max(timing.total - spent, 0);
  const [dns, tcp, tls, request, wait, transfer] = steps.map((step) =>
    step === undefined ? -1 : step === null ? null : round(step),
  );
  return {
    blocked: -1,
    dns: dns ?? -1,
    connect: tcp === null || tcp === undefined ? -1 : round(tcp + Math.max(tls ?? 0, 0)),
    ssl: tls ?? -1,
    send: request ?? 0,
    wait: wait ?? 0,
    receive: transfer ?? 0,
  };
}

function entryTime(timings: HarTimings): number {
  const parts = [timings.dns, timings.connect, timings.send, timings.wait, timings.receive];
  return round(parts.reduce((sum, part) => sum + Math.max(part, 0), 0));
}

/** The request as the probe wrote it for `url`: the same functions build both. */
function requestHeaders(url: string, options: ProbeOptions, http2: boolean): HarHeader[] {
  const parsed = parseTarget(url);
  if (!parsed.ok) return [];
  if (http2) {
    const fields = buildHttp2RequestHeaders(parsed.target, options, defaultUserAgent);
    return Object.entries(fields).map(([name, value]) => ({ name, value }));
  }
  const lines = buildRequestHead(parsed.target, options, defaultUserAgent).split('\r\n');
  return lines
    .slice(1)
    .filter((line) => line !== '')
    .map((line) => {
      const colon = line.indexOf(':');
      return { name: line.slice(0, colon), value: line.slice(colon + 1).trim() };
    });
}

/** The version the request went out in: the response's, else what the options asked for. */
function requestVersion(responseVersion: string | null | undefined, options: ProbeOptions): string {
  if (responseVersion === '2') return 'HTTP/2';
  return options.httpVersion === '1.0' ? 'HTTP/1.0' : 'HTTP/1.1';
}

function queryString(url: string): HarHeader[] {
  try {
    return [...new URL(url).searchParams].map(([name, value]) => ({ name, value }));
  } catch {
    return [];
  }
}

/** Name and value of each Set-Cookie, and the two flags devtools shows. */
function cookiesOf(headers: ReadonlyArray<readonly [string, string]>) {
  return headers
    .filter(([name]) => name.toLowerCase() === 'set-cookie')
    .map(([, value]) => {
      const [pair = '', ...attributes] = value.split(';');
      const equals = pair.indexOf('=');
      const flags = new Set(attributes.map((attribute) => attribute.trim().toLowerCase()));
      return {
        name: (equals === -1 ? pair : pair.slice(0, equals)).trim(),
        value: equals === -1 ? '' : pair.slice(equals + 1).trim(),
        httpOnly: flags.has('httponly'),
        secure: flags.has('secure'),
      };
    });
}

interface Exchange {
  url: string | null;
  status: number | null;
  statusText: string | null;
  httpVersion: string | null;
  headers: ReadonlyArray<readonly [string, string]>;
  remote: RemoteEndpoint | null;
  timing: ProbeTiming;
  location: string;
}

function entryOf(
  index: number,
  hop: number,
  target: string,
  exchange: Exchange,
  options: ProbeOptions,
): HarEntry {
  // An invalid target has no URL; HAR needs an absolute one.
  const url = exchange.url ?? `urn:headprobe:invalid-target:${encodeURIComponent(target)}`;
  const headers = exchange.headers.map(([name, value]) => ({ name, value }));
  const contentType = headers.find(({ name }) => name.toLowerCase() === 'content-type');
  const timings = harTimings(exchange.timing, exchange.url);
  const entry: HarEntry = {
    startedDateTime: exchange.timing.startedAt,
    time: entryTime(timings),
    request: {
      method: options.method,
      url,
      httpVersion: requestVersion(exchange.httpVersion, options),
      cookies: [],
      headers:
        exchange.url === null
          ? []
          : requestHeaders(exchange.url, options, exchange.httpVersion === '2'),
      queryString: queryString(url),
      headersSize: -1,
      bodySize: 0,
    },
    response: {
      // HAR tools read status 0 as "no response".
      status: exchange.status ?? 0,
      statusText: exchange.statusText ?? '',
      // == null: hops stored before hops kept their version have none at all.
      httpVersion: exchange.httpVersion == null ? '' : `HTTP/${exchange.httpVersion}`,
      cookies: cookiesOf(exchange.headers),
      headers,
      content: {
        size: 0,
        mimeType: contentType?.value ?? 'x-unknown',
        comment: 'headprobe reads the response head only; the body was not read',
      },
      redirectURL: exchange.location,
      headersSize: -1,
      bodySize: -1,
    },
    cache: {},
    timings,
    _index: index,
    _target: target,
  };
  if (exchange.remote !== null) {
    entry.serverIPAddress = exchange.remote.address;
    entry.connection = `${index}.${hop}`;
  }
  return entry;
}

/**
 * The text of one document, target by target, for a writer that streams it: harLogHead(),
 * then `entries()` of each result (commas between them), then HAR_LOG_TAIL.
 */
export class HarEntriesText {
  #first = true;

  constructor(private readonly options: ProbeOptions) {}

  entries(index: number, result: ProbeResult): string {
    let text = '';
    for (const entry of harEntries(index, result, this.options)) {
      text += this.#first ? JSON.stringify(entry) : `,${JSON.stringify(entry)}`;
      this.#first = false;
    }
    return text;
  }
}

/** The entries of one target: each redirect hop, then the response the result describes. */
export function harEntries(index: number, result: ProbeResult, options: ProbeOptions): HarEntry[] {
  const entries = result.redirects.map((hop, at) =>
    entryOf(
      index,
      at,
      result.target,
      {
        url: hop.url,
        status: hop.status,
        statusText: hop.statusText,
        httpVersion: hop.httpVersion,
        headers: hop.headers,
        remote: hop.remote,
        timing: hop.timing,
        location: hop.location,
      },
      options,
    ),
  );
  const last = entryOf(
    index,
    entries.length,
    result.target,
    {
      url: result.finalUrl ?? result.url,
      status: result.status,
      statusText: result.statusText,
      httpVersion: result.httpVersion,
      headers: result.headers,
      remote: result.remote,
      timing: result.timing,
      location: headerValue(result, 'location') ?? '',
    },
    options,
  );
  if (result.error !== null) last._error = result.error;
  entries.push(last);
  return entries;
}
