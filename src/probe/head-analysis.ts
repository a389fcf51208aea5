// What a finished result's head says beyond its fields, added to the result itself: the
// Alt-Svc advertisement always, and findings, score, grade and technology hints unless the
// options turn them off. Read from the head alone, once per target (after its redirects).
import { analyseHead, parseAltSvc } from '../findings/index.js';
import type { ProbeOptions } from '../schemas/probe-options.js';
import type { ProbeResult } from '../schemas/probe-result.js';

/** Every Alt-Svc field value, joined as one list (RFC 9110 §5.3), or null when none came. */
function altSvcValue(headers: ProbeResult['headers']): string | null {
  let joined: string | null = null;
  for (const [name, value] of headers) {
    if (name.length === 7 && name.toLowerCase() === 'alt-svc') {
      joined = joined === null ? value : `${joined}, ${value}`;
    }
  }
  return joined;
}

/**
 * Fills the result's analysis fields in place (it was just built) and returns it. Never
 * throws: the analysis is pure and fuzzed, but a bug in it must not cost the probe's result,
 * which then keeps the fields empty.
 */
export function addHeadAnalysis(result: ProbeResult, options: ProbeOptions): ProbeResult {
  try {
    if (result.ok) result.altSvc = parseAltSvc(altSvcValue(result.headers));
    if (!options.findings) return result;
    const analysis = analyseHead(result, { certificateExpiryDays: options.certificateExpiryDays });
    result.findings = analysis.findings;
    result.score = analysis.score;
    result.grade = analysis.grade;
    result.technologies = analysis.technologies;
  } catch {
    // Fields stay as the probe built them: empty findings, no grade.
  }
  return result;
}
