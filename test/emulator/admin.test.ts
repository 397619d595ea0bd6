import type { sheets_v4 } from '@googleapis/sheets';
import type { Emulator } from '../../emulator/server';
import { makeCredentials } from '../../emulator/credentials';
import { sheetsClient, trustedEmulator } from '../helpers/emulator';
import { failure } from './google-error';

describe('emulator admin: in-process API and the /__emulator/ HTTP surface', () => {
  let emulator: Emulator;
  let api: sheets_v4.Sheets;

  beforeAll(async () => {
    ({ emulator, api } = await trustedEmulator());
  });

  afterAll(async () => {
    await emulator.close();
  });

  const HEADER = ['api_key', 'client_name', 'rate_limit'];
  const seed = () => emulator.createSpreadsheet({ tabs: { API_Keys: [HEADER, ['k1', 'B', 1], ['k2', 'A', 2]] } });

  async function admin(method: string, path: string, body?: unknown): Promise<{ status: number; body: unknown }> {
    const res = await fetch(`${emulator.url}__emulator/${path}`, {
      method,
      ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
    });
    const text = await res.text();
    return { status: res.status, body: text === '' ? undefined : (JSON.parse(text) as unknown) };
  }

  it('creates spreadsheets with Google-like defaults and refuses a duplicate id', async () => {
    const id = emulator.createSpreadsheet();
    expect(id).toMatch(/^[A-Za-z0-9_-]{44}$/);
    const { data } = await api.spreadsheets.get({ spreadsheetId: id });
    expect(data.properties?.timeZone).toBe('Etc/UTC');
    expect(data.sheets?.map((s) => s.properties?.title)).toEqual(['Sheet1']);
    emulator.createSpreadsheet({ id: 'fixed' });
    expect(() => emulator.createSpreadsheet({ id: 'fixed' })).toThrow(/already exists/);
  });

  it('seeds as typed by a human (USER_ENTERED) unless told RAW', () => {
    const typed = emulator.createSpreadsheet({ tabs: { T: [['TRUE', '00123', '2025-12-31']] } });
    const raw = emulator.createSpreadsheet({ tabs: { T: [['TRUE', '00123', '2025-12-31']] }, inputOption: 'RAW' });
    expect(emulator.getValues(typed, 'T')).toEqual([[true, 123, 46022]]);
    expect(emulator.getValues(typed, 'T', 'FORMATTED_VALUE')).toEqual([['TRUE', '123', '2025-12-31']]);
    expect(emulator.getValues(raw, 'T')).toEqual([['TRUE', '00123', '2025-12-31']]);
  });

  it('setValues replaces a tab (and creates a missing one)', () => {
    const id = seed();
    emulator.setValues(id, 'API_Keys', [HEADER, ['k9', 'Z', '']]);
    emulator.setValues(id, 'Notes', [['hello']]);
    expect(emulator.getValues(id, 'API_Keys')).toEqual([HEADER, ['k9', 'Z']]);
    expect(emulator.getValues(id, 'Notes')).toEqual([['hello']]);
  });

  it('insertRows shifts rows down, deleteRow shifts them up, sortRows keeps the header', () => {
    const id = seed();
    emulator.insertRows(id, 'API_Keys', 2, [['k0', 'C', 3]]);
    expect(emulator.getValues(id, 'API_Keys').map((r) => r[0])).toEqual(['api_key', 'k0', 'k1', 'k2']);
    emulator.deleteRow(id, 'API_Keys', 3);
    expect(emulator.getValues(id, 'API_Keys').map((r) => r[0])).toEqual(['api_key', 'k0', 'k2']);
    emulator.sortRows(id, 'API_Keys', (a, b) => String(a[1]).localeCompare(String(b[1])));
    expect(emulator.getValues(id, 'API_Keys')).toEqual([HEADER, ['k2', 'A', 2], ['k0', 'C', 3]]);
    expect(() => {
      emulator.deleteRow(id, 'Nope', 1);
    }).toThrow(/has no tab "Nope"/);
  });

  it('shares new spreadsheets with every trusted account, including ones trusted later', async () => {
    const id = seed();
    const late = makeCredentials().credentials;
    emulator.trust(late);
    expect((await sheetsClient(emulator.url, late).spreadsheets.get({ spreadsheetId: id })).status).toBe(200);
    const only = emulator.createSpreadsheet({ sharedWith: [late.client_email.toUpperCase()] });
    expect((await failure(api.spreadsheets.get({ spreadsheetId: only }))).status).toBe(403);
  });

  it('drives spreadsheets over HTTP: create, read, replace, insert, delete', async () => {
    const created = await admin('POST', 'spreadsheets', {
      id: 'http-sheet',
      timeZone: 'Asia/Tokyo',
      tabs: { K: [HEADER] },
    });
    expect(created).toEqual({ status: 201, body: { id: 'http-sheet' } });
    expect((await admin('POST', 'spreadsheets/http-sheet/tabs/K', { values: [HEADER, ['k1', 'A', '5']] })).status).toBe(
      204,
    );
    expect(
      (await admin('POST', 'spreadsheets/http-sheet/tabs/K/rows', { at: 2, values: [['k0', 'B', null]] })).status,
    ).toBe(204);
    expect((await admin('DELETE', 'spreadsheets/http-sheet/tabs/K/rows/3')).status).toBe(204);
    expect(await admin('GET', 'spreadsheets/http-sheet/tabs/K')).toEqual({
      status: 200,
      body: { values: [HEADER, ['k0', 'B']] },
    });
    const listed = await admin('GET', 'spreadsheets');
    expect((listed.body as { spreadsheets: string[] }).spreadsheets).toContain('http-sheet');
    const { data } = await api.spreadsheets.get({ spreadsheetId: 'http-sheet' });
    expect(data.properties?.timeZone).toBe('Asia/Tokyo');
  });

  it('renders the tab view FORMATTED by default, UNFORMATTED on request', async () => {
    emulator.createSpreadsheet({ id: 'view', tabs: { T: [['2026-01-02 03:04:05', 'TRUE', '7']] } });
    expect((await admin('GET', 'spreadsheets/view/tabs/T')).body).toEqual({
      values: [['2026-01-02 03:04:05', 'TRUE', '7']],
    });
    const unformatted = await admin('GET', 'spreadsheets/view/tabs/T?render=UNFORMATTED_VALUE');
    expect(unformatted.body).toEqual({ values: [[46024 + (3 * 3600 + 4 * 60 + 5) / 86400, true, 7]] });
  });

  it('arms and clears faults and reads stats over HTTP; admin calls are not counted', async () => {
    const id = seed();
    await admin('POST', 'stats/reset');
    expect((await admin('POST', 'fault', { status: 429, method: 'read', times: 5 })).status).toBe(204);
    expect((await failure(api.spreadsheets.get({ spreadsheetId: id }))).status).toBe(429);
    expect((await admin('DELETE', 'faults')).status).toBe(204);
    expect((await api.spreadsheets.get({ spreadsheetId: id })).status).toBe(200);
    expect(await admin('GET', 'stats')).toEqual({
      status: 200,
      body: { reads: 2, writes: 0, drive: 0, byMethod: { 'spreadsheets.get': 2 } },
    });
  });

  it('answers 400 with a reason for bad admin input, 404 for unknown admin routes', async () => {
    expect(await admin('POST', 'fault', { method: 'values.explode' })).toEqual({
      status: 400,
      body: { error: expect.stringMatching(/method "values.explode" is not one of/) },
    });
    expect(await admin('POST', 'spreadsheets/nope/tabs/T', { values: [['x']] })).toEqual({
      status: 400,
      body: { error: 'emulator: no spreadsheet nope' },
    });
    expect((await admin('POST', 'spreadsheets', { tabs: { T: [[{ nested: true }]] } })).status).toBe(400);
    expect((await admin('GET', 'nothing-here')).status).toBe(404);
  });

  it('trusts an account over HTTP', async () => {
    const other = makeCredentials(undefined, { freshKey: true }).credentials;
    const id = seed();
    expect((await failure(sheetsClient(emulator.url, other).spreadsheets.get({ spreadsheetId: id }))).status).toBe(401);
    expect((await admin('POST', 'trust', other)).status).toBe(204);
    expect((await sheetsClient(emulator.url, other).spreadsheets.get({ spreadsheetId: id })).status).toBe(200);
  });

  it('POST outage takes the emulator down for a while, then it comes back by itself', async () => {
    const id = seed();
    expect(await admin('POST', 'outage', { ms: 300 })).toEqual({ status: 202, body: { downForMs: 300 } });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect((await failure(api.spreadsheets.get({ spreadsheetId: id }))).chain).toMatch(/ECONNREFUSED/);
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect((await api.spreadsheets.get({ spreadsheetId: id })).status).toBe(200);
  });
});
