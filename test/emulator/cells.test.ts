import { renderCell, toCell } from '../../emulator/cells';
import type { Cell } from '../../emulator/cells';
import { formatSerial, parseDate, toSerial } from '../../emulator/dates';

describe('typed cells', () => {
  it.each([
    ['TRUE', { value: 'TRUE' }],
    ['00123', { value: '00123' }],
    ['=1+1', { value: '=1+1' }],
    ['2025-12-31', { value: '2025-12-31' }],
    [' spaced ', { value: ' spaced ' }],
    [42, { value: 42 }],
    [false, { value: false }],
    ['', undefined],
  ])('RAW stores %p verbatim', (input, cell) => {
    expect(toCell(input, 'RAW')).toEqual(cell);
  });

  it.each([
    ['TRUE', { value: true }],
    ['false', { value: false }],
    [' True ', { value: true }],
    ['00123', { value: 123 }],
    ['-1.5', { value: -1.5 }],
    ['1,234.5', { value: 1234.5 }],
    ['1e3', { value: 1000 }],
    ['2025-12-31', { value: 46022, format: 'DATE' }],
    ['2025-12-31 12:00:00', { value: 46022.5, format: 'DATE_TIME' }],
    ['2025-12-31T06:00', { value: 46022.25, format: 'DATE_TIME' }],
    ['12/31/2025', { value: 46022, format: 'DATE' }],
    ['2025/12/31', { value: 46022, format: 'DATE' }],
    ['2025-12-31T23:59:59Z', { value: '2025-12-31T23:59:59Z' }],
    ['2025-02-30', { value: '2025-02-30' }],
    ['=SUM(A1:A3)', { value: '=SUM(A1:A3)' }],
    ["'00123", { value: '00123' }],
    ["'TRUE", { value: 'TRUE' }],
    ['yes', { value: 'yes' }],
    ['sk-convergence-0000', { value: 'sk-convergence-0000' }],
    [7, { value: 7 }],
    [true, { value: true }],
    ['', undefined],
  ])('USER_ENTERED parses %p', (input, cell) => {
    expect(toCell(input, 'USER_ENTERED')).toEqual(cell);
  });

  const date: Cell = { value: 46022.99998842592, format: 'DATE_TIME' };

  it.each([
    [{ value: true }, 'FORMATTED_VALUE', 'SERIAL_NUMBER', 'TRUE'],
    [{ value: false }, 'UNFORMATTED_VALUE', 'SERIAL_NUMBER', false],
    [{ value: 7 }, 'FORMATTED_VALUE', 'SERIAL_NUMBER', '7'],
    [{ value: 7 }, 'UNFORMATTED_VALUE', 'FORMATTED_STRING', 7],
    [date, 'FORMATTED_VALUE', 'SERIAL_NUMBER', '2025-12-31 23:59:59'],
    [date, 'UNFORMATTED_VALUE', 'SERIAL_NUMBER', 46022.99998842592],
    [date, 'UNFORMATTED_VALUE', 'FORMATTED_STRING', '2025-12-31 23:59:59'],
    [date, 'FORMULA', 'SERIAL_NUMBER', 46022.99998842592],
    [{ value: 46022, format: 'DATE' }, 'FORMATTED_VALUE', 'SERIAL_NUMBER', '2025-12-31'],
    [{ value: '=1+1' }, 'FORMULA', 'SERIAL_NUMBER', '=1+1'],
  ] as const)('renders %p as %s/%s → %p', (cell, render, dateTime, out) => {
    expect(renderCell(cell, render, dateTime)).toEqual(out);
  });

  it('counts serials from 1899-12-30 on the wall clock', () => {
    expect(toSerial(1899, 12, 30)).toBe(0);
    expect(toSerial(1970, 1, 1)).toBe(25569);
    expect(parseDate('1900-03-01')?.serial).toBe(61);
    expect(formatSerial(25569.5, 'DATE_TIME')).toBe('1970-01-01 12:00:00');
    expect(formatSerial(toSerial(2030, 6, 1, 23, 0, 0), 'DATE_TIME')).toBe('2030-06-01 23:00:00');
  });

  it.each(['2025-13-01', '2025-12-31 24:00', '0099-01-01', '31/12/2025', 'tomorrow'])('%p is not a date', (text) => {
    expect(parseDate(text)).toBeUndefined();
  });
});
