// The bare token of an RFC 8941 structured-field item, as the HTML standard (and the
// Observatory) parse Cross-Origin-Opener-Policy and -Embedder-Policy; null for anything else.

const TOKEN = "[A-Za-z*][!#$%&'*+\\-.^_`|~0-9A-Za-z:/]*";
const BARE_ITEM =
  `(?:-?\\d{1,12}\\.\\d{1,3}|-?\\d{1,15}|"(?:[\\x20\\x21\\x23-\\x5b\\x5d-\\x7e]|\\\\["\\\\])*"` +
  `|${TOKEN}|:[A-Za-z0-9+/=]*:|\\?[01])`;
const PARAMETER = `; *[a-z*][a-z0-9_\\-.*]*(?:=${BARE_ITEM})?`;
// Each part is a disjoint alternation or a possessive-like class run, so no input backtracks badly.
const ITEM = new RegExp(`^ *(${TOKEN})((?:${PARAMETER})*) *$`);

/** Values longer than this are not policies; the Observatory reads 1024 characters. */
const MAX_CHARS = 1024;

export function structuredToken(value: string): string | null {
  if (value.length > MAX_CHARS) return null;
  return ITEM.exec(value)?.[1] ?? null;
}
