/**
 * The `values.batchGet` body read as the `values.get` one is: streamed and parsed in slices by the same scanner. The
 * sliced parse must give exactly what `JSON.parse` gives, and hand the event loop turns on a big body; and the
 * adapter's `readRanges` must give, over HTTP from the emulator, what the plain googleapis client parses whole.
 */
import fc from 'fast-check';
import { GoogleSheet, SheetsError } from '../../src/keys/sheet-source';
import { parseBatchGet, readBatchGet } from '../../src/keys/snapshot-json';
import type { CellValue } from '../../src/keys/types';
import type { Emulator } from '../../emulator/server';
import type { sheets_v4 } from '@googleapis/sheets';
import type { ServiceAccount } from '../../emulator/credentials';
import { trustedEmulator } from '../helpers/emulator';
import { chunked, rows, stream, stringify, trickyText } from '../helpers/json-body';
import type { Layout } from '../helpers/json-body';
import { captureLogger } from '../helpers/log-capture';

/** What `JSON.parse` makes of a batchGet body: its `valueRanges` (none unless an array), each with `values` (rows). */
function parsedWhole(text: string): Record<string, unknown>[] {
  const ranges = (JSON.parse(text) as { valueRanges?: unknown } | null)?.valueRanges;
  return (Array.isArray(ranges) ? (ranges as unknown[]) : []).map((range) => {
    const fields = typeof range === 'object' && range !== null ? (range as Record<string, unknown>) : {};
    const values = Array.isArray(fields.values) ? fields.values : [];
    return Object.fromEntries([...Object.entries(fields).filter(([name]) => name !== 'values'), ['values', values]]);
  });
}

const valueRange = fc.record(
  {
    range: trickyText,
    majorDimension: fc.constantFrom('ROWS', 'COLUMNS'),
    values: rows,
  },
  { requiredKeys: ['range'] },
);

/** A body as Google (pretty-printed) or the emulator (compact) might send it, or with odd whitespace. */
function body(ranges: unknown[], style: Layout, valuesFirst = false): string {
  const reordered = valuesFirst
    ? ranges.map((r) => {
        const { values, ...rest } = r as { values?: CellValue[][] };
        return values === undefined ? rest : { values, ...rest };
      })
    : ranges;
  return stringify({ spreadsheetId: 'sheet-1', valueRanges: reordered }, style);
}

describe('readBatchGet: a values.batchGet body streamed and parsed in slices', () => {
  const slicing = { sliceChars: 1, budgetMs: 0 } as const;

  it('gives exactly what JSON.parse gives, whatever the ranges, cells, layout, chunking and slice size', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(valueRange, { maxLength: 4 }),
        fc.constantFrom('compact', 'pretty', 'tabs' as const),
        fc.boolean(),
        fc.array(fc.nat(), { maxLength: 12 }),
        fc.integer({ min: 1, max: 200 }),
        async (ranges, style, valuesFirst, cuts, sliceChars) => {
          const text = body(ranges, style, valuesFirst);
          const expected = parsedWhole(text);
          expect(await readBatchGet(stream(chunked(text, cuts)), { sliceChars, budgetMs: 0 })).toEqual(expected);
          expect(await parseBatchGet(text, { sliceChars })).toEqual(expected);
        },
      ),
      { numRuns: 300 },
    );
  });

  it.each<[string, string]>([
    ['no valueRanges', '{"spreadsheetId":"s"}'],
    ['empty valueRanges', '{"valueRanges":[],"spreadsheetId":"s"}'],
    ['ranges without values or with empty ones', '{"valueRanges":[{"range":"A1"},{"range":"B2","values":[]}]}'],
    ['values that are not an array', '{"valueRanges":[{"range":"A1","values":3}]}'],
    ['an array under another key in a range', '{"valueRanges":[{"other":[["a"]],"range":"x"}]}'],
    ['a cell that is an object', '{"valueRanges":[{"values":[["a"],[{"b":1}]]},{"values":[["c"]]}]}'],
    ['a scalar straight in valueRanges', '{"valueRanges":[1,{"values":[["a"]]}]}'],
    ['a scalar straight in values', '{"valueRanges":[{"values":["a",["b"]]}]}'],
    ['two values arrays in a range', '{"valueRanges":[{"values":[["a"]],"values":[["b"]]}]}'],
    ['two valueRanges arrays', '{"valueRanges":[{"values":[["a"]]}],"valueRanges":[]}'],
    ['the ranges under another key', '{"other":[{"values":[["a"]]}]}'],
    ['an object beside the ranges', '{"meta":{"a":[1]},"valueRanges":[{"values":[["a"]]}]}'],
    ['a top-level array', '[{"values":[["a"]]}]'],
    ['null', 'null'],
    [
      'escapes in keys and cells',
      '{"valueR\\u0061nges":[{"val\\u0075es":[["\\"]\\\\"],["\\u005b"]],"r\\u0061nge":"x"}]}',
    ],
    ['multi-byte text and surrogate pairs', '{"valueRanges":[{"range":"鍵","values":[["🔑é"],["\\ud83d\\udd11"]]}]}'],
  ])('gives what JSON.parse gives for %s, as text or as bytes cut anywhere', async (_name, text) => {
    const expected = parsedWhole(text);
    expect(await parseBatchGet(text, slicing)).toEqual(expected);
    for (const cuts of [
      [1, 2, 3, 5, 8, 13, 21, 34],
      [15, 16, 17, 18, 19, 20],
    ]) {
      expect(await readBatchGet(stream(chunked(text, cuts)), slicing)).toEqual(expected);
    }
  });

  it.each([
    ['an object in a cell', '{"valueRanges":[{"values":[["a"],[{"a":1}]]}]}'],
    ['a scalar straight in valueRanges', '{"valueRanges":["a"]}'],
    ['not JSON', '{"valueRanges":[{"values":[["a"]]},'],
  ])('when told to refuse other shapes, refuses %s with a SyntaxError', async (_name, text) => {
    const refuse = { ...slicing, otherShapes: 'refuse' } as const;
    await expect(readBatchGet(stream(chunked(text, [3, 7, 11])), refuse)).rejects.toThrow(SyntaxError);
  });

  it.each([
    '{"valueRanges":[{"values":[["a"]]},',
    '{"valueRanges":[{"values":[["a"]]} x]}',
    '{"valueRanges":[{"values":[["a"]] x}]}',
    '{"valueRanges":[]} x',
    '<html>',
    '',
  ])('rejects %j with a SyntaxError, as JSON.parse would', async (text) => {
    await expect(parseBatchGet(text, slicing)).rejects.toThrow(SyntaxError);
  });

  it('gives the event loop turns while it parses a big body handed over in one piece', async () => {
    const keys = Array.from({ length: 3000 }, (_, i) => [`sk-${i}`, `client ${i}`, true, i]);
    const history = Array.from({ length: 1000 }, (_, i) => [46_000 + i, `key ${i}`, i]);
    const text = body(
      [
        { range: 'API_Keys!A1:D3000', majorDimension: 'ROWS', values: keys },
        { range: 'API_Usage!A2:C1001', majorDimension: 'ROWS', values: history },
      ],
      'compact',
    );
    let turns = 0;
    const pause = (): Promise<void> => {
      turns += 1;
      return Promise.resolve();
    };
    expect(await parseBatchGet(text, { budgetMs: 0, pause })).toEqual(parsedWhole(text));
    // With no budget, a turn after every piece of text scanned (16 KiB).
    expect(turns).toBe(Math.ceil(text.length / 16_384));
    expect(turns).toBeGreaterThan(5);
  });
});

