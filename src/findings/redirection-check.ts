// The Observatory's redirection test for http:// targets: the route from the first URL to the
// last, from the followed hops or, when none were followed, the first response's Location.
import type { ProbeResult, RedirectHop } from '../schemas/probe-result.js';
import type { HeaderField } from './head-fields.js';
import type { ScoreCard } from './score-card.js';

interface Place {
  readonly protocol: string;
  readonly hostname: string;
}

function place(url: string, base?: string): Place | null {
  try {
    const parsed = new URL(url, base);
    return { protocol: parsed.protocol, hostname: parsed.hostname };
  } catch {
    return null;
  }
}

/** The Location header's name as the hop sent it. */
function locationName(hop: RedirectHop): string {
  for (const [name] of hop.headers) {
    if (name.length === 8 && name.toLowerCase() === 'location') return name;
  }
  return 'Location';
}

export type RouteFacts = Pick<ProbeResult, 'url' | 'status' | 'redirects' | 'tls'>;

/** Only called for http:// targets: https ones have nothing to redirect from. */
export function checkRedirection(
  card: ScoreCard,
  facts: RouteFacts,
  finalUrl: string,
  location: HeaderField | null,
): void {
  const url = facts.url ?? '';
  const status = facts.status ?? 0;
  let first: Place | null;
  let second: Place | null = null;
  let last: Place | null;
  let length: number;
  let evidence = location;
  const hops = facts.redirects;
  const firstHop = hops[0];
  if (firstHop) {
    evidence = { name: locationName(firstHop), value: firstHop.location };
    first = place(firstHop.url);
    second = place(hops[1]?.url ?? finalUrl);
    last = place(finalUrl);
    length = hops.length + 1;
  } else if (status >= 300 && status < 400 && location) {
    // Not followed: the Location says where the route would go next.
    first = place(url);
    second = place(location.value.trim(), url);
    last = second;
    length = second ? 2 : 1;
  } else {
    // No route: redirection-missing, whatever the URL; no need to parse it.
    first = null;
    last = null;
    length = 1;
  }
  if (last?.protocol === 'https:' && hops.length > 0 && facts.tls?.verified !== true) {
    card.scored('redirection-invalid-cert', null);
  } else if (length === 1) {
    card.scored('redirection-missing', evidence);
  } else if (last?.protocol !== 'https:') {
    card.scored('redirection-not-to-https', evidence);
  } else if (second?.protocol === 'http:') {
    card.scored('redirection-not-to-https-on-initial-redirection', evidence);
  } else if (first?.protocol === 'http:' && first.hostname !== second?.hostname) {
    card.scored('redirection-off-host-from-http', evidence);
  } else {
    card.scored('redirection-to-https', evidence);
  }
}
