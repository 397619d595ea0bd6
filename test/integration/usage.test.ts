/**
 * Usage write-back against the emulator: the real `@googleapis/sheets` client through `GoogleSheet`, over
 * HTTP, requests through the real middleware. No mocks; fake timers only in the interval-loop test.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it, jest } from '@jest/globals';
import request from 'supertest';
import type { Express } from 'express';
import { createApp } from '../../src/app';
import { epochToSerial, formatInZone } from '../../src/keys/dates';
import { hashKey, keyIdOf } from '../../src/keys/key-id';
import { GoogleSheet } from '../../src/keys/sheet-source';
import type { CellValue } from '../../src/keys/types';
import { sheetgate } from '../../src/sheetgate';
import type { Sheetgate } from '../../src/sheetgate';
import { UsageFlusher } from '../../src/usage/flusher';
import type { UsageFlusherOptions } from '../../src/usage/flusher';
import { usageStatusSection } from '../../src/usage/status-section';
import { startEmulator } from '../../emulator/server';
import type { Emulator } from '../../emulator/server';
import { makeCredentials } from '../../emulator/credentials';
import { captureLogger } from '../helpers/log-capture';

const TAB = 'API_Keys';
const ZONE = 'America/New_York';
const HEADER = ['api_key', 'client_name', 'is_active', 'rate_limit', 'usage_count', 'last_used_at'];
/** Requests are stamped with this clock: 2026-03-02 15:04:05.678 UTC = 10:04:05 in New York. */
const NOW = Date.UTC(2026, 2, 2, 15, 4, 5, 678);

