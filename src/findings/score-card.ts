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
 * Every finding read from no header, with its table message, is the same for every result:
 * one frozen object per id serves them all (thousands of results a second, most with several
 * such findings, would otherwise each allocate their own).
 */
const sharedScored = new Map<string, Finding>(
  Object.entries(observatoryResults).map(([id, entry]) => [
    id,
    Object.freeze({
      id,
      category: entry.category,
      severity: severityOf(entry.modifier),
      message: entry.message,
      scoreModifier: entry.modifier,
      evidence: null,
    }),
  ]),
);
const sharedNotes = new Map<string, Finding>(
  Object.entries(headNotes).map(([id, entry]) => [
    id,
    Object.freeze({
      id,
      category: entry.category,
      severity: entry.severity,
      message: entry.message,
      scoreModifier: 0,
      evidence: null,
    }),
  ]),
);

export class ScoreCard {
  readonly findings: Finding[] = [];
  private penalties = 0;
  private bonuses = 0;

  /** One Observatory test's result; listed only when it moves the score. */
  scored(result: ObservatoryResult, field: HeaderField | null): void {
    const shared = sharedScored.get(result)!;
    const modifier = shared.scoreModifier;
    if (modifier === 0) return;
    if (modifier < 0) this.penalties += modifier;
    else this.bonuses += modifier;
    this.findings.push(field === null ? shared : { ...shared, evidence: evidenceOf(field) });
  }

  /** An unscored finding; `message` replaces the table's when it has specifics to add. */
  note(id: HeadNote, field: HeaderField | null, message?: string): void {
    const shared = sharedNotes.get(id)!;
    this.findings.push(
      field === null && message === undefined
        ? shared
        : { ...shared, message: message ?? shared.message, evidence: evidenceOf(field) },
    );
  }

  score(): number {
    const uncurved = 100 + this.penalties;
    const score = uncurved >= MINIMUM_SCORE_FOR_EXTRA_CREDIT ? uncurved + this.bonuses : uncurved;
    return Math.max(score, 0);
  }
}
