// Collects findings as checks report them, and turns the Observatory modifiers into its score
// and grade: penalties always count, bonuses only when 100 + penalties is at least 90.
import type { Finding, FindingSeverity, Grade } from '../schemas/findings.js';
import type { HeaderField } from './head-fields.js';
import { type HeadNote, headNotes } from './head-notes.js';
import { type ObservatoryResult, observatoryResults } from './observatory-results.js';

/** mdn-http-observatory src/grader/charts.js MINIMUM_SCORE_FOR_EXTRA_CREDIT. */
export const MINIMUM_SCORE_FOR_EXTRA_CREDIT = 90;
/** Evidence repeats a header value; a longer one is cut here (the Observatory keeps 1024). */
export const MAX_EVIDENCE_CHARS = 1024;

/** GRADE_CHART, indexed by score / 5 (0 → F … 20 → A+). */
// biome-ignore format: one row per letter
const gradeChart: readonly Grade[] = [
  'F', 'F', 'F', 'F', 'F',
  'D-', 'D', 'D', 'D+',
  'C-', 'C', 'C', 'C+',
  'B-', 'B', 'B', 'B+',
  'A-', 'A', 'A',
  'A+',
];

export function gradeForScore(score: number): Grade {
  const key = Math.min(Math.floor(Math.max(score, 0) / 5), 20);
  return gradeChart[key] ?? 'F';
}

/** The severity a score modifier stands for (README, "Findings"). */
export function severityOf(modifier: number): FindingSeverity {
  if (modifier <= -30) return 'high';
  if (modifier <= -20) return 'medium';
  if (modifier < 0) return 'low';
  return 'info';
}

export function evidenceOf(field: HeaderField | null): Finding['evidence'] {
  if (!field) return null;
  const value =
    field.value.length > MAX_EVIDENCE_CHARS
      ? field.value.slice(0, MAX_EVIDENCE_CHARS)
      : field.value;
  return { header: field.name, value };
}

/**
 * The finding of a result id read from no header, with its table message: the same for every
 * result, so one frozen object serves them all (thousands of results a second, most with
 * several such findings, would otherwise each allocate their own).
 */
const sharedFindings = new Map<string, Finding>();
function sharedFinding(make: () => Finding, id: string): Finding {
  let finding = sharedFindings.get(id);
  if (finding === undefined) {
    finding = Object.freeze(make());
    sharedFindings.set(id, finding);
  }
  return finding;
}

export class ScoreCard {
  readonly findings: Finding[] = [];
  private penalties = 0;
  private bonuses = 0;

  /** One Observatory test's result; listed only when it moves the score. */
  scored(result: ObservatoryResult, field: HeaderField | null): void {
    const entry = observatoryResults[result];
    const modifier: number = entry.modifier;
    if (modifier === 0) return;
    if (modifier < 0) this.penalties += modifier;
    else this.bonuses += modifier;
    const make = (): Finding => ({
      id: result,
      category: entry.category,
      severity: severityOf(modifier),
      message: entry.message,
      scoreModifier: modifier,
      evidence: evidenceOf(field),
    });
    this.findings.push(field === null ? sharedFinding(make, result) : make());
  }

  /** An unscored finding; `message` replaces the table's when it has specifics to add. */
  note(id: HeadNote, field: HeaderField | null, message?: string): void {
    const entry = headNotes[id];
    const make = (): Finding => ({
      id,
      category: entry.category,
      severity: entry.severity,
      message: message ?? entry.message,
      scoreModifier: 0,
      evidence: evidenceOf(field),
    });
    this.findings.push(field === null && message === undefined ? sharedFinding(make, id) : make());
  }

  score(): number {
    const uncurved = 100 + this.penalties;
    const score = uncurved >= MINIMUM_SCORE_FOR_EXTRA_CREDIT ? uncurved + this.bonuses : uncurved;
    return Math.max(score, 0);
  }
}