describe('GoogleSheet.readRanges against the emulator (real googleapis client over HTTP)', () => {
  let emulator: Emulator;
  let credentials: ServiceAccount;
  let api: sheets_v4.Sheets;
  const { logger } = captureLogger();

  beforeAll(async () => {
    ({ emulator, credentials, api } = await trustedEmulator());
  });

  afterAll(async () => {
    await emulator.close();
  });

  const adapter = (spreadsheetId: string): GoogleSheet =>
    new GoogleSheet({ credentials, spreadsheetId, sheetName: 'API_Keys', rootUrl: emulator.url, logger });

  it('gives, in one call parsed in slices as it streams, what the plain client parses whole: the ranges Google reports, typed cells', async () => {
    const keys = [
      ['api_key', 'client_name', 'is_active'],
      ...Array.from({ length: 500 }, (_, i) => [`sk-"[${i}]"🔑`, `clïent \\ ${i}`, i % 2 === 0]),
    ];
    const id = emulator.createSpreadsheet({
      tabs: {
        API_Keys: keys,
        API_Usage: [
          ['day', 'key'],
          [46_000, 'k1'],
          [46_001, 'k2'],
        ],
      },
    });
    const wanted = [{ cells: '' }, { tab: 'API_Usage', cells: 'A2:B3' }, { tab: 'API_Usage', cells: 'D10:E20' }];
    const calls: string[] = [];
    const sheet = new GoogleSheet({
      credentials,
      spreadsheetId: id,
      sheetName: 'API_Keys',
      rootUrl: emulator.url,
      logger,
      onCall: (c) => calls.push(c.method),
    });

    let turns = 0;
    const pause = (): Promise<void> => {
      turns += 1;
      return Promise.resolve();
    };
    const read = await sheet.readRanges(wanted, { sliceChars: 1000, budgetMs: 0, pause });

    const { data } = await api.spreadsheets.values.batchGet({
      spreadsheetId: id,
      ranges: ["'API_Keys'", "'API_Usage'!A2:B3", "'API_Usage'!D10:E20"],
      valueRenderOption: 'UNFORMATTED_VALUE',
      dateTimeRenderOption: 'SERIAL_NUMBER',
    });
    expect(read).toEqual((data.valueRanges ?? []).map((r) => ({ range: r.range, values: r.values ?? [] })));
    expect(read[0]?.values).toHaveLength(501);
    expect(read[2]?.values).toEqual([]);
    expect(calls).toEqual(['values.batchGet']);
    // The body was parsed in slices as it streamed in, not whole by the client: with no budget, a turn per piece.
    expect(turns).toBeGreaterThan(0);
  });

  it("fails with Google's own message, read back from the error body", async () => {
    const id = emulator.createSpreadsheet({ tabs: { API_Keys: [['api_key'], ['sk-1']] } });
    emulator.fault({ method: 'values.batchGet', status: 429, message: 'Read requests per minute used up.' });
    const failure = adapter(id).readRanges([{ cells: '' }, { tab: 'API_Usage', cells: 'A1:B2' }]);
    await expect(failure).rejects.toBeInstanceOf(SheetsError);
    await expect(failure).rejects.toMatchObject({
      code: 'quota',
      message: 'Sheets API quota exhausted; backing off (Google: Read requests per minute used up.)',
    });
  });
});
