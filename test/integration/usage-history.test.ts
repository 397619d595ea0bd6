/**
 * The usage history tab written by the real flush: `GoogleSheet` and the real `@googleapis/sheets` client over HTTP
 * to the emulator, an injected clock in a non-UTC sheet zone. No mocks.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, describe, expect, it } from '@jest/globals';
import { daySerial, dayInZone } from '../../src/keys/dates';
import { hashKey, keyIdOf } from '../../src/keys/key-id';
import { GoogleSheet } from '../../src/keys/sheet-source';
import type { CellValue } from '../../src/keys/types';
import { UsageFlusher } from '../../src/usage/flusher';
import type { UsageFlusherOptions } from '../../src/usage/flusher';
import { captureLogger } from '../helpers/log-capture';
import { emulatorSuite } from '../helpers/emulator';

const TAB = 'API_Keys';
const HISTORY = 'API_Usage';
const ZONE = 'Australia/Sydney';
const KEY_HEADER = ['api_key', 'client_name', 'is_active', 'usage_count'];
const HISTORY_HEADER = ['date', 'key_id', 'client_name', 'requests'];
/** 2026-03-10 23:30 in Sydney (UTC+11): half an hour before the sheet's midnight. */
const DAY1_LATE = Date.UTC(2026, 2, 10, 12, 30);
/** 2026-03-11 00:10 in Sydney: already the next day there, still 2026-03-10 in UTC. */
const DAY2_EARLY = Date.UTC(2026, 2, 10, 13, 10);
const DAY1 = daySerial(dayInZone(DAY1_LATE, ZONE));
const DAY2 = daySerial(dayInZone(DAY2_EARLY, ZONE));

interface TestKey {
  readonly key: string;
  readonly hash: string;
  readonly keyId: string;
  readonly name: string;
}

