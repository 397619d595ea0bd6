import { streamRows } from '../../src/keys/load-snapshot';
import { streamValueRange } from '../../src/keys/snapshot-json';
import type { SheetSource, TableSink } from '../../src/keys/sheet-source';
import { SheetsError } from '../../src/keys/sheets-error';
import type { CellValue } from '../../src/keys/types';

export const HEADER = ['api_key', 'client_name', 'created_at', 'expires_at', 'is_active', 'rate_limit'];

/**
 * A {@link SheetSource} over an in-memory table: a fake of our own port for HTTP tests (integration tests use the
 * emulator and the real googleapis client). `rows` and `failWith` can be changed between refreshes. `as: 'body'`
 * streams the rows as Google's adapter does, a `values.get` body read as it comes (row texts, so a refresh reuses
 * the rows that did not change); `'rows'` pushes them parsed.
 */
export class FixedSource implements SheetSource {
  readonly target = { spreadsheetId: 'fixture-sheet', sheetName: 'API_Keys', clientEmail: 'test@example.iam' };
  reads = 0;
  failWith: SheetsError | undefined;

  constructor(
    public rows: CellValue[][],
    public timeZone = 'Etc/UTC',
    private readonly as: 'rows' | 'body' = 'rows',
  ) {}

  async streamTable(sink: TableSink): Promise<void> {
    this.reads += 1;
    if (this.failWith !== undefined) {
      throw this.failWith;
    }
    if (this.as === 'rows') {
      await streamRows({ timeZone: this.timeZone, rows: this.rows }, sink);
      return;
    }
    sink.start(this.timeZone);
    await streamValueRange([JSON.stringify({ values: this.rows })], sink, { otherShapes: 'refuse' });
  }
}

export function unavailable(): SheetsError {
  return new SheetsError('unavailable', 'Sheets API unavailable (HTTP 500: test)', true, 500);
}
