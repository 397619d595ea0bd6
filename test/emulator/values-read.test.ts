import type { sheets_v4 } from '@googleapis/sheets';
import type { Emulator } from '../../emulator/server';
import { trustedEmulator } from '../helpers/emulator';
import { failure } from './google-error';

describe('emulator reads over HTTP (real googleapis client)', () => {
  let emulator: Emulator;
  let api: sheets_v4.Sheets;
  let id: string;

  beforeAll(async () => {
    ({ emulator, api } = await trustedEmulator());
    id = emulator.createSpreadsheet({
      title: 'Keys',
      timeZone: 'Europe/Paris',
      tabs: {
        API_Keys: [
          ['api_key', 'client_name', 'expires_at', 'is_active', 'rate_limit'],
          ['sk-1', 'Alpha', '2025-12-31 23:59:59', 'TRUE', '7', null],
          [],
          ['sk-2', null, '2026-01-15', 'false', ''],
          [null, null],
          [],
        ],
        'API Keys': [['x']],
        Empty: [],
      },
    });
  });

  afterAll(async () => {
    await emulator.close();
  });

  it('spreadsheets.get returns properties and tabs with their grids', async () => {
    const { data } = await api.spreadsheets.get({ spreadsheetId: id, fields: 'properties.timeZone' });
    expect(data.spreadsheetId).toBe(id);
    expect(data.properties).toMatchObject({ title: 'Keys', timeZone: 'Europe/Paris', locale: 'en_US' });
    expect(data.sheets?.map((s) => s.properties)).toEqual([
      expect.objectContaining({
        sheetId: 0,
        title: 'API_Keys',
        index: 0,
        gridProperties: { rowCount: 1000, columnCount: 26 },
      }),
      expect.objectContaining({ title: 'API Keys', index: 1 }),
      expect.objectContaining({ title: 'Empty', index: 2 }),
    ]);
  });

  it('values.get omits trailing empty cells and rows, keeps "" mid-row and [] mid-range', async () => {
    const { data } = await api.spreadsheets.values.get({ spreadsheetId: id, range: 'API_Keys' });
    expect(data).toEqual({
      range: 'API_Keys!A1:Z1000',
      majorDimension: 'ROWS',
      values: [
        ['api_key', 'client_name', 'expires_at', 'is_active', 'rate_limit'],
        ['sk-1', 'Alpha', '2025-12-31 23:59:59', 'TRUE', '7'],
        [],
        ['sk-2', '', '2026-01-15', 'FALSE'],
      ],
    });
  });

  it('UNFORMATTED_VALUE returns booleans, numbers and date serials', async () => {
    const { data } = await api.spreadsheets.values.get({
      spreadsheetId: id,
      range: "'API_Keys'!A2:E4",
      valueRenderOption: 'UNFORMATTED_VALUE',
      dateTimeRenderOption: 'SERIAL_NUMBER',
    });
    expect(data.range).toBe('API_Keys!A2:E4');
    expect(data.values).toEqual([['sk-1', 'Alpha', 46022.99998842592, true, 7], [], ['sk-2', '', 46037, false]]);
  });

  it('dateTimeRenderOption=FORMATTED_STRING formats dates only, and is ignored under FORMATTED_VALUE', async () => {
    const unformatted = await api.spreadsheets.values.get({
      spreadsheetId: id,
      range: 'API_Keys!C2:E2',
      valueRenderOption: 'UNFORMATTED_VALUE',
      dateTimeRenderOption: 'FORMATTED_STRING',
    });
    expect(unformatted.data.values).toEqual([['2025-12-31 23:59:59', true, 7]]);
    const formatted = await api.spreadsheets.values.get({
      spreadsheetId: id,
      range: 'API_Keys!C2:E2',
      valueRenderOption: 'FORMATTED_VALUE',
      dateTimeRenderOption: 'SERIAL_NUMBER',
    });
    expect(formatted.data.values).toEqual([['2025-12-31 23:59:59', 'TRUE', '7']]);
  });

  it('echoes open and quoted ranges clipped to the grid', async () => {
    const open = await api.spreadsheets.values.get({ spreadsheetId: id, range: "'API_Keys'!B1:C" });
    expect(open.data.range).toBe('API_Keys!B1:C1000');
    expect(open.data.values?.[1]).toEqual(['Alpha', '2025-12-31 23:59:59']);
    const spaced = await api.spreadsheets.values.get({ spreadsheetId: id, range: "'API Keys'" });
    expect(spaced.data).toMatchObject({ range: "'API Keys'!A1:Z1000", values: [['x']] });
    const column = await api.spreadsheets.values.get({ spreadsheetId: id, range: 'api_keys!A:A' });
    expect(column.data.values).toEqual([['api_key'], ['sk-1'], [], ['sk-2']]);
  });

  it('reads cells without a sheet name from the first tab', async () => {
    const { data } = await api.spreadsheets.values.get({ spreadsheetId: id, range: 'A1:B1' });
    expect(data).toMatchObject({ range: 'API_Keys!A1:B1', values: [['api_key', 'client_name']] });
  });

  it('omits values entirely for an empty range', async () => {
    const { data } = await api.spreadsheets.values.get({ spreadsheetId: id, range: 'Empty' });
    expect(data).toEqual({ range: 'Empty!A1:Z1000', majorDimension: 'ROWS' });
    expect('values' in data).toBe(false);
  });

  it('majorDimension=COLUMNS transposes', async () => {
    const { data } = await api.spreadsheets.values.get({
      spreadsheetId: id,
      range: 'API_Keys!A1:B2',
      majorDimension: 'COLUMNS',
    });
    expect(data).toMatchObject({
      majorDimension: 'COLUMNS',
      values: [
        ['api_key', 'sk-1'],
        ['client_name', 'Alpha'],
      ],
    });
  });

  it('values.batchGet answers each range in order', async () => {
    const { data } = await api.spreadsheets.values.batchGet({
      spreadsheetId: id,
      ranges: ['API_Keys!A1', "'API Keys'!A1:B2", 'Empty!A1'],
      valueRenderOption: 'UNFORMATTED_VALUE',
    });
    expect(data).toEqual({
      spreadsheetId: id,
      valueRanges: [
        { range: 'API_Keys!A1', majorDimension: 'ROWS', values: [['api_key']] },
        { range: "'API Keys'!A1:B2", majorDimension: 'ROWS', values: [['x']] },
        { range: 'Empty!A1', majorDimension: 'ROWS' },
      ],
    });
  });

  it.each([
    ['a missing tab', 'Nope', 'Unable to parse range: Nope'],
    ['a missing quoted tab', "'No pe'!A1:Z", "Unable to parse range: 'No pe'!A1:Z"],
    ['bad A1', 'API_Keys!A0', 'Unable to parse range: API_Keys!A0'],
    [
      'a range past the grid',
      'API_Keys!A1:AB2',
      'Range (API_Keys!A1:AB2) exceeds grid limits. Max rows: 1000, max columns: 26',
    ],
  ])('answers 400 INVALID_ARGUMENT for %s', async (_name, range, message) => {
    const f = await failure(api.spreadsheets.values.get({ spreadsheetId: id, range }));
    expect(f.status).toBe(400);
    expect(f.error).toEqual({ code: 400, message, status: 'INVALID_ARGUMENT' });
  });

  it('fails a whole batchGet for one bad range', async () => {
    const f = await failure(
      api.spreadsheets.values.batchGet({ spreadsheetId: id, ranges: ['API_Keys!A1', 'Nope!A1'] }),
    );
    expect(f.error).toMatchObject({ code: 400, message: 'Unable to parse range: Nope!A1' });
  });

  it('answers 404 NOT_FOUND for an unknown spreadsheet', async () => {
    const f = await failure(api.spreadsheets.values.get({ spreadsheetId: 'no-such-sheet', range: 'A1' }));
    expect(f.status).toBe(404);
    expect(f.error).toEqual({ code: 404, message: 'Requested entity was not found.', status: 'NOT_FOUND' });
  });

  it('answers 403 PERMISSION_DENIED when the sheet is not shared with the caller', async () => {
    const privateId = emulator.createSpreadsheet({ sharedWith: ['someone-else@example.iam.gserviceaccount.com'] });
    const f = await failure(api.spreadsheets.get({ spreadsheetId: privateId }));
    expect(f.status).toBe(403);
    expect(f.error).toEqual({ code: 403, message: 'The caller does not have permission', status: 'PERMISSION_DENIED' });
  });
});