describe('usage write-back against the emulator (real googleapis client over HTTP)', () => {
  let emulator: Emulator;
  const { credentials } = makeCredentials();
  const { logger, capture } = captureLogger();
  const usedKeys: string[] = [];
  const cleanups: (() => Promise<unknown>)[] = [];

  beforeAll(async () => {
    emulator = await startEmulator();
    emulator.trust(credentials);
  });

  afterEach(async () => {
    jest.useRealTimers();
    emulator.clearFaults();
    await emulator.up();
    await Promise.all(cleanups.splice(0).map((c) => c()));
    emulator.resetStats();
  });

  afterAll(async () => {
    await emulator.close();
    const text = capture.text();
    for (const k of usedKeys) {
      expect(text).not.toContain(k);
    }
  });

  function keys(n: number): string[] {
    const list = Array.from({ length: n }, () => `sk-convergence-${randomUUID()}`);
    usedKeys.push(...list);
    return list;
  }

  function seed(rows: CellValue[][], header: CellValue[] = HEADER): string {
    return emulator.createSpreadsheet({ timeZone: ZONE, tabs: { [TAB]: [header, ...rows] } });
  }

  interface Setup {
    readonly gate: Sheetgate;
    readonly app: Express;
    readonly flusher: UsageFlusher;
  }

  async function setup(id: string, options: Partial<UsageFlusherOptions> & { timeoutMs?: number } = {}) {
    const sheet = new GoogleSheet({
      credentials,
      spreadsheetId: id,
      sheetName: TAB,
      rootUrl: emulator.url,
      logger,
      ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
    });
    const flusher = new UsageFlusher({
      sheet,
      logger,
      timeZone: () => gate.store?.snapshot()?.timeZone, // called at flush time, once `gate` exists
      ...options,
    });
    const gate = sheetgate({ source: sheet, logger, usage: flusher, now: () => NOW });
    const app = createApp({ gate, logger, statusSections: { usage: usageStatusSection(flusher) } });
    cleanups.push(async () => {
      await flusher.stop();
      await gate.close();
    });
    await gate.ready();
    emulator.resetStats();
    return { gate, app, flusher } satisfies Setup;
  }

  async function hit(app: Express, key: string, times: number, expectStatus = 200): Promise<void> {
    for (let i = 0; i < times; i++) {
      await request(app).get('/api/hello').set('Authorization', `Bearer ${key}`).expect(expectStatus);
    }
  }

  /** The row holding `key` (in column A), as `values.get` returns it now. */
  function rowOf(id: string, key: string, render?: 'FORMATTED_VALUE'): CellValue[] {
    const row = emulator.getValues(id, TAB, render).find((r) => r[0] === key);
    if (row === undefined) {
      throw new Error('key row not found');
    }
    return row;
  }

  function countOf(id: string, key: string): CellValue | undefined {
    return rowOf(id, key)[HEADER.indexOf('usage_count')];
  }

  /** An admin typing over one cell (1-based row, 0-based column). */
  function setCell(id: string, row: number, column: number, value: CellValue): void {
    const rows = emulator.getValues(id, TAB);
    const target = rows[row - 1] ?? [];
    target[column] = value;
    rows[row - 1] = target;
    emulator.setValues(id, TAB, rows, 'RAW');
  }

  it('N accepted requests add exactly N on the right row; last_used_at is a date cell in the sheet zone', async () => {
    const [a, b, c] = keys(3);
    const id = seed([
      [a!, 'Alpha', true, '', 10],
      [b!, 'Beta', true, '', 3],
      [c!, 'Gamma', true, '', 7],
    ]);
    const { app, flusher } = await setup(id);
    await hit(app, a!, 17);
    await hit(app, c!, 4);

    const result = await flusher.flush();

    expect(result).toMatchObject({ outcome: 'written', keys: 2, requests: 21 });
    expect(countOf(id, a!)).toBe(27);
    expect(countOf(id, b!)).toBe(3);
    expect(countOf(id, c!)).toBe(11);
    const wholeSecond = NOW - (NOW % 1000);
    const lastUsed = rowOf(id, a!)[5];
    expect(lastUsed).toBeCloseTo(epochToSerial(wholeSecond, ZONE), 8); // a serial number: a real date cell
    expect(rowOf(id, a!, 'FORMATTED_VALUE')[5]).toBe('2026-03-02 10:04:05');
    expect(formatInZone(NOW, ZONE)).toBe('2026-03-02 10:04:05');
    expect(rowOf(id, b!)).toHaveLength(5); // untouched: no last_used_at
    expect(emulator.stats.byMethod).toEqual({ 'values.get': 1, 'values.batchUpdate': 1 });
  });

  it('does not count rate-limited requests (429 never reached the route)', async () => {
    const [a] = keys(1);
    const id = seed([[a!, 'Alpha', true, 5, 0]]);
    const { app, flusher } = await setup(id);
    await hit(app, a!, 5);
    await hit(app, a!, 3, 429);
    await request(app).get('/api/hello').set('Authorization', 'Bearer sk-nope-nope-nope-nope').expect(401);
    await flusher.flush();
    expect(countOf(id, a!)).toBe(5);
  });

  it('makes no Sheets call when nothing was used', async () => {
    const [a] = keys(1);
    const { flusher } = await setup(seed([[a!, 'Alpha', true]]));
    expect(await flusher.flush()).toMatchObject({ outcome: 'idle' });
    expect(emulator.stats).toMatchObject({ reads: 0, writes: 0 });
  });

  it('finds rows by key after rows are inserted above, the sheet is re-sorted and another row deleted', async () => {
    const [a, b, c, d, e, f] = keys(6);
    const id = seed([
      [a!, 'Alpha', true, '', 1],
      [b!, 'Bravo', true, '', 2],
      [c!, 'Charlie', true, '', 3],
      [d!, 'Delta', true, '', 4],
    ]);
    const { app, flusher } = await setup(id);
    await hit(app, a!, 3);
    await hit(app, c!, 5);
    await hit(app, d!, 2);

    // Between the snapshot load and the flush, an admin edits the sheet.
    emulator.insertRows(id, TAB, 2, [
      [e!, 'Echo', true, '', 100],
      [f!, 'Foxtrot', true, '', 200],
    ]);
    emulator.sortRows(id, TAB, (x, y) => String(y[1]).localeCompare(String(x[1]))); // by client_name, Z→A
    const bravoRow = emulator.getValues(id, TAB).findIndex((r) => r[0] === b) + 1;
    emulator.deleteRow(id, TAB, bravoRow);

    await flusher.flush();

    expect(emulator.getValues(id, TAB).map((r) => [r[1], r[4]])).toEqual([
      ['client_name', 'usage_count'],
      ['Foxtrot', 200],
      ['Echo', 100],
      ['Delta', 6],
      ['Charlie', 8],
      ['Alpha', 4],
    ]);
  });

  it('keeps the delta of a key whose row vanished out of the sheet and logs it once, by key id', async () => {
    const [a, b] = keys(2);
    const id = seed([
      [a!, 'Alpha', true, '', 0],
      [b!, 'Bravo', true, '', 0],
    ]);
    const { app, flusher } = await setup(id);
    await hit(app, a!, 2);
    await hit(app, b!, 3);
    emulator.deleteRow(id, TAB, 2);
    const before = capture.lines.length;

    expect(await flusher.flush()).toMatchObject({ outcome: 'written', requests: 3, droppedRequests: 2 });
    await hit(app, a!, 1); // still in the snapshot until the next refresh
    expect(await flusher.flush()).toMatchObject({ outcome: 'written', requests: 0, droppedRequests: 1 });

    expect(emulator.getValues(id, TAB).map((r) => r[1])).toEqual(['client_name', 'Bravo']); // no row re-created
    expect(countOf(id, b!)).toBe(3);
    const warnings = capture.lines
      .slice(before)
      .filter((l) => l.includes('"level":"warn"') && l.includes('its row is no longer in the sheet'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain(keyIdOf(hashKey(a!)));
    expect(flusher.status()).toMatchObject({ droppedRequests: 3, pendingRequests: 0 });
  });

  it('adds to a usage_count an admin reset to 0 by hand', async () => {
    const [a] = keys(1);
    const id = seed([[a!, 'Alpha', true, '', 0]]);
    const { app, flusher } = await setup(id);
    await hit(app, a!, 4);
    await flusher.flush();
    expect(countOf(id, a!)).toBe(4);

    setCell(id, 2, 4, 0);
    await hit(app, a!, 3);
    await flusher.flush();
    expect(countOf(id, a!)).toBe(3);
  });

  it('keeps the deltas through 429s on write and read, then writes exact totals', async () => {
    const [a, b] = keys(2);
    const id = seed([
      [a!, 'Alpha', true, '', 50],
      [b!, 'Bravo', true, '', 0],
    ]);
    const { app, flusher } = await setup(id);
    await hit(app, a!, 6);
    emulator.fault({ method: 'values.batchUpdate', status: 429, times: 2 });

    expect(await flusher.flush()).toMatchObject({ outcome: 'failed', requests: 6 });
    expect(flusher.status()).toMatchObject({ pendingRequests: 6, consecutiveFailures: 1 });
    expect(flusher.status().lastError).toMatchObject({ code: 'quota' });
    await hit(app, b!, 2);
    expect(await flusher.flush()).toMatchObject({ outcome: 'failed', requests: 8 });
    emulator.fault({ method: 'values.get', status: 429 });
    await hit(app, a!, 1);
    expect(await flusher.flush()).toMatchObject({ outcome: 'failed' });
    expect(countOf(id, a!)).toBe(50);

    expect(await flusher.flush()).toMatchObject({ outcome: 'written', requests: 9 });
    expect(countOf(id, a!)).toBe(57);
    expect(countOf(id, b!)).toBe(2);
    expect(flusher.status()).toMatchObject({ pendingRequests: 0, consecutiveFailures: 0, lastError: undefined });
    const status = await request(app).get('/auth/status').expect(200);
    expect(status.body.usage).toMatchObject({ pendingRequests: 0, writtenRequests: 9, lastError: null });
  });

  describe('a write whose answer never came (client timeout)', () => {
    it('applied by Google: the next flush sees it and does not count it again', async () => {
      const [a] = keys(1);
      const id = seed([[a!, 'Alpha', true, '', 100]]);
      const { app, flusher } = await setup(id, { timeoutMs: 300 });
      await hit(app, a!, 5);
      emulator.fault({ method: 'values.batchUpdate', applyThenDelayMs: 2000 });

      expect(await flusher.flush()).toMatchObject({ outcome: 'in_doubt', requests: 5 });
      expect(countOf(id, a!)).toBe(105); // applied, although the client saw a timeout
      expect(flusher.status()).toMatchObject({ inDoubtRequests: 5, pendingRequests: 0 });

      await hit(app, a!, 2);
      expect(await flusher.flush()).toMatchObject({ outcome: 'written', requests: 2 });
      expect(countOf(id, a!)).toBe(107);
      expect(flusher.status().inDoubtRequests).toBe(0);
    });

    it('applied, then reset to 0 by an admin: last_used_at still shows it was applied', async () => {
      const [a] = keys(1);
      const id = seed([[a!, 'Alpha', true, '', 100]]);
      const { app, flusher } = await setup(id, { timeoutMs: 300 });
      await hit(app, a!, 5);
      emulator.fault({ method: 'values.batchUpdate', applyThenDelayMs: 2000 });
      expect(await flusher.flush()).toMatchObject({ outcome: 'in_doubt' });
      setCell(id, 2, 4, 0);

      await hit(app, a!, 2);
      await flusher.flush();
      expect(countOf(id, a!)).toBe(2);
    });

    it('not applied (Google never handled it): the next flush writes it once', async () => {
      const [a] = keys(1);
      const id = seed([[a!, 'Alpha', true, '', 100]]);
      const { app, flusher } = await setup(id, { timeoutMs: 300 });
      await hit(app, a!, 5);
      emulator.fault({ method: 'values.batchUpdate', latencyMs: 2000 });

      expect(await flusher.flush()).toMatchObject({ outcome: 'in_doubt', requests: 5 });
      expect(countOf(id, a!)).toBe(100);

      await hit(app, a!, 2);
      expect(await flusher.flush()).toMatchObject({ outcome: 'written', requests: 7 });
      expect(countOf(id, a!)).toBe(107);
    });

    it('applied, and the settling read fails first: still counted once', async () => {
      const [a] = keys(1);
      const id = seed([[a!, 'Alpha', true, '', 0]]);
      const { app, flusher } = await setup(id, { timeoutMs: 300 });
      await hit(app, a!, 5);
      emulator.fault({ method: 'values.batchUpdate', applyThenDelayMs: 2000 });
      await flusher.flush();
      emulator.fault({ method: 'values.get', status: 503 });
      await hit(app, a!, 1);
      expect(await flusher.flush()).toMatchObject({ outcome: 'failed' });
      expect(flusher.status()).toMatchObject({ inDoubtRequests: 5, pendingRequests: 1 });

      await flusher.flush();
      expect(countOf(id, a!)).toBe(6);
    });
  });

  it('adds missing usage_count / last_used_at header cells once, after the widest row', async () => {
    const [a] = keys(1);
    const id = seed(
      [[a!, 'Alpha', true, '', 'a note in an unlabelled column']],
      ['api_key', 'client_name', 'is_active'],
    );
    const { app, flusher } = await setup(id);
    await hit(app, a!, 2);
    await flusher.flush();
    await hit(app, a!, 3);
    await flusher.flush();

    const rows = emulator.getValues(id, TAB);
    expect(rows[0]).toEqual(['api_key', 'client_name', 'is_active', '', '', 'usage_count', 'last_used_at']);
    expect(rows[1]?.slice(4, 6)).toEqual(['a note in an unlabelled column', 5]);
    expect(emulator.stats.byMethod['values.batchUpdate']).toBe(2);
  });

  it('plans a big tab in slices, giving the event loop turns while it locates rows and plans keys', async () => {
    const list = keys(1000);
    const id = seed(list.map((k, i) => [k, `client-${i}`, true, '', i]));
    let turns = 0;
    // No budget: a turn at every step (100 rows located, or 100 keys planned), so the count shows the slicing.
    const { app, flusher } = await setup(id, { slicing: { budgetMs: 0, pause: () => Promise.resolve((turns += 1)) } });
    const touched = list.slice(0, 250);
    for (const k of touched) {
      await hit(app, k, 1);
    }
    expect(await flusher.flush()).toMatchObject({ outcome: 'written', keys: 250, requests: 250 });
    expect(turns).toBe(10 + 2); // rows 100, 200 … 1000; keys 100 and 200 of 250
    expect(countOf(id, list[0]!)).toBe(1);
    expect(countOf(id, list[249]!)).toBe(250);
    expect(countOf(id, list[250]!)).toBe(250); // untouched
  });

  it('writes once per interval under sustained load, and nothing in an idle interval (fake timers)', async () => {
    const list = keys(50);
    const id = seed(list.map((k, i) => [k, `client ${i}`, true, '', 0]));
    const interval = 60_000;
    const { gate, flusher } = await setup(id, { intervalMs: interval });
    jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask', 'performance', 'hrtime'] });
    flusher.start();
    const records = gate.store?.snapshot()?.byHash;
    const recordsList = [...(records?.values() ?? [])];
    let total = 0;

    for (let round = 0; round < 5; round++) {
      for (let i = 0; i < 2_000; i++) {
        flusher.record(recordsList[i % recordsList.length]!, Date.now());
        total += 1;
      }
      await jest.advanceTimersByTimeAsync(interval / 2);
      expect(emulator.stats.writes).toBe(round);
      await jest.advanceTimersByTimeAsync(interval / 2);
      await flusher.flush(); // joins the flush the timer started
      expect(emulator.stats.byMethod).toEqual({ 'values.get': round + 1, 'values.batchUpdate': round + 1 });
    }
    await jest.advanceTimersByTimeAsync(interval * 3); // idle: no call at all
    expect(emulator.stats).toMatchObject({ reads: 5, writes: 5 });

    const sum = emulator
      .getValues(id, TAB)
      .slice(1)
      .reduce((s, r) => s + Number(r[4]), 0);
    expect(sum).toBe(total);
  });

  it('backs off after a failed write, never sooner than the interval, then writes exact totals (fake timers)', async () => {
    const [a] = keys(1);
    const id = seed([[a!, 'Alpha', true, '', 0]]);
    const interval = 60_000;
    const { app, flusher } = await setup(id, { intervalMs: interval, random: () => 1, now: () => Date.now() });
    await hit(app, a!, 4);
    jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask', 'performance', 'hrtime'] });
    emulator.fault({ method: 'values.batchUpdate', status: 429, times: 2 });
    flusher.start();

    await jest.advanceTimersByTimeAsync(interval);
    expect(await flusher.flush()).toMatchObject({ outcome: 'failed' }); // joins the timer's flush
    expect(flusher.status().nextFlushAt).toBe(Date.now() + 2 * interval);
    await jest.advanceTimersByTimeAsync(interval);
    expect(emulator.stats.writes).toBe(1); // nothing sooner than the backoff

    await jest.advanceTimersByTimeAsync(interval);
    expect(await flusher.flush()).toMatchObject({ outcome: 'failed' });
    expect(flusher.status().nextFlushAt).toBe(Date.now() + 4 * interval);
    await jest.advanceTimersByTimeAsync(4 * interval);
    expect(await flusher.flush()).toMatchObject({ outcome: 'written', requests: 4 });
    expect(flusher.status().nextFlushAt).toBe(Date.now() + interval);
    expect(emulator.stats.byMethod).toEqual({ 'values.get': 3, 'values.batchUpdate': 3 });
    expect(countOf(id, a!)).toBe(4);
  });

  describe('stop()', () => {
    it('writes what is pending', async () => {
      const [a] = keys(1);
      const id = seed([[a!, 'Alpha', true, '', 0]]);
      const { app, flusher } = await setup(id);
      await hit(app, a!, 3);
      expect(await flusher.stop()).toMatchObject({ outcome: 'written', requests: 3 });
      expect(countOf(id, a!)).toBe(3);
    });

    it('is bounded by its timeout and logs what could not be written, by key id', async () => {
      const [a] = keys(1);
      const id = seed([[a!, 'Alpha', true, '', 0]]);
      const { app, flusher } = await setup(id, { stopTimeoutMs: 300 });
      await hit(app, a!, 3);
      emulator.fault({ method: 'values.get', latencyMs: 5_000 });
      const before = capture.lines.length;
      const started = Date.now();

      expect(await flusher.stop()).toBeUndefined();

      expect(Date.now() - started).toBeLessThan(2_000);
      const logged = capture.lines.slice(before).join('\n');
      expect(logged).toContain('did not finish within 300 ms');
      expect(logged).toContain(keyIdOf(hashKey(a!)));
      expect(countOf(id, a!)).toBe(0);
    });

    it('logs what could not be written when Google refuses the final flush', async () => {
      const [a] = keys(1);
      const id = seed([[a!, 'Alpha', true, '', 0]]);
      const { app, flusher } = await setup(id);
      await hit(app, a!, 2);
      await emulator.down();
      const before = capture.lines.length;
      expect(await flusher.stop()).toMatchObject({ outcome: 'failed' });
      const logged = capture.lines.slice(before).join('\n');
      expect(logged).toContain('usage not written at shutdown');
      expect(logged).toContain(keyIdOf(hashKey(a!)));
    });
  });
});
