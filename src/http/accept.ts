// Content negotiation for the JSON routes: an Accept header that allows none of what a route
// produces gets 406 not_acceptable instead of JSON it said it did not want.
import { ServiceError } from '../errors.js';

export class NotAcceptableError extends ServiceError {
  constructor(produces: readonly string[]) {
    super('not_acceptable', `this resource is served as ${produces.join(' or ')}`);
  }
}

/** The media ranges of an Accept header that are not refused with q=0, as [type, subtype]. */
function* wantedRanges(accept: string): Generator<[string, string]> {
  for (const range of accept.split(',')) {
    const [mediaRange = '', ...params] = range.split(';');
    const quality = params.map((p) => /^\s*q\s*=\s*([\d.]+)\s*$/i.exec(p)?.[1]).find(Boolean);
    if (quality !== undefined && Number(quality) === 0) continue;
    const [type = '', subtype = ''] = mediaRange.trim().toLowerCase().split('/');
    yield [type, subtype];
  }
}

/** Whether `accept` names `media` itself (not through a wildcard). */
export function namesMediaType(accept: string | undefined, media: string): boolean {
  if (accept === undefined) return false;
  for (const [type, subtype] of wantedRanges(accept))
    if (`${type}/${subtype}` === media) return true;
  return false;
}

/** Whether `accept` (an HTTP Accept header; absent means anything) allows one of `offered`. */
export function acceptsAny(accept: string | undefined, offered: readonly string[]): boolean {
  if (accept === undefined || accept.trim() === '') return true;
  for (const [type, subtype] of wantedRanges(accept)) {
    for (const media of offered) {
      const [offeredType, offeredSubtype] = media.split('/');
      if (type === '*' && subtype === '*') return true;
      if (type === offeredType && (subtype === '*' || subtype === offeredSubtype)) return true;
    }
  }
  return false;
}
