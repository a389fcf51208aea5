// One pass over a response's headers: the fields the checks read, each folded the way the
// Observatory's HTTP client (Node's http) folds duplicates, plus Set-Cookie lines and CDN markers.
import { markerTechnology, type TechnologyEntry } from './technology-table.js';

/** A header as received (first name seen) and its value, duplicates folded. */
export interface HeaderField {
  readonly name: string;
  readonly value: string;
}

/** No head the engine reads is larger (limits.maxHeaderBytes); beyond it a value is cut. */
export const MAX_VALUE_CHARS = 64 * 1024;
/** Browsers keep some 50–180 cookies per host; more than this is noise, not signal. */
const MAX_COOKIES = 64;
const MAX_MARKERS = 16;

export const Field = {
  hsts: 0,
  csp: 1,
  cspReportOnly: 2,
  frameOptions: 3,
  contentTypeOptions: 4,
  referrerPolicy: 5,
  allowOrigin: 6,
  allowCredentials: 7,
  resourcePolicy: 8,
  openerPolicy: 9,
  embedderPolicy: 10,
  location: 11,
  server: 12,
  poweredBy: 13,
  aspNetVersion: 14,
  aspNetMvcVersion: 15,
  via: 16,
  generator: 17,
} as const;
export type Field = (typeof Field)[keyof typeof Field];
const FIELD_COUNT = 18;

// Node's http keeps only the first of a few singleton fields and joins the rest with ", ".
const fieldByName = new Map<string, { field: Field; firstOnly: boolean }>([
  ['strict-transport-security', { field: Field.hsts, firstOnly: false }],
  ['content-security-policy', { field: Field.csp, firstOnly: false }],
  ['content-security-policy-report-only', { field: Field.cspReportOnly, firstOnly: false }],
  ['x-frame-options', { field: Field.frameOptions, firstOnly: false }],
  ['x-content-type-options', { field: Field.contentTypeOptions, firstOnly: false }],
  ['referrer-policy', { field: Field.referrerPolicy, firstOnly: false }],
  ['access-control-allow-origin', { field: Field.allowOrigin, firstOnly: false }],
  ['access-control-allow-credentials', { field: Field.allowCredentials, firstOnly: false }],
  ['cross-origin-resource-policy', { field: Field.resourcePolicy, firstOnly: false }],
  ['cross-origin-opener-policy', { field: Field.openerPolicy, firstOnly: false }],
  ['cross-origin-embedder-policy', { field: Field.embedderPolicy, firstOnly: false }],
  ['location', { field: Field.location, firstOnly: true }],
  ['server', { field: Field.server, firstOnly: true }],
  ['x-powered-by', { field: Field.poweredBy, firstOnly: false }],
  ['x-aspnet-version', { field: Field.aspNetVersion, firstOnly: false }],
  ['x-aspnetmvc-version', { field: Field.aspNetMvcVersion, firstOnly: false }],
  ['via', { field: Field.via, firstOnly: false }],
  ['x-generator', { field: Field.generator, firstOnly: false }],
]);

export interface MarkerHit {
  readonly entry: TechnologyEntry;
  readonly field: HeaderField;
}

export interface HeadFields {
  readonly fields: ReadonlyArray<HeaderField | null>;
  readonly cookies: readonly HeaderField[];
  readonly markers: readonly MarkerHit[];
}

const NONE: readonly never[] = Object.freeze([]);

function capped(value: string): string {
  return value.length > MAX_VALUE_CHARS ? value.slice(0, MAX_VALUE_CHARS) : value;
}

export function readHead(headers: ReadonlyArray<readonly [string, string]>): HeadFields {
  const fields = new Array<HeaderField | null>(FIELD_COUNT).fill(null);
  let cookies: HeaderField[] | null = null;
  let markers: MarkerHit[] | null = null;
  for (const [name, value] of headers) {
    const lower = name.toLowerCase();
    if (lower === 'set-cookie') {
      cookies ??= [];
      if (cookies.length < MAX_COOKIES) cookies.push({ name, value: capped(value) });
      continue;
    }
    const known = fieldByName.get(lower);
    if (known) {
      const seen = fields[known.field];
      if (!seen) fields[known.field] = { name, value: capped(value) };
      else if (!known.firstOnly && seen.value.length < MAX_VALUE_CHARS) {
        fields[known.field] = { name: seen.name, value: capped(`${seen.value}, ${value}`) };
      }
      continue;
    }
    const entry = markerTechnology(lower);
    if (entry) {
      markers ??= [];
      if (markers.length < MAX_MARKERS)
        markers.push({ entry, field: { name, value: capped(value) } });
    }
  }
  return { fields, cookies: cookies ?? NONE, markers: markers ?? NONE };
}

/** Set-Cookie lines of a redirect hop: the only thing a hop adds to the analysis. */
export function setCookiesOf(
  headers: ReadonlyArray<readonly [string, string]>,
  into: HeaderField[],
): void {
  for (const [name, value] of headers) {
    // The length test first spares lower-casing every other header name.
    if (name.length !== 10 || name.toLowerCase() !== 'set-cookie') continue;
    if (into.length >= MAX_COOKIES) return;
    into.push({ name, value: capped(value) });
  }
}