describe('usage history tab written by the flush (emulator, real googleapis client)', () => {
  const suite = emulatorSuite();
  const { credentials } = suite;
  const { logger, capture } = captureLogger();
  const usedKeys: string[] = [];
  const flushers: UsageFlusher[] = [];

  afterEach(async () => {
    await Promise.all(flushers.splice(0).map((f) => f.stop()));
  });

  afterAll(() => {
    const text = capture.text();
    for (const k of usedKeys) {
      expect(text).not.toContain(k);
    }
  });

  function makeKeys(...names: string[]): TestKey[] {
    return names.map((name) => {
      const key = `sk-history-${randomUUID()}`;
      usedKeys.push(key);
      const hash = hashKey(key);
      return { key, hash, keyId: keyIdOf(hash), name };
    });
  }

  function seed(keys: readonly TestKey[], history?: CellValue[][]): string {
    const tabs: Record<string, CellValue[][]> = {
      [TAB]: [KEY_HEADER, ...keys.map((k) => [k.key, k.name, true, 0])],
    };
    if (history !== undefined) {
      tabs[HISTORY] = history;
    }
    return suite.emulator.createSpreadsheet({ timeZone: ZONE, tabs });
  }

  function flusherFor(
    id: string,
    clock: { now: number },
    { timeoutMs, ...options }: Partial<UsageFlusherOptions> & { timeoutMs?: number } = {},
  ) {
    const sheet = new GoogleSheet({
      credentials,
      spreadsheetId: id,
      sheetName: TAB,
      rootUrl: suite.emulator.url,
      logger,
      ...(timeoutMs === undefined ? {} : { timeoutMs }),
    });
    const flusher = new UsageFlusher({
      sheet,
      logger,
      historyTab: HISTORY,
      timeZone: () => ZONE,
      now: () => clock.now,
      ...options,
    });
    flushers.push(flusher);
    return { flusher, sheet };
  }

  function use(flusher: UsageFlusher, key: TestKey, times: number, at: number): void {
    for (let i = 0; i < times; i++) {
      flusher.record(key, at);
    }
  }

  /** A key `Alpha` whose 5 requests of day 1 are written: the sheet, the key and its flusher. */
  async function alphaWithFive(): Promise<{ a: TestKey; id: string; flusher: UsageFlusher }> {
    const [a] = makeKeys('Alpha') as [TestKey];
    const id = seed([a], [HISTORY_HEADER]);
    const { flusher } = flusherFor(id, { now: DAY1_LATE });
    use(flusher, a, 5, DAY1_LATE);
    await flusher.flush();
    return { a, id, flusher };
  }

  /** The history's data rows, sorted by date then key id, as `[date serial, key id, client name, requests]`. */
  function historyRows(id: string): CellValue[][] {
    return suite.emulator
      .getValues(id, HISTORY)
      .slice(1)
      .filter((r) => r.length > 0)
      .sort((a, b) => Number(a[0]) - Number(b[0]) || String(a[1]).localeCompare(String(b[1])));
  }

  function usageCount(id: string, key: TestKey): CellValue | undefined {
    return suite.emulator.getValues(id, TAB).find((r) => r[0] === key.key)?.[3];
  }

  it('keeps one row per key per day across two days of a non-UTC zone, dated by the flush, as date cells', async () => {
    const [a, b] = makeKeys('Acme Audio', '=HYPERLINK("x")');
    const id = seed([a!, b!], [HISTORY_HEADER]);
    const clock = { now: DAY1_LATE };
    const { flusher } = flusherFor(id, clock);

    use(flusher, a!, 5, DAY1_LATE);
    use(flusher, b!, 3, DAY1_LATE);
    expect((await flusher.flush()).outcome).toBe('written');
    use(flusher, a!, 2, DAY1_LATE + 60_000);
    clock.now = DAY1_LATE + 60_000;
    expect((await flusher.flush()).outcome).toBe('written');
    use(flusher, a!, 4, DAY2_EARLY);
    clock.now = DAY2_EARLY;
    expect((await flusher.flush()).outcome).toBe('written');

    const sortedKeys = [a!, b!].sort((x, y) => x.keyId.localeCompare(y.keyId));
    const day1 = sortedKeys.map((k) => [DAY1, k.keyId, k.name, k === a ? 7 : 3]);
    expect(historyRows(id)).toEqual([...day1, [DAY2, a!.keyId, a!.name, 4]]);
    expect(usageCount(id, a!)).toBe(11);
    const formatted = suite.emulator.getValues(id, HISTORY, 'FORMATTED_VALUE').slice(1);
    expect(formatted.map((r) => r[0]).sort()).toEqual(['2026-03-10', '2026-03-10', '2026-03-11']);
  });

  it('finds rows where an admin sorted them, and gives a deleted row a new one: no count lands in another key', async () => {
    const [a, b, c] = makeKeys('Alpha', 'Beta', 'Gamma');
    const id = seed([a!, b!, c!], [HISTORY_HEADER]);
    const clock = { now: DAY1_LATE };
    const { flusher } = flusherFor(id, clock);
    use(flusher, a!, 5, DAY1_LATE);
    use(flusher, b!, 3, DAY1_LATE);
    use(flusher, c!, 2, DAY1_LATE);
    await flusher.flush();

    suite.emulator.sortRows(id, HISTORY, (x, y) => String(y[1]).localeCompare(String(x[1])));
    const bRow = suite.emulator.getValues(id, HISTORY).findIndex((r) => r[1] === b!.keyId) + 1;
    suite.emulator.deleteRow(id, HISTORY, bRow);

    use(flusher, a!, 1, DAY1_LATE);
    use(flusher, b!, 4, DAY1_LATE);
    use(flusher, c!, 1, DAY1_LATE);
    expect((await flusher.flush()).outcome).toBe('written');
    const byKey = new Map(historyRows(id).map((r) => [r[1], r]));
    expect(historyRows(id)).toHaveLength(3);
    expect(byKey.get(a!.keyId)).toEqual([DAY1, a!.keyId, 'Alpha', 6]);
    expect(byKey.get(b!.keyId)).toEqual([DAY1, b!.keyId, 'Beta', 4]); // the 3 went with the deleted row
    expect(byKey.get(c!.keyId)).toEqual([DAY1, c!.keyId, 'Gamma', 3]);
  });

  it('creates a missing tab and writes its header and rows in the same flush, within 2 writes', async () => {
    const [a] = makeKeys('Alpha');
    const id = seed([a!]);
    const clock = { now: DAY1_LATE };
    const { flusher } = flusherFor(id, clock);
    use(flusher, a!, 5, DAY1_LATE);
    suite.emulator.resetStats();
    expect((await flusher.flush()).outcome).toBe('written');
    expect(usageCount(id, a!)).toBe(5);
    expect(suite.emulator.stats.byMethod).toEqual({
      'spreadsheets.get': 1, // the grid sizes (no zone read came first in this test)
      'spreadsheets.batchUpdate': 1,
      'values.get': 1,
      'values.batchUpdate': 1,
    });
    expect(suite.emulator.getValues(id, HISTORY)).toEqual([HISTORY_HEADER, [DAY1, a!.keyId, 'Alpha', 5]]);

    use(flusher, a!, 2, DAY1_LATE);
    expect((await flusher.flush()).outcome).toBe('written');
    expect(suite.emulator.getValues(id, HISTORY)).toEqual([HISTORY_HEADER, [DAY1, a!.keyId, 'Alpha', 7]]);
    expect(usageCount(id, a!)).toBe(7);
  });

  it('a tab deleted while running is created again; the requests meanwhile reach it', async () => {
    const { a, id, flusher } = await alphaWithFive();
    suite.emulator.deleteTab(id, HISTORY);
    for (let i = 0; i < 3; i++) {
      use(flusher, a, 1, DAY1_LATE);
      await flusher.flush();
    }
    expect(usageCount(id, a)).toBe(8);
    expect(suite.emulator.getValues(id, HISTORY)).toEqual([HISTORY_HEADER, [DAY1, a.keyId, 'Alpha', 3]]);
  });

  it('rows deleted above the window (the window now starts below the grid): found again, totals exact', async () => {
    const [a] = makeKeys('Alpha') as [TestKey];
    const old = Array.from({ length: 1_200 }, (_, i) => [DAY1 - 5, `old${i}`, 'Old client', 1]);
    const id = seed([a], [HISTORY_HEADER, ...old]);
    const { flusher } = flusherFor(id, { now: DAY1_LATE });
    use(flusher, a, 5, DAY1_LATE);
    await flusher.flush(); // a's row appended at row 1,202: the window starts there
    for (let i = 0; i < 10; i++) {
      suite.emulator.deleteRow(id, HISTORY, 2);
    }
    const outcomes: string[] = [];
    for (let i = 0; i < 3; i++) {
      use(flusher, a, 1, DAY1_LATE);
      outcomes.push((await flusher.flush()).outcome);
    }
    expect(outcomes).toEqual(['failed', 'written', 'written']); // refused read; key tab alone; window found again
    expect(usageCount(id, a)).toBe(8);
    expect(historyRows(id).filter((r) => r[1] === a.keyId)).toEqual([[DAY1, a.keyId, 'Alpha', 8]]);
  });

  it('a refused append keeps its rows for the next flush; an unanswered one is settled, never counted twice', async () => {
    const [a, b] = makeKeys('Alpha', 'Beta');
    const id = seed([a!, b!], [HISTORY_HEADER]);
    const clock = { now: DAY1_LATE };
    const { flusher } = flusherFor(id, clock, { timeoutMs: 400 });
    use(flusher, a!, 5, DAY1_LATE);
    suite.emulator.fault({ method: 'values.append', status: 429 });
    expect((await flusher.flush()).outcome).toBe('written');
    expect(usageCount(id, a!)).toBe(5);
    expect(historyRows(id)).toEqual([]);

    use(flusher, b!, 2, DAY1_LATE);
    suite.emulator.fault({ method: 'values.append', applyThenDelayMs: 1500 });
    expect((await flusher.flush()).outcome).toBe('written');
    const landed = [...historyRows(id)];

    use(flusher, a!, 1, DAY1_LATE);
    expect((await flusher.flush()).outcome).toBe('written');
    const rows = historyRows(id);
    expect(landed).toHaveLength(2); // the unanswered append was applied
    expect(rows).toHaveLength(2);
    expect(new Map(rows.map((r) => [r[1], r[3]]))).toEqual(
      new Map([
        [a!.keyId, 6],
        [b!.keyId, 2],
      ]),
    );
  });

  it('logs at shutdown, by count, the history requests the final flush could not write', async () => {
    const [a] = makeKeys('Alpha');
    const id = seed([a!], [HISTORY_HEADER]);
    const { flusher } = flusherFor(id, { now: DAY1_LATE });
    use(flusher, a!, 4, DAY1_LATE);
    suite.emulator.fault({ method: 'values.append', status: 403 });
    await flusher.stop();
    expect(usageCount(id, a!)).toBe(4);
    const line = capture.lines.find((l) => l.includes('usage history not written at shutdown'));
    expect(JSON.parse(line ?? '{}')).toMatchObject({ level: 'error', tab: HISTORY, requests: 4 });
  });

  it('a refused key-tab write keeps the history deltas once: not lost, not doubled', async () => {
    const { a, id, flusher } = await alphaWithFive();
    use(flusher, a, 2, DAY1_LATE);
    suite.emulator.fault({ method: 'values.batchUpdate', status: 429 });
    expect((await flusher.flush()).outcome).toBe('failed');
    use(flusher, a, 1, DAY1_LATE);
    expect((await flusher.flush()).outcome).toBe('written');
    expect(usageCount(id, a)).toBe(8);
    expect(historyRows(id)).toEqual([[DAY1, a.keyId, 'Alpha', 8]]);
  });

  it('a history header it cannot use never holds up usage_count', async () => {
    const [a] = makeKeys('Alpha');
    const id = seed([a!], [['date', 'key_id', 'client_name']]);
    const { flusher } = flusherFor(id, { now: DAY1_LATE });
    use(flusher, a!, 5, DAY1_LATE);
    expect((await flusher.flush()).outcome).toBe('written');
    expect(usageCount(id, a!)).toBe(5);
    expect(capture.text()).toContain('no \\"requests\\" column');
  });

  it('with a 100,000-row history a flush makes 1 read and at most 2 writes, the first after a start included', async () => {
    const keys = makeKeys('Alpha', 'Beta', 'Gamma');
    const old: CellValue[][] = [];
    for (let i = 0; i < 100_000; i++) {
      old.push([DAY1 - 1 - Math.floor(i / 1000), `old${String(i % 1000).padStart(12, '0')}`, 'Old client', 7]);
    }
    const id = seed(keys, [HISTORY_HEADER, ...old]);
    const clock = { now: DAY1_LATE };
    const { flusher, sheet } = flusherFor(id, clock);
    await sheet.timeZone(); // the key store's load: its spreadsheets.get also brings the grid sizes
    const perFlush: { reads: number; writes: number }[] = [];
    for (let i = 0; i < 3; i++) {
      keys.forEach((k) => use(flusher, k, i + 1, DAY1_LATE));
      suite.emulator.resetStats();
      expect((await flusher.flush()).outcome).toBe('written');
      perFlush.push({ reads: suite.emulator.stats.reads, writes: suite.emulator.stats.writes });
    }
    expect(perFlush).toEqual([
      { reads: 1, writes: 2 }, // the window: the grid's last rows (its size came with the zone); batchUpdate + append
      { reads: 1, writes: 1 }, // the rows are in the window: batchGet + batchUpdate
      { reads: 1, writes: 1 },
    ]);
    const rows = suite.emulator.getValues(id, HISTORY);
    expect(rows).toHaveLength(100_004);
    expect(rows.slice(-3).map((r) => r[3])).toEqual([6, 6, 6]);
  });
});
