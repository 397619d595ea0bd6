import type { sheets_v4 } from '@googleapis/sheets';
import { startEmulator } from '../../emulator/server';
import type { Emulator } from '../../emulator/server';
import type { ServiceAccount } from '../../emulator/credentials';
import { sheetsClient, trustedEmulator } from '../helpers/emulator';
import { failure } from './google-error';

describe('emulator faults, outages and counters', () => {
  let emulator: Emulator;
  let credentials: ServiceAccount;
  let api: sheets_v4.Sheets;
  let id: string;

  beforeAll(async () => {
    ({ emulator, credentials, api } = await trustedEmulator());
    id = emulator.createSpreadsheet({
      tabs: {
        API_Keys: [
          ['api_key', 'usage_count'],
          ['k1', 0],
        ],
      },
    });
  });

  afterEach(async () => {
    emulator.clearFaults();
    await emulator.up();
    emulator.resetStats();
  });

  afterAll(async () => {
    await emulator.close();
  });

  const read = () => api.spreadsheets.values.get({ spreadsheetId: id, range: 'API_Keys' });
  const write = (n: number) =>
    api.spreadsheets.values.update({
      spreadsheetId: id,
      range: 'API_Keys!B2',
      valueInputOption: 'RAW',
      requestBody: { values: [[n]] },
    });

  it('fails N matching calls with the status, then recovers; other methods pass; faults count as calls', async () => {
    emulator.fault({ status: 503, times: 2, method: 'values.get' });
    expect((await failure(read())).error).toEqual({
      code: 503,
      message: 'The service is currently unavailable.',
      status: 'UNAVAILABLE',
    });
    expect((await api.spreadsheets.get({ spreadsheetId: id })).status).toBe(200);
    expect((await failure(read())).status).toBe(503);
    expect((await read()).status).toBe(200);
    expect(emulator.stats).toEqual({
      reads: 4,
      writes: 0,
      drive: 0,
      byMethod: { 'values.get': 3, 'spreadsheets.get': 1 },
    });
  });

  it('answers 429 RESOURCE_EXHAUSTED with the write quota wording for writes, or a custom message', async () => {
    emulator.fault({ status: 429, method: 'write' });
    emulator.fault({ status: 500, message: 'boom', method: 'read' });
    const quota = await failure(write(1));
    expect(quota.error).toMatchObject({ code: 429, status: 'RESOURCE_EXHAUSTED' });
    expect(quota.error?.message).toMatch(/quota metric 'Write requests'/);
    expect((await failure(read())).error).toEqual({ code: 500, message: 'boom', status: 'INTERNAL' });
  });

  it('delays a call without blocking others', async () => {
    emulator.fault({ latencyMs: 800, method: 'values.get' });
    let slowSettled = false;
    const slow = read().finally(() => {
      slowSettled = true;
    });
    await api.spreadsheets.get({ spreadsheetId: id });
    expect(slowSettled).toBe(false);
    expect((await slow).data.values).toHaveLength(2);
  });

  it("lets the client's timeout abort a hung call, and keeps serving", async () => {
    emulator.fault({ latencyMs: 60_000 });
    const impatient = sheetsClient(emulator.url, credentials, { timeoutMs: 300 });
    const f = await failure(impatient.spreadsheets.values.get({ spreadsheetId: id, range: 'API_Keys' }));
    expect(f.status).toBeUndefined();
    expect(f.chain).toMatch(/abort|timeout/i);
    expect((await read()).status).toBe(200);
  });

  it('applyThenDelayMs: the write is applied although the client saw a timeout (unknown outcome)', async () => {
    emulator.fault({ applyThenDelayMs: 5_000, method: 'write' });
    const impatient = sheetsClient(emulator.url, credentials, { timeoutMs: 300 });
    const f = await failure(
      impatient.spreadsheets.values.update({
        spreadsheetId: id,
        range: 'API_Keys!B2',
        valueInputOption: 'RAW',
        requestBody: { values: [[41]] },
      }),
    );
    expect(f.chain).toMatch(/abort|timeout/i);
    expect(emulator.getValues(id, 'API_Keys')[1]).toEqual(['k1', 41]);
    expect(emulator.stats.writes).toBe(1);
  });

  it('applyThenDelayMs with a status: applied, then answered with the error', async () => {
    emulator.fault({ applyThenDelayMs: 0, status: 500, method: 'values.update' });
    expect((await failure(write(42))).status).toBe(500);
    expect(emulator.getValues(id, 'API_Keys')[1]).toEqual(['k1', 42]);
  });

  it('down() refuses connections until up() on the same URL; refused calls are not counted', async () => {
    const url = emulator.url;
    await emulator.down();
    const f = await failure(read());
    expect(f.status).toBeUndefined();
    expect(f.chain).toMatch(/ECONNREFUSED/);
    await emulator.up();
    expect(emulator.url).toBe(url);
    expect((await read()).status).toBe(200);
    expect(emulator.stats.reads).toBe(1);
  });

  it('counts reads and writes by method, and returns a frozen copy', async () => {
    await read();
    await api.spreadsheets.values.batchGet({ spreadsheetId: id, ranges: ['API_Keys!A1'] });
    await write(1);
    await api.spreadsheets.values.append({
      spreadsheetId: id,
      range: 'API_Keys',
      valueInputOption: 'RAW',
      requestBody: { values: [['k2', 0]] },
    });
    const stats = emulator.stats;
    expect(stats).toEqual({
      reads: 2,
      writes: 2,
      drive: 0,
      byMethod: { 'values.get': 1, 'values.batchGet': 1, 'values.update': 1, 'values.append': 1 },
    });
    await read();
    expect(stats.reads).toBe(2);
    expect(Object.isFrozen(stats)).toBe(true);
    emulator.resetStats();
    expect(emulator.stats).toEqual({ reads: 0, writes: 0, drive: 0, byMethod: {} });
  });

  it('clearFaults() disarms pending faults', async () => {
    emulator.fault({ status: 500, times: 10 });
    emulator.clearFaults();
    expect((await read()).status).toBe(200);
  });

  it.each([
    [{ method: 'values.getAll' }, /method "values.getAll" is not one of/],
    [{ status: 200 }, /status 200 is not an HTTP error status/],
    [{ times: -1 }, /times must be a number >= 0/],
  ])('refuses an invalid fault %p', (fault, message) => {
    expect(() => {
      emulator.fault(fault);
    }).toThrow(message);
  });

  it('close() cancels a delayed response instead of waiting for it', async () => {
    const other = await startEmulator();
    other.trust(credentials);
    const sheet = other.createSpreadsheet({});
    other.fault({ latencyMs: 60_000 });
    const pending = failure(sheetsClient(other.url, credentials).spreadsheets.get({ spreadsheetId: sheet }));
    await new Promise((resolve) => setTimeout(resolve, 100));
    await other.close();
    expect((await pending).status).toBeUndefined();
    await expect(other.up()).rejects.toThrow(/after close/);
  });
});
