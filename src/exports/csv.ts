// The CSV export's one stringifier (csv-stringify): a header line of the documented columns,
// then one row per result. The command and the service's /results both write through it.
import { type Stringifier, stringify } from 'csv-stringify';
import { CSV_COLUMNS } from './result-row.js';

export const CSV_MEDIA_TYPE = 'text/csv';

export function createCsvStringifier(): Stringifier {
  return stringify({ header: true, columns: [...CSV_COLUMNS], cast: { boolean: String } });
}
