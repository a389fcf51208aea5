// Content negotiation for the JSON routes: an Accept header that allows none of what a route
// produces gets 406 not_acceptable instead of JSON it said it did not want.
import { ServiceError } from '../errors.js';

export class NotAcceptableError extends ServiceError {
  constructor(produces: readonly string[]) {
    super('not_acceptable', `this resource is served as ${produces.join(' or ')}`);
  }
}

interface MediaRange {
  readonly type: string;
  readonly subtype: string;
  readonly quality: number;
}

/** The media ranges of an Accept header, each with its q (1 when not given). */
function* mediaRanges(accept: string): Generator<MediaRange> {
  for (const range of accept.split(',')) {
    const [mediaRange = '', ...params] = range.split(';');
    const q = params.map((p) => /^\s*q\s*=\s*([\d.]+)\s*$/i.exec(p)?.[1]).find(Boolean);
    const [type = '', subtype = ''] = mediaRange.trim().toLowerCase().split('/');
    yield { type, subtype, quality: q === undefined ? 1 : Number(q) };
  }
}

/** The media ranges not refused with q=0, as [type, subtype]. */
function* wantedRanges(accept: string): Generator<[string, string]> {
  for (const range of mediaRanges(accept)) {
    if (range.quality > 0) yield [range.type, range.subtype];
  }
}

/**
 * The one of `offered` that `accept` prefers (RFC 9110 §12.5.1): the highest q, each type's
 * q being that of the most specific range that matches it; equal ones go to the first
 * offered. Null when none is acceptable; the first offered when there is no Accept header.
 */
export function preferredMediaType(
  accept: string | undefined,
  offered: readonly string[],
): string | null {
  if (accept === undefined || accept.trim() === '') return offered[0] ?? null;
  let best: string | null = null;
  let bestQuality = 0;
  for (const media of offered) {
    const [type, subtype] = media.split('/');
    let specificity = -1;
    let quality = 0;
    for (const range of mediaRanges(accept)) {
      const matches =
        (range.type === '*' && range.subtype === '*') ||
        (range.type === type && (range.subtype === '*' || range.subtype === subtype));
      const rank = range.type === '*' ? 0 : range.subtype === '*' ? 1 : 2;
      if (matches && rank > specificity) {
        specificity = rank;
        quality = range.quality;
      }
    }
    if (quality > bestQuality) {
      best = media;
      bestQuality = quality;
    }
  }
  return best;
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
