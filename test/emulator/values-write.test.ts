import type { sheets_v4 } from '@googleapis/sheets';
import type { Emulator } from '../../emulator/server';
import { trustedEmulator } from '../helpers/emulator';
import { failure } from './google-error';

describe('emulator writes over HTTP (real googleapis client)', () => {
  let emulator: Emulator;
  let api: sheets_v4.Sheets;

  beforeAll(async () => {
    ({ emulator, api } = await trustedEmulator());
  });

  afterAll(async () => {
    await emulator.close();
  });

  const HEADER = ['api_key', 'client_name', 'usage_count'];
  const fresh = (rows: (string | number | boolean | null)[][] = [HEADER]): string =>
    emulator.createSpreadsheet({ tabs: { API_Keys: rows } });

  it('RAW keeps key-like strings as text; USER_ENTERED turns them into other types', async () => {
    const spreadsheetId = fresh([]);
    const tricky = ['TRUE', '00123', '=1+1', '2025-12-31', '12/31/2025 08:30:00', 'sk-1'];
    await api.spreadsheets.values.update({
      spreadsheetId,
      range: 'API_Keys!A1',
      valueInputOption: 'RAW',
      requestBody: { values: [tricky] },
    });
    await api.spreadsheets.values.update({
      spreadsheetId,
      range: 'API_Keys!A2',
      valueInputOption: 'USER_ENTERED',
      requestBody: { values: [tricky] },
    });
    expect(emulator.getValues(spreadsheetId, 'API_Keys')).toEqual([
      tricky,
      [true, 123, '=1+1', 46022, 46022 + 8.5 / 24, 'sk-1'],
    ]);
    expect(emulator.getValues(spreadsheetId, 'API_Keys', 'FORMATTED_VALUE')[1]).toEqual([
      'TRUE',
      '123',
      '=1+1',
      '2025-12-31',
      '2025-12-31 08:30:00',
      'sk-1',
    ]);
  });

  it('keeps JSON numbers and booleans typed under both input options', async () => {
    const spreadsheetId = fresh([]);
    const { data } = await api.spreadsheets.values.update({
      spreadsheetId,
      range: 'API_Keys!A1:C2',
      valueInputOption: 'RAW',
      requestBody: { values: [[1.5, true], [46022.5]] },
    });
    expect(data).toEqual({
      spreadsheetId,
      updatedRange: 'API_Keys!A1:B2',
      updatedRows: 2,
      updatedColumns: 2,
      updatedCells: 3,
    });
    expect(emulator.getValues(spreadsheetId, 'API_Keys')).toEqual([[1.5, true], [46022.5]]);
  });

  it('skips null and clears on ""', async () => {
    const spreadsheetId = fresh([['a', 'b', 'c']]);
    await api.spreadsheets.values.update({
      spreadsheetId,
      range: 'API_Keys!A1',
      valueInputOption: 'RAW',
      requestBody: { values: [[null, '', 'C']] },
    });
    expect(emulator.getValues(spreadsheetId, 'API_Keys')).toEqual([['a', '', 'C']]);
  });

  it('refuses values that do not fit the named range, and a missing valueInputOption', async () => {
    const spreadsheetId = fresh();
    const wide = await failure(
      api.spreadsheets.values.update({
        spreadsheetId,
        range: 'API_Keys!A2:B2',
        valueInputOption: 'RAW',
        requestBody: { values: [['1', '2', '3']] },
      }),
    );
    expect(wide.error).toMatchObject({
      code: 400,
      message: 'Requested writing within range [API_Keys!A2:B2], but tried writing to column [C]',
    });
    const unspecified = await failure(
      api.spreadsheets.values.update({ spreadsheetId, range: 'API_Keys!A2', requestBody: { values: [['x']] } }),
    );
    expect(unspecified.error).toMatchObject({
      code: 400,
      message: 'Invalid valueInputOption: INPUT_VALUE_OPTION_UNSPECIFIED',
    });
    expect(emulator.getValues(spreadsheetId, 'API_Keys')).toEqual([HEADER]);
  });

  it('writes past column Z and grows the grid', async () => {
    const spreadsheetId = fresh();
    await api.spreadsheets.values.update({
      spreadsheetId,
      range: 'API_Keys!Z1:AB1',
      valueInputOption: 'RAW',
      requestBody: { values: [['z', 'aa', 'ab']] },
    });
    const { data } = await api.spreadsheets.values.get({ spreadsheetId, range: 'API_Keys!Y1:AB1' });
    expect(data).toMatchObject({ range: 'API_Keys!Y1:AB1', values: [['', 'z', 'aa', 'ab']] });
    const meta = await api.spreadsheets.get({ spreadsheetId });
    expect(meta.data.sheets?.[0]?.properties?.gridProperties?.columnCount).toBe(28);
  });

  it('values.batchUpdate writes every range in one call and reports totals', async () => {
    const spreadsheetId = fresh([HEADER, ['k1', 'A', 1], ['k2', 'B', 2]]);
    emulator.resetStats();
    const { data } = await api.spreadsheets.values.batchUpdate({
      spreadsheetId,
      requestBody: {
        valueInputOption: 'USER_ENTERED',
        data: [
          { range: "'API_Keys'!C2", values: [[11]] },
          { range: "'API_Keys'!C3:D3", values: [['12', '2026-01-01 10:00:00']] },
        ],
      },
    });
    expect(data).toEqual({
      spreadsheetId,
      totalUpdatedRows: 2,
      totalUpdatedColumns: 2,
      totalUpdatedCells: 3,
      totalUpdatedSheets: 1,
      responses: [
        { spreadsheetId, updatedRange: 'API_Keys!C2', updatedRows: 1, updatedColumns: 1, updatedCells: 1 },
        { spreadsheetId, updatedRange: 'API_Keys!C3:D3', updatedRows: 1, updatedColumns: 2, updatedCells: 2 },
      ],
    });
    expect(emulator.getValues(spreadsheetId, 'API_Keys').slice(1)).toEqual([
      ['k1', 'A', 11],
      ['k2', 'B', 12, 46023 + 10 / 24],
    ]);
    expect(emulator.stats).toEqual({ reads: 0, writes: 1, drive: 0, byMethod: { 'values.batchUpdate': 1 } });
  });

  it('values.batchUpdate is atomic: one bad range and nothing is written', async () => {
    const spreadsheetId = fresh([HEADER, ['k1', 'A', 1]]);
    const f = await failure(
      api.spreadsheets.values.batchUpdate({
        spreadsheetId,
        requestBody: {
          valueInputOption: 'RAW',
          data: [
            { range: 'API_Keys!C2', values: [[99]] },
            { range: 'Gone!C2', values: [[99]] },
          ],
        },
      }),
    );
    expect(f.error).toMatchObject({ code: 400, message: 'Unable to parse range: Gone!C2' });
    expect(emulator.getValues(spreadsheetId, 'API_Keys')[1]).toEqual(['k1', 'A', 1]);
  });

  it('values.append with INSERT_ROWS writes after the table and shifts what lies below', async () => {
    const spreadsheetId = fresh([HEADER, ['k1', 'A', 1], [], [], [null, null, null, null, null, null, null, 'note']]);
    const { data } = await api.spreadsheets.values.append({
      spreadsheetId,
      range: 'API_Keys!A:C',
      valueInputOption: 'RAW',
      insertDataOption: 'INSERT_ROWS',
      requestBody: { values: [['k2', 'B', 0]] },
    });
    expect(data).toEqual({
      spreadsheetId,
      tableRange: 'API_Keys!A1:C2',
      updates: { spreadsheetId, updatedRange: 'API_Keys!A3:C3', updatedRows: 1, updatedColumns: 3, updatedCells: 3 },
    });
    const values = emulator.getValues(spreadsheetId, 'API_Keys');
    expect(values.slice(0, 3)).toEqual([HEADER, ['k1', 'A', 1], ['k2', 'B', 0]]);
    expect(values[5]?.[7]).toBe('note'); // was row 5, now row 6
  });

  it('values.append starts at the first column of the table; OVERWRITE is the default', async () => {
    const spreadsheetId = fresh([[], [null, 'h1', 'h2'], [null, 'a', 'b'], [], ['below']]);
    const { data } = await api.spreadsheets.values.append({
      spreadsheetId,
      range: 'API_Keys!B1:C',
      valueInputOption: 'RAW',
      requestBody: { values: [['c', 'd']] },
    });
    expect(data.tableRange).toBe('API_Keys!B2:C3');
    expect(data.updates?.updatedRange).toBe('API_Keys!B4:C4');
    expect(emulator.getValues(spreadsheetId, 'API_Keys').slice(3)).toEqual([['', 'c', 'd'], ['below']]);
  });

  it('values.append to an empty tab writes at the top and reports no table', async () => {
    const spreadsheetId = fresh([]);
    const { data } = await api.spreadsheets.values.append({
      spreadsheetId,
      range: 'API_Keys',
      valueInputOption: 'USER_ENTERED',
      requestBody: { values: [HEADER] },
    });
    expect(data.tableRange).toBeUndefined();
    expect(data.updates?.updatedRange).toBe('API_Keys!A1:C1');
  });

  it('values.clear and values.batchClear empty ranges', async () => {
    const spreadsheetId = fresh([HEADER, ['k1', 'A', 1], ['k2', 'B', 2]]);
    const one = await api.spreadsheets.values.clear({ spreadsheetId, range: 'API_Keys!C2:C3' });
    expect(one.data).toEqual({ spreadsheetId, clearedRange: 'API_Keys!C2:C3' });
    const many = await api.spreadsheets.values.batchClear({
      spreadsheetId,
      requestBody: { ranges: ['API_Keys!A3:B3'] },
    });
    expect(many.data).toEqual({ spreadsheetId, clearedRanges: ['API_Keys!A3:B3'] });
    expect(emulator.getValues(spreadsheetId, 'API_Keys')).toEqual([HEADER, ['k1', 'A']]);
    expect(emulator.stats.byMethod).toMatchObject({ 'values.clear': 1, 'values.batchClear': 1 });
  });
});
