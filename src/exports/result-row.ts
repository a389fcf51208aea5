// One result as a flat row: the columns of the CSV export and the terminal table, documented
// in the README ("Command line", CSV columns). Times are milliseconds, as in the JSON.
import type { ProbeResult } from '../schemas/probe-result.js';

export const CSV_COLUMNS = [
  'index',
  'target',
  'url',
  'ok',
  'status',
  'statusText',
  'httpVersion',
  'server',
  'remoteAddress',
  'remotePort',
  'tlsProtocol',
  'tlsVerified',
  'certValidTo',
  'certDaysLeft',
  'namelookup',
  'connect',
  'appconnect',
  'pretransfer',
  'starttransfer',
  'total',
  'redirects',
  'finalUrl',
  'errorCode',
  'errorMessage',
  'grade',
  'score',
  'findings',
  'technologies',
  'headers',
] as const;
export type CsvColumn = (typeof CSV_COLUMNS)[number];
export type ResultRow = Record<CsvColumn, string | number | boolean | null>;

const DAY_MS = 86_400_000;

/** The first value of header `name` (case-insensitive), or null. */
export function headerValue(result: ProbeResult, name: string): string | null {
  const wanted = name.toLowerCase();
  return result.headers.find(([key]) => key.toLowerCase() === wanted)?.[1] ?? null;
}

/** Whole days from `now` to the certificate's end (negative once expired), or null. */
export function certDaysLeft(result: ProbeResult, now = Date.now()): number | null {
  const validTo = result.tls?.certificate?.validTo;
  return validTo === undefined ? null : Math.floor((Date.parse(validTo) - now) / DAY_MS);
}

export function resultRow(index: number, result: ProbeResult, now = Date.now()): ResultRow {
  const { timing } = result;
  return {
    index,
    target: result.target,
    url: result.url,
    ok: result.ok,
    status: result.status,
    statusText: result.statusText,
    httpVersion: result.httpVersion,
    server: headerValue(result, 'server'),
    remoteAddress: result.remote?.address ?? null,
    remotePort: result.remote?.port ?? null,
    tlsProtocol: result.tls?.protocol ?? null,
    tlsVerified: result.tls?.verified ?? null,
    certValidTo: result.tls?.certificate?.validTo ?? null,
    certDaysLeft: certDaysLeft(result, now),
    namelookup: timing.namelookup,
    connect: timing.connect,
    appconnect: timing.appconnect,
    pretransfer: timing.pretransfer,
    starttransfer: timing.starttransfer,
    total: timing.total,
    redirects: result.redirects.length,
    finalUrl: result.finalUrl,
    errorCode: result.error?.code ?? null,
    errorMessage: result.error?.message ?? null,
    grade: result.grade,
    score: result.score,
    // Finding ids, space-separated: a spreadsheet filter on "contains" finds each.
    findings: result.findings.map((finding) => finding.id).join(' '),
    technologies: result.technologies
      .map(({ name, version }) => (version === null ? name : `${name}/${version}`))
      .join(' '),
    // Every header, in wire order with duplicates, as one JSON array of [name, value].
    headers: JSON.stringify(result.headers),
  };
}
