// The CSV export's one stringifier (csv-stringify): a header line of the documented columns,
// then one row per result. The command and the service's /results both write through it.
// Probed servers choose what their headers say, and a spreadsheet runs a cell that starts
// with = + - @ (or a tab or CR) as a formula: such a text cell gets a leading ' (OWASP's
// advice for CSV injection), which spreadsheets show as text and hide.
import { type Stringifier, stringify } from 'csv-stringify';
import { CSV_COLUMNS } from './result-row.js';

export const CSV_MEDIA_TYPE = 'text/csv';

const FORMULA_START = /^[=+\-@\t\r]/;

export function createCsvStringifier(): Stringifier {
  return stringify({
    header: true,
    columns: [...CSV_COLUMNS],
    cast: {
      boolean: String,
      string: (value) => (FORMULA_START.test(value) ? `'${value}` : value),
    },
  });
}
