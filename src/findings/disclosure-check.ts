// Version numbers in Server, X-Powered-By and the ASP.NET version headers: unscored, but they
// tell an attacker which known vulnerabilities to try.
import { Field, type HeadFields } from './head-fields.js';
import type { ScoreCard } from './score-card.js';

// "nginx/1.25.3", "PHP/8", "4.0.30319"; not a POP id like "(lhd/26C4)".
const VERSION = /\/\d+(?:\.\d+)*(?!\w)|(?<![\w.])\d+\.\d+/;
const DISCLOSING_HEADERS = [
  Field.server,
  Field.poweredBy,
  Field.aspNetVersion,
  Field.aspNetMvcVersion,
] as const;

/** One finding per header that reveals a version. */
export function checkDisclosure(card: ScoreCard, head: HeadFields): void {
  for (const slot of DISCLOSING_HEADERS) {
    const field = head.fields[slot];
    if (!field || !VERSION.test(field.value.slice(0, 1024))) continue;
    card.note(
      'server-version-disclosed',
      field,
      `${field.name.slice(0, 64)} reveals a software version.`,
    );
  }
}
