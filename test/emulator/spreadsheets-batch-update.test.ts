import type { sheets_v4 } from '@googleapis/sheets';
import type { Emulator } from '../../emulator/server';
import { trustedEmulator } from '../helpers/emulator';
import { failure } from './google-error';

describe('emulator spreadsheets.batchUpdate addSheet over HTTP (real googleapis client)', () => {
  let emulator: Emulator;
  let api: sheets_v4.Sheets;

  beforeAll(async () => {
    ({ emulator, api } = await trustedEmulator());
  });

  afterAll(async () => {
    await emulator.close();
  });

  it('adds a tab that values calls then read and write, and counts one write', async () => {
    const spreadsheetId = emulator.createSpreadsheet({ tabs: { API_Keys: [['api_key']] } });
    emulator.resetStats();
    const { data } = await api.spreadsheets.batchUpdate({
      spreadsheetId,
      requestBody: { requests: [{ addSheet: { properties: { title: 'API_Usage' } } }] },
    });
    expect(data.replies?.[0]?.addSheet?.properties).toMatchObject({
      title: 'API_Usage',
      index: 1,
      sheetType: 'GRID',
      gridProperties: { rowCount: 1000, columnCount: 26 },
    });
    expect(emulator.stats.byMethod).toEqual({ 'spreadsheets.batchUpdate': 1 });
    expect(emulator.stats.writes).toBe(1);
    await api.spreadsheets.values.update({
      spreadsheetId,
      range: "'API_Usage'!A1",
      valueInputOption: 'RAW',
      requestBody: { values: [['date', 'key_id']] },
    });
    expect(emulator.getValues(spreadsheetId, 'API_Usage')).toEqual([['date', 'key_id']]);
    const meta = await api.spreadsheets.get({ spreadsheetId });
    expect(meta.data.sheets?.map((s) => s.properties?.title)).toEqual(['API_Keys', 'API_Usage']);
  });

  it('refuses a title already taken (case-insensitively), and applies nothing of a batch with a bad request', async () => {
    const spreadsheetId = emulator.createSpreadsheet({ tabs: { API_Keys: [['api_key']] } });
    const taken = await failure(
      api.spreadsheets.batchUpdate({
        spreadsheetId,
        requestBody: { requests: [{ addSheet: { properties: { title: 'api_keys' } } }] },
      }),
    );
    expect(taken).toMatchObject({ status: 400 });
    expect(taken.error?.message).toContain('A sheet with the name "api_keys" already exists');
    const mixed = await failure(
      api.spreadsheets.batchUpdate({
        spreadsheetId,
        requestBody: { requests: [{ addSheet: { properties: { title: 'New' } } }, { deleteSheet: { sheetId: 0 } }] },
      }),
    );
    expect(mixed).toMatchObject({ status: 400 });
    expect(mixed.error?.message).toContain('deleteSheet');
    const meta = await api.spreadsheets.get({ spreadsheetId });
    expect(meta.data.sheets?.map((s) => s.properties?.title)).toEqual(['API_Keys']);
  });
});
