/**
 * The usage history tab written by the real flush: `GoogleSheet` and the real `@googleapis/sheets` client over HTTP
 * to the emulator, an injected clock in a non-UTC sheet zone. No mocks.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { daySerial, dayInZone } from '../../src/keys/dates';
import { hashKey, keyIdOf } from '../../src/keys/key-id';
import { GoogleSheet } from '../../src/keys/sheet-source';
import type { CellValue } from '../../src/keys/types';
import { UsageFlusher } from '../../src/usage/flusher';
import type { UsageFlusherOptions } from '../../src/usage/flusher';
import { startEmulator } from '../../emulator/server';
import type { Emulator } from '../../emulator/server';
import { makeCredentials } from '../helpers/credentials';
import { captureLogger } from '../helpers/log-capture';

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
  let emulator: Emulator;
  const { credentials } = makeCredentials();
  const { logger, capture } = captureLogger();
  const usedKeys: string[] = [];
  const flushers: UsageFlusher[] = [];

  beforeAll(async () => {
    emulator = await startEmulator();
    emulator.trust(credentials);
  });

  afterEach(async () => {
    emulator.clearFaults();
    await Promise.all(flushers.splice(0).map((f) => f.stop()));
  });

  afterAll(async () => {
    await emulator.close();
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
    return emulator.createSpreadsheet({ timeZone: ZONE, tabs });
  }

  function flusherFor(id: string, clock: { now: number }, options: Partial<UsageFlusherOptions> = {}) {
    const sheet = new GoogleSheet({ credentials, spreadsheetId: id, sheetName: TAB, rootUrl: emulator.url, logger });
    const flusher = new UsageFlusher({
      sheet,
      logger,
      historyTab: HISTORY,
      timeZone: () => ZONE,
      now: () => clock.now,
      ...options,
    });
    flushers.push(flusher);
    return flusher;
  }

  function use(flusher: UsageFlusher, key: TestKey, times: number, at: number): void {
    for (let i = 0; i < times; i++) {
      flusher.record(key, at);
    }
  }

  /** The history's data rows, sorted by date then key id, as `[date serial, key id, client name, requests]`. */
  function historyRows(id: string): CellValue[][] {
    return emulator
      .getValues(id, HISTORY)
      .slice(1)
      .filter((r) => r.length > 0)
      .sort((a, b) => Number(a[0]) - Number(b[0]) || String(a[1]).localeCompare(String(b[1])));
  }

  function usageCount(id: string, key: TestKey): CellValue | undefined {
    return emulator.getValues(id, TAB).find((r) => r[0] === key.key)?.[3];
  }

  it('keeps one row per key per day across two days of a non-UTC zone, dated by the flush, as date cells', async () => {
    const [a, b] = makeKeys('Acme Audio', '=HYPERLINK("x")');
    const id = seed([a!, b!], [HISTORY_HEADER]);
    const clock = { now: DAY1_LATE };
    const flusher = flusherFor(id, clock);

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
    const formatted = emulator.getValues(id, HISTORY, 'FORMATTED_VALUE').slice(1);
    expect(formatted.map((r) => r[0]).sort()).toEqual(['2026-03-10', '2026-03-10', '2026-03-11']);
  });
});
