import { KeyStore, LOGGED_PROBLEMS } from '../../src/keys/key-store';
import { hashKey } from '../../src/keys/key-id';
import { captureLogger } from '../helpers/log-capture';
import { SheetsError } from '../../src/keys/sheets-error';
import type { TableSink } from '../../src/keys/sheet-source';
import { FixedSource, HEADER, unavailable } from '../helpers/fixed-source';

const KEY = 'sk-convergence-cccccccc-cccc-4ccc-8ccc-cccccccccccc';
const NEW_KEY = 'sk-convergence-dddddddd-dddd-4ddd-8ddd-dddddddddddd';

describe('KeyStore refresh loop (fake timers)', () => {
  beforeEach(() => {
    jest.useFakeTimers({ now: Date.UTC(2026, 0, 1) });
  });
  afterEach(() => {
    jest.useRealTimers();
  });

  function store(source: FixedSource) {
    const { logger, capture } = captureLogger();
    const s = new KeyStore({ source, logger, defaultRateLimit: 60, maxAgeMs: 60_000, random: () => 0.5 });
    return { s, capture };
  }

  it('refreshes before the snapshot is maxAge old: revocation and new keys take effect', async () => {
    const source = new FixedSource([HEADER, [KEY, 'Acme', '', '', true, '']]);
    const { s } = store(source);
    await s.start();
    expect(s.snapshot()?.byHash.get(hashKey(KEY))?.active).toBe(true);

    source.rows = [HEADER, [KEY, 'Acme', '', '', false, ''], [NEW_KEY, 'New', '', '', true, '']];
    await jest.advanceTimersByTimeAsync(59_000);
    const snap = s.snapshot();
    expect(snap?.byHash.get(hashKey(KEY))?.active).toBe(false);
    expect(snap?.byHash.has(hashKey(NEW_KEY))).toBe(true);
    expect(Date.now() - (snap?.loadedAt ?? 0)).toBeLessThan(60_000);
    s.stop();
  });

  it('builds from streamTable when the source has one, and keeps the last good snapshot when the stream fails', async () => {
    const { logger } = captureLogger();
    let rows = [HEADER, [KEY, 'Acme', '', '', true, '']];
    let failAfterHeader = false;
    const source = {
      target: new FixedSource([]).target,
      readTable: () => Promise.reject(new Error('readTable must not be used when streamTable is there')),
      streamTable: async (sink: TableSink) => {
        sink.start('Europe/Paris');
        sink.push(rows.slice(0, 1));
        await Promise.resolve();
        if (failAfterHeader) {
          throw unavailable();
        }
        sink.push(rows.slice(1));
      },
    };
    const s = new KeyStore({ source, logger, defaultRateLimit: 60, maxAgeMs: 60_000, random: () => 0.5 });
    await s.start();
    expect(s.snapshot()?.byHash.get(hashKey(KEY))?.clientName).toBe('Acme');
    rows = [HEADER, [NEW_KEY, 'New', '', '', true, '']];
    failAfterHeader = true;
    await s.refresh();
    expect(s.status()).toMatchObject({ keys: 1, consecutiveFailures: 1 });
    expect(s.snapshot()?.byHash.has(hashKey(KEY))).toBe(true);
    failAfterHeader = false;
    await s.refresh();
    expect(s.snapshot()?.byHash.has(hashKey(KEY))).toBe(false);
    expect(s.snapshot()?.byHash.get(hashKey(NEW_KEY))?.clientName).toBe('New');
    s.stop();
  });

  it('reads at most once per refresh interval, whatever happens to requests', async () => {
    const source = new FixedSource([HEADER, [KEY, 'Acme', '', '', true, '']]);
    const { s } = store(source);
    await s.start();
    await jest.advanceTimersByTimeAsync(10 * 60_000);
    // 60 s max age, refresh at 80 %: 10 minutes → 12 refreshes + the first load.
    expect(source.reads).toBe(13);
    s.stop();
  });

  it('keeps the last good snapshot when a refresh fails, backs off, then recovers', async () => {
    const source = new FixedSource([HEADER, [KEY, 'Acme', '', '', true, '']]);
    const { s, capture } = store(source);
    await s.start();
    const good = s.snapshot();
    source.failWith = unavailable();
    await jest.advanceTimersByTimeAsync(48_000);
    expect(s.snapshot()).toBe(good);
    expect(s.status()).toMatchObject({ consecutiveFailures: 1, lastError: { code: 'unavailable' } });
    expect(capture.text()).toContain('key refresh failed');

    // Backoff grows: with random=0.5 the delays are 750, 1250, 2250 ms... so several retries within 10 s.
    await jest.advanceTimersByTimeAsync(10_000);
    const failures = s.status().consecutiveFailures;
    expect(failures).toBeGreaterThan(2);
    expect(failures).toBeLessThan(10);
    expect(s.snapshot()).toBe(good);

    source.failWith = undefined;
    await jest.advanceTimersByTimeAsync(60_000);
    expect(s.status()).toMatchObject({ consecutiveFailures: 0, lastError: undefined });
    expect(s.snapshot()).not.toBe(good);
    s.stop();
  });

  it('waits at least 20 s after a quota refusal (429) instead of retrying within the same minute', async () => {
    const source = new FixedSource([HEADER, [KEY, 'Acme', '', '', true, '']]);
    const { s } = store(source);
    await s.start();
    source.failWith = new SheetsError('quota', 'Sheets API quota exhausted', true, 429);
    await s.refresh();
    const readsAfterFailure = source.reads;
    await jest.advanceTimersByTimeAsync(19_000);
    expect(source.reads).toBe(readsAfterFailure);
    await jest.advanceTimersByTimeAsync(2_000);
    expect(source.reads).toBe(readsAfterFailure + 1);
    s.stop();
  });

  it('treats a broken header row as a failed refresh and keeps serving', async () => {
    const source = new FixedSource([HEADER, [KEY, 'Acme', '', '', true, '']]);
    const { s } = store(source);
    await s.start();
    source.rows = [
      ['nothing', 'useful'],
      [KEY, 'Acme'],
    ];
    await s.refresh();
    expect(s.snapshot()?.byHash.has(hashKey(KEY))).toBe(true);
    expect(s.status().lastError?.code).toBe('bad_table');
    s.stop();
  });

  it('logs at most LOGGED_PROBLEMS refused rows one by one per refresh, and counts the rest in one line', async () => {
    const refused = Array.from({ length: LOGGED_PROBLEMS + 250 }, (_, i) => [
      `${KEY}-${i}`,
      `c${i}`,
      '',
      '',
      'maybe',
      '',
    ]);
    const { s, capture } = store(new FixedSource([HEADER, [KEY, 'Acme', '', '', true, ''], ...refused]));
    await s.start();
    const rowLines = capture.lines.filter((line) => / refused: /.test(line));
    expect(rowLines).toHaveLength(LOGGED_PROBLEMS);
    expect(rowLines[0]).toMatch(/sheet row 3 refused/);
    expect(capture.text()).toMatch(/250 more sheet rows refused/);
    expect(s.status().problemRows).toBe(LOGGED_PROBLEMS + 250);
    s.stop();
  });

  it('logs refused rows with their row number and never the key', async () => {
    const source = new FixedSource([HEADER, [KEY, 'Acme', '', '', 'maybe', ''], [NEW_KEY, '', '', '', true, '']]);
    const { s, capture } = store(source);
    await s.start();
    const text = capture.text();
    expect(text).toMatch(/row 2 refused/);
    expect(text).toMatch(/row 3 refused/);
    expect(text).not.toContain(KEY);
    expect(text).not.toContain(NEW_KEY);
    s.stop();
  });
});
