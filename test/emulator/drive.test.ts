/** The emulator's Drive v3 `files.get`, through the real `@googleapis/drive` client over HTTP. */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Emulator } from '../../emulator/server';
import { makeCredentials } from '../../emulator/credentials';
import type { ServiceAccount } from '../../emulator/credentials';
import { driveClient, sheetsClient, trustedEmulator } from '../helpers/emulator';
import { failure } from './google-error';

const TAB = 'API_Keys';

describe('emulator: Drive files.get and the file version', () => {
  let emulator: Emulator;
  let credentials: ServiceAccount;
  let drive: ReturnType<typeof driveClient>;

  beforeAll(async () => {
    ({ emulator, credentials } = await trustedEmulator());
    drive = driveClient(emulator.url, credentials);
  });
  afterAll(async () => {
    await emulator.close();
  });

  const version = async (id: string): Promise<string | null | undefined> =>
    (await drive.files.get({ fileId: id, fields: 'version' })).data.version;

  it('answers the fields asked for: version (an int64 string) and modifiedTime', async () => {
    const id = emulator.createSpreadsheet({ title: 'Keys', tabs: { [TAB]: [['api_key']] } });
    const { data } = await drive.files.get({ fileId: id, fields: 'version,modifiedTime' });
    expect(Object.keys(data).sort()).toEqual(['modifiedTime', 'version']);
    expect(data.version).toBe(String(emulator.version(id)));
    expect(Date.parse(data.modifiedTime ?? '')).not.toBeNaN();
    expect((await drive.files.get({ fileId: id })).data).toMatchObject({ id, name: 'Keys', kind: 'drive#file' });
  });

  it('bumps the version on every change — API writes and admin edits alike — and never on reads', async () => {
    const id = emulator.createSpreadsheet({ tabs: { [TAB]: [['api_key'], ['a'], ['b']] } });
    const sheets = sheetsClient(emulator.url, credentials);
    const seen = [await version(id)];
    const changes: (() => Promise<unknown>)[] = [
      () =>
        sheets.spreadsheets.values.update({
          spreadsheetId: id,
          range: `${TAB}!A2`,
          valueInputOption: 'RAW',
          requestBody: { values: [['c']] },
        }),
      () =>
        sheets.spreadsheets.values.append({
          spreadsheetId: id,
          range: TAB,
          valueInputOption: 'RAW',
          requestBody: { values: [['d']] },
        }),
      () => {
        emulator.setValues(id, TAB, [['api_key'], ['e']]);
        return Promise.resolve();
      },
      () => {
        emulator.insertRows(id, TAB, 2, [['f']]);
        return Promise.resolve();
      },
      () => {
        emulator.deleteRow(id, TAB, 2);
        return Promise.resolve();
      },
      () => {
        emulator.sortRows(id, TAB, () => 0);
        return Promise.resolve();
      },
    ];
    for (const change of changes) {
      await sheets.spreadsheets.values.get({ spreadsheetId: id, range: TAB });
      expect(await version(id)).toBe(seen.at(-1));
      await change();
      seen.push(await version(id));
    }
    const numbers = seen.map(Number);
    expect(numbers).toEqual([...numbers].sort((a, b) => a - b));
    expect(new Set(numbers).size).toBe(changes.length + 1);
  });

  it('a refused write leaves the version as it was', async () => {
    const id = emulator.createSpreadsheet({ tabs: { [TAB]: [['api_key']] } });
    const before = await version(id);
    const sheets = sheetsClient(emulator.url, credentials);
    await failure(
      sheets.spreadsheets.values.update({
        spreadsheetId: id,
        range: 'NoSuchTab!A1',
        valueInputOption: 'RAW',
        requestBody: { values: [['x']] },
      }),
    );
    expect(await version(id)).toBe(before);
  });

  it('checks the JWT scope as for Sheets: a token without a Drive scope gets 403', async () => {
    const id = emulator.createSpreadsheet({ tabs: { [TAB]: [['api_key']] } });
    const sheetsOnly = driveClient(emulator.url, credentials, {
      scopes: ['https://www.googleapis.com/auth/spreadsheets'],
    });
    expect((await failure(sheetsOnly.files.get({ fileId: id, fields: 'version' }))).error).toMatchObject({
      code: 403,
      message: 'Request had insufficient authentication scopes.',
    });
  });

  it('404 "File not found" for an unknown file and for one not shared with the caller', async () => {
    const other = makeCredentials().credentials;
    emulator.trust(other);
    const id = emulator.createSpreadsheet({ tabs: { [TAB]: [['api_key']] }, sharedWith: [other.client_email] });
    for (const fileId of ['no-such-file', id]) {
      expect((await failure(drive.files.get({ fileId, fields: 'version' }))).error).toMatchObject({
        code: 404,
        message: `File not found: ${fileId}.`,
      });
    }
  });

  it('faults: 403 "API not enabled" by default, 5xx, timeouts; Sheets faults never land on Drive, nor Drive faults on Sheets', async () => {
    const id = emulator.createSpreadsheet({ tabs: { [TAB]: [['api_key']] } });
    const sheets = sheetsClient(emulator.url, credentials);
    emulator.fault({ status: 500, method: 'any' });
    expect(await version(id)).toBe(String(emulator.version(id)));
    await failure(sheets.spreadsheets.get({ spreadsheetId: id })); // the Sheets fault was still armed
    emulator.fault({ method: 'drive', status: 403 });
    await sheets.spreadsheets.get({ spreadsheetId: id });
    expect((await failure(version(id))).error).toMatchObject({
      code: 403,
      status: 'PERMISSION_DENIED',
      message: expect.stringContaining('Google Drive API has not been used in project'),
    });
    emulator.fault({ method: 'files.get', status: 503 });
    expect((await failure(version(id))).status).toBe(503);
    emulator.fault({ method: 'files.get', latencyMs: 5000 });
    const slow = driveClient(emulator.url, credentials, { timeoutMs: 200 });
    expect((await failure(slow.files.get({ fileId: id, fields: 'version' }))).chain).toMatch(/timeout|abort/i);
  });

  it('counts Drive calls apart from Sheets reads and writes', async () => {
    const id = emulator.createSpreadsheet({ tabs: { [TAB]: [['api_key']] } });
    emulator.resetStats();
    await version(id);
    await version(id);
    expect(emulator.stats).toMatchObject({ reads: 0, writes: 0, drive: 2, byMethod: { 'files.get': 2 } });
  });
});
