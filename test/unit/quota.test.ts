import { mapHeader } from '../../src/keys/header';
import { formatQuota, parseQuota, quotaWindow, readQuotaPeriod } from '../../src/keys/quota';
import { parseRow } from '../../src/keys/row';
import type { CellValue } from '../../src/keys/types';

const KEY = 'sk-convergence-0f0f0f0f-0000-4000-8000-00000000abcd';

describe('parseQuota', () => {
  it.each([
    ['10000/day', { limit: 10000, period: 'day' }],
    ['250000/month', { limit: 250000, period: 'month' }],
    [' 5 / Day ', { limit: 5, period: 'day' }],
    ['1/MONTH', { limit: 1, period: 'month' }],
  ])('reads %j', (cell, quota) => {
    expect(parseQuota(cell)).toEqual(quota);
  });

  it.each([
    ['', undefined],
    ['   ', undefined],
    [undefined, undefined],
  ])('empty %j is no quota', (cell, quota) => {
    expect(parseQuota(cell)).toBe(quota);
  });

  it.each(['0/day', '-5/day', '10/week', '10', 'day', '1.5/day', '10/days', '99999999999999999999/day', true, 100])(
    'refuses %j',
    (cell) => {
      expect(parseQuota(cell)).toBe('invalid');
    },
  );

  it('formats what it reads', () => {
    expect(formatQuota({ limit: 10000, period: 'day' })).toBe('10000/day');
  });
});

describe('quotaWindow: calendar periods of the sheet zone', () => {
  it('a day in Paris starts at its local midnight', () => {
    // 2026-03-10 23:30 UTC is already 2026-03-11 00:30 in Paris (UTC+1).
    const w = quotaWindow('day', Date.UTC(2026, 2, 10, 23, 30), 'Europe/Paris');
    expect(w).toEqual({
      id: '2026-03-11',
      startsAt: Date.UTC(2026, 2, 10, 23, 0),
      endsAt: Date.UTC(2026, 2, 11, 23, 0),
    });
  });

  it('the day of a DST change lasts 23 hours', () => {
    const w = quotaWindow('day', Date.UTC(2026, 2, 29, 12, 0), 'Europe/Paris');
    expect(w.id).toBe('2026-03-29');
    expect(w.endsAt - w.startsAt).toBe(23 * 3600_000);
  });

  it('a month in Los Angeles runs from its first local midnight to the next', () => {
    // 2026-01-01 05:00 UTC is still 2025-12-31 21:00 in Los Angeles.
    const w = quotaWindow('month', Date.UTC(2026, 0, 1, 5, 0), 'America/Los_Angeles');
    expect(w).toEqual({
      id: '2025-12',
      startsAt: Date.UTC(2025, 11, 1, 8, 0),
      endsAt: Date.UTC(2026, 0, 1, 8, 0),
    });
  });
});

describe('readQuotaPeriod', () => {
  it.each<[CellValue | undefined, 'day' | 'month', string]>([
    ['2026-12-05', 'day', '2026-12-05'],
    [' 2026-12 ', 'month', '2026-12'],
    [46361, 'day', '2026-12-05'], // the same day typed as a date cell
    [46361, 'month', '2026-12'],
    ['yesterday', 'day', ''],
    ['', 'day', ''],
    [undefined, 'month', ''],
    [true, 'day', ''],
  ])('%j (%s) → %j', (cell, period, id) => {
    expect(readQuotaPeriod(cell, period)).toBe(id);
  });
});

describe('parseRow: quota columns', () => {
  const header = ['api_key', 'client_name', 'is_active', 'quota', 'quota_used', 'quota_period'];
  const { columns } = mapHeader(header);
  const parse = (quota: CellValue, used: CellValue = '', period: CellValue = '') =>
    parseRow([KEY, 'Acme', true, quota, used, period], columns, 4, { timeZone: 'Europe/Paris', defaultRateLimit: 60 });

  it('reads the quota and what was used of it', () => {
    const result = parse('100/day', 42, '2026-12-05');
    expect(result.kind === 'key' && result.record).toMatchObject({
      quota: { limit: 100, period: 'day' },
      quotaUsed: 42,
      quotaPeriod: '2026-12-05',
    });
  });

  it('no quota: used and period are ignored', () => {
    const result = parse('', 42, '2026-12-05');
    expect(result.kind === 'key' && result.record).toMatchObject({ quota: undefined, quotaUsed: 0, quotaPeriod: '' });
  });

  it('unreadable quota_used counts as 0 (the column is ours, never a reason to refuse)', () => {
    const result = parse('100/month', 'lots', 'soon');
    expect(result.kind === 'key' && result.record).toMatchObject({ quotaUsed: 0, quotaPeriod: '' });
  });

  it('an unreadable quota refuses the row, with its number and the cell, never the key', () => {
    const result = parse('100/week');
    expect(result.kind).toBe('refused');
    expect(result.kind === 'refused' && result.problem.reason).toBe('quota: expected N/day or N/month, got "100/week"');
    expect(result.kind === 'refused' && result.problem.row).toBe(4);
    expect(JSON.stringify(result)).not.toContain(KEY);
  });
});
