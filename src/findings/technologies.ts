// Technology hints from the final response's head: product tokens in Server, X-Powered-By,
// Via and X-Generator, the ASP.NET version headers, vendor marker headers and cookie names.
import type { Technology } from '../schemas/findings.js';
import { Field, type HeaderField, type HeadFields } from './head-fields.js';
import { evidenceOf } from './score-card.js';
import { cookieName } from './set-cookie.js';
import { cookieTechnology, productTokens, type TechnologyEntry } from './technology-table.js';

const MAX_VERSION_CHARS = 32;
/** Product headers are short; a longer one is scanned only this far. */
const MAX_SCAN_CHARS = 1024;
const MAX_PRODUCTS_PER_HEADER = 8;

const productByToken = new Map(productTokens);
const alternatives = [...productByToken.keys()]
  .sort((a, b) => b.length - a.length)
  .map((token) => token.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&'))
  .join('|');
// Whole tokens only ("nginx", not "cloudflare-nginx"'s tail), then an optional version.
const PRODUCT = new RegExp(
  `(?<![\\w.-])(${alternatives})(?![\\w-])(?:(?:/|\\(|\\s+)v?(\\d[\\w.+-]*))?`,
  'gi',
);
const PRODUCT_HEADERS = [Field.server, Field.poweredBy, Field.via, Field.generator] as const;

function add(
  found: Technology[],
  entry: TechnologyEntry,
  version: string | null,
  field: HeaderField,
): void {
  const trimmed = version === null ? null : version.slice(0, MAX_VERSION_CHARS);
  const seen = found.find((technology) => technology.name === entry.name);
  if (!seen) {
    found.push({
      name: entry.name,
      category: entry.category,
      version: trimmed,
      evidence: evidenceOf(field)!,
    });
  } else if (seen.version === null && trimmed !== null) {
    // "1.1 varnish (Varnish/6.0)": the later mention carries the version.
    seen.version = trimmed;
    seen.evidence = evidenceOf(field)!;
  }
}

function scanProducts(found: Technology[], field: HeaderField): void {
  const value =
    field.value.length > MAX_SCAN_CHARS ? field.value.slice(0, MAX_SCAN_CHARS) : field.value;
  PRODUCT.lastIndex = 0;
  for (let count = 0; count < MAX_PRODUCTS_PER_HEADER; count += 1) {
    const match = PRODUCT.exec(value);
    if (!match) break;
    const entry = productByToken.get((match[1] ?? '').toLowerCase());
    if (entry) add(found, entry, match[2] ?? null, field);
  }
}

function versionHeader(found: Technology[], field: HeaderField | null, name: string): void {
  const version = field?.value.trim();
  if (!field || !version) return;
  add(found, { name, category: 'framework' }, version, field);
}

export function detectTechnologies(head: HeadFields): Technology[] {
  const found: Technology[] = [];
  for (const slot of PRODUCT_HEADERS) {
    const field = head.fields[slot];
    if (field) scanProducts(found, field);
  }
  versionHeader(found, head.fields[Field.aspNetVersion] ?? null, 'ASP.NET');
  versionHeader(found, head.fields[Field.aspNetMvcVersion] ?? null, 'ASP.NET MVC');
  for (const { entry, field } of head.markers) add(found, entry, null, field);
  for (const field of head.cookies) {
    const name = cookieName(field.value);
    const entry = name === null ? undefined : cookieTechnology(name);
    if (entry) add(found, entry, null, field);
  }
  return found;
}
