// Content-Security-Policy header values parsed the way the Observatory's cspParser does: one
// map of directive → sources, several policies intersected, duplicate directives an error.

/** A parsed policy set; null from parseCsp means the Observatory would call it invalid. */
export interface CspPolicy {
  readonly directives: Map<string, Set<string>>;
  /** report-uri / report-to repeated: allowed, but reported. */
  readonly duplicateReports: boolean;
}

/** Shorter than "img-src" less one: the Observatory's floor for a policy's length. */
const SHORTEST_POLICY = 6;
const ALLOWED_DUPLICATES = new Set(['report-uri', 'report-to']);
const LINE_BREAKS = /[\r\n]/g;
const WHITESPACE = /\s+/;

function none(): Set<string> {
  return new Set(["'none'"]);
}

/**
 * `value` holds every Content-Security-Policy header, joined with ", ". Per CSP3 a comma
 * separates policies and appears in no directive value, so splitting on it is exact.
 */
export function parseCsp(value: string): CspPolicy | null {
  const policies = value.split(',');
  const directives = new Map<string, Set<string>>();
  let duplicateReports = false;
  for (let index = 0; index < policies.length; index += 1) {
    const policy = (policies[index] ?? '').replace(LINE_BREAKS, '').trim();
    if (policy.length < SHORTEST_POLICY) return null;
    const seen = new Set<string>();
    for (const entry of policy.split(';')) {
      const [rawDirective, ...rawSources] = entry.trim().split(WHITESPACE);
      if (!rawDirective) continue;
      const directive = rawDirective.toLowerCase();
      if (seen.has(directive)) {
        if (!ALLOWED_DUPLICATES.has(directive)) return null;
        duplicateReports = true;
      }
      seen.add(directive);
      const sources = new Set<string>();
      for (const source of rawSources) if (source) sources.add(source.toLowerCase());
      if (index === 0) {
        // A directive with no sources allows nothing.
        directives.set(directive, sources.size > 0 ? sources : none());
        continue;
      }
      // Every policy is enforced: a later policy keeps only the sources both allow. The
      // Observatory also turns a directive first seen in a later policy into 'none'.
      const earlier = directives.get(directive);
      const kept = new Set<string>();
      if (earlier) for (const source of sources) if (earlier.has(source)) kept.add(source);
      directives.set(directive, kept.size > 0 ? kept : none());
    }
  }
  return { directives, duplicateReports };
}
