import { daySerial, dayInZone } from '../../src/keys/dates';
import { dayKey, HISTORY_HEADER, planHistoryWrite, readDay } from '../../src/usage/history-plan';
import type { DayAttempt, DayDelta, HistoryPlan, HistoryPlanResult } from '../../src/usage/history-plan';

const ZONE = 'Asia/Tokyo';
/** 2026-03-10 23:30 in Tokyo: the next day there is 30 minutes away (UTC is still on the 10th at 14:30). */
const DAY = dayInZone(Date.UTC(2026, 2, 10, 14, 30), ZONE);
const NEXT = DAY + 1;
const HEADER = [...HISTORY_HEADER];

const delta = (day: number, keyId: string, count: number, clientName = `client ${keyId}`): DayDelta => ({
  day,
  keyId,
  clientName,
  count,
});

function ok(result: HistoryPlanResult): HistoryPlan {
  if (!result.ok) {
    throw new Error(result.reason);
  }
  return result;
}

describe('planHistoryWrite', () => {
  it('an empty tab gets the header and one new row per key and day, ids and names forced to text', () => {
    const plan = ok(
      planHistoryWrite({ header: [], rows: [], firstRow: 2 }, [
        delta(NEXT, 'bbbb', 2),
        delta(DAY, '1234567890123456', 5, '=HYPERLINK("x")'),
        delta(DAY, 'aaaa', 1),
      ]),
    );
    expect(DAY).toBe(Date.UTC(2026, 2, 10) / 86_400_000);
    expect(plan.updates).toEqual([{ cells: 'A1:D1', values: [HEADER] }]);
    expect(plan.newRows).toEqual([
      ['2026-03-10', "'1234567890123456", '\'=HYPERLINK("x")', 5],
      ['2026-03-10', "'aaaa", "'client aaaa", 1],
      ['2026-03-11', "'bbbb", "'client bbbb", 2],
    ]);
    expect(plan.attempts.get(dayKey(DAY, 'aaaa'))).toEqual({ delta: delta(DAY, 'aaaa', 1), requests: 1 });
  });

  it('finds a key’s row of that day by date and key id wherever a sort or a deletion put it, and adds to it', () => {
    // Sorted by client, one row deleted: positions say nothing, identity does.
    const rows = [
      [daySerial(DAY), 'bbbb', 'B', 7],
      [daySerial(DAY - 1), 'aaaa', 'A', 40], // yesterday's row of the same key: never touched
      ['2026-03-10', 'aaaa', 'A', 10], // a date typed as text counts as that day
      [daySerial(DAY), 'aaaa', 'A', 99], // a second row of the same day and key: only the first gets the delta
    ];
    const plan = ok(planHistoryWrite({ header: HEADER, rows, firstRow: 5 }, [delta(DAY, 'aaaa', 3)]));
    expect(plan.updates).toEqual([{ cells: 'D7', values: [[13]] }]);
    expect(plan.newRows).toEqual([]);
  });

  it('a day and key with no row in the window get a new row holding the delta only', () => {
    const rows = [[daySerial(DAY - 1), 'aaaa', 'A', 40]];
    const plan = ok(planHistoryWrite({ header: HEADER, rows, firstRow: 2 }, [delta(DAY, 'aaaa', 4)]));
    expect(plan.updates).toEqual([]);
    expect(plan.newRows).toEqual([['2026-03-10', "'aaaa", "'client aaaa", 4]]);
  });

  it('writes under the header’s own columns, whatever an admin put between them', () => {
    const header = ['key_id', 'notes', 'date', 'requests', 'client_name'];
    const rows = [['cccc', 'vip', daySerial(DAY), 2, 'C']];
    const plan = ok(planHistoryWrite({ header, rows, firstRow: 2 }, [delta(DAY, 'cccc', 1), delta(DAY, 'dddd', 6)]));
    expect(plan.updates).toEqual([{ cells: 'D2', values: [[3]] }]);
    expect(plan.newRows).toEqual([["'dddd", '', '2026-03-10', 6, "'client dddd"]]);
  });

  it('settles a write without an answer: a row holding exactly the attempted count was written, else it goes again', () => {
    const inDoubt = new Map<string, DayAttempt>([
      [dayKey(DAY, 'aaaa'), { delta: delta(DAY, 'aaaa', 5), requests: 15 }], // landed
      [dayKey(DAY, 'bbbb'), { delta: delta(DAY, 'bbbb', 2), requests: 9 }], // did not: the row still holds 7
      [dayKey(DAY, 'cccc'), { delta: delta(DAY, 'cccc', 4), requests: 4 }], // a new row that never appeared
    ]);
    const rows = [
      [daySerial(DAY), 'aaaa', 'A', 15],
      [daySerial(DAY), 'bbbb', 'B', 7],
    ];
    const plan = ok(planHistoryWrite({ header: HEADER, rows, firstRow: 2 }, [delta(DAY, 'bbbb', 1)], inDoubt));
    expect(plan.confirmed).toEqual([delta(DAY, 'aaaa', 5)]);
    expect(plan.retried.map((d) => d.keyId)).toEqual(['bbbb', 'cccc']);
    expect(plan.updates).toEqual([{ cells: 'D3', values: [[10]] }]); // 7 + 2 (retried) + 1 (new)
    expect(plan.newRows).toEqual([['2026-03-10', "'cccc", "'client cccc", 4]]);
  });

  it.each([
    [['date', 'key_id', 'requests'], 'history header row: no "client_name" column'],
    [['date', 'key_id', 'client_name', 'requests', 'Requests'], 'history header row: column "requests" appears twice'],
  ])('refuses a header it cannot locate rows with: %j', (header, reason) => {
    expect(planHistoryWrite({ header, rows: [], firstRow: 2 }, [delta(DAY, 'aaaa', 1)])).toEqual({ ok: false, reason });
  });
});

describe('readDay', () => {
  it.each([
    [daySerial(DAY), DAY],
    [daySerial(DAY) + 0.75, DAY],
    ['2026-03-10', DAY],
    [' 2026-03-11 ', NEXT],
    ['2026-02-30', undefined],
    ['10/03/2026', undefined],
    ['', undefined],
    [true, undefined],
  ])('%j → %j', (cell, day) => {
    expect(readDay(cell)).toBe(day);
  });
});
