// What a job counts per result beyond ok and failed: its error code, its grade and its
// findings (each id once), as tally keys the stores keep (JobRecord.tallies), and the job
// view's counts made from them.
import type { JobCounts } from '../schemas/job.js';
import type { ProbeResult } from '../schemas/probe-result.js';

const ERROR = 'error:';
const GRADE = 'grade:';
const FINDING = 'finding:';

/** The tally keys one result adds to: distinct, so a result counts once per finding id. */
export function resultTallies(result: ProbeResult): string[] {
  const keys: string[] = [];
  if (result.error !== null) keys.push(ERROR + result.error.code);
  if (result.grade !== null) keys.push(GRADE + result.grade);
  for (const finding of result.findings) {
    const key = FINDING + finding.id;
    if (!keys.includes(key)) keys.push(key);
  }
  return keys;
}

export function jobCounts(tallies: Readonly<Record<string, number>>): JobCounts {
  const counts: JobCounts = { errors: {}, grades: {}, findings: {} };
  for (const key in tallies) {
    const count = tallies[key]!;
    if (key.startsWith(ERROR))
      (counts.errors as Record<string, number>)[key.slice(ERROR.length)] = count;
    else if (key.startsWith(GRADE))
      (counts.grades as Record<string, number>)[key.slice(GRADE.length)] = count;
    else if (key.startsWith(FINDING)) counts.findings[key.slice(FINDING.length)] = count;
  }
  return counts;
}
