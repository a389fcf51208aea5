// A Set-Cookie line read for what the checks need: its name and the Secure, HttpOnly,
// SameSite and Max-Age attributes (RFC 6265bis §5.6), never its value.

export interface CookieFacts {
  readonly name: string;
  readonly secure: boolean;
  readonly httpOnly: boolean;
  /** The attribute's value lower-cased; null when there is no SameSite attribute. */
  readonly sameSite: string | null;
  /** Max-Age ≤ 0: the line deletes the cookie rather than setting it. */
  readonly deletes: boolean;
}

/** Browsers drop a cookie line over 4096 bytes; nothing past that is read. */
const MAX_COOKIE_CHARS = 4096;
const NEGATIVE_OR_ZERO = /^(?:-\d+|0+)$/;

/** The cookie's name, or null when the line has no name=value pair. */
export function cookieName(line: string): string | null {
  const end = line.indexOf(';');
  const pair = end < 0 ? line : line.slice(0, end);
  const equals = pair.indexOf('=');
  if (equals < 0) return null;
  const name = pair.slice(0, equals).trim();
  return name.length > 0 ? name : null;
}

export function parseSetCookie(value: string): CookieFacts | null {
  const line = value.length > MAX_COOKIE_CHARS ? value.slice(0, MAX_COOKIE_CHARS) : value;
  const name = cookieName(line);
  if (name === null) return null;
  let secure = false;
  let httpOnly = false;
  let sameSite: string | null = null;
  let deletes = false;
  let start = line.indexOf(';');
  while (start >= 0) {
    const next = line.indexOf(';', start + 1);
    const attribute = line.slice(start + 1, next < 0 ? undefined : next);
    start = next;
    const equals = attribute.indexOf('=');
    const key = (equals < 0 ? attribute : attribute.slice(0, equals)).trim().toLowerCase();
    const attributeValue = equals < 0 ? '' : attribute.slice(equals + 1).trim();
    if (key === 'secure') secure = true;
    else if (key === 'httponly') httpOnly = true;
    else if (key === 'samesite') sameSite = attributeValue.toLowerCase();
    else if (key === 'max-age') deletes = NEGATIVE_OR_ZERO.test(attributeValue);
  }
  return { name, secure, httpOnly, sameSite, deletes };
}
