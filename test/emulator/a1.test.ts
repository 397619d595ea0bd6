import { columnIndex, columnLetters, formatRange, parseA1, parseCells, quoteSheet } from '../../emulator/a1';

describe('A1 parsing', () => {
  it.each([
    ['A', 0],
    ['Z', 25],
    ['AA', 26],
    ['AZ', 51],
    ['BA', 52],
    ['ZZ', 701],
    ['AAA', 702],
    ['ZZZ', 18277],
  ])('column %s is index %i, and back', (letters, index) => {
    expect(columnIndex(letters)).toBe(index);
    expect(columnLetters(index)).toBe(letters);
  });

  it.each([
    ['API_Keys', { kind: 'bare', text: 'API_Keys', cells: undefined }],
    ["'API Keys'", { kind: 'sheet', sheet: 'API Keys', cells: undefined }],
    [
      "'It''s'!A1",
      { kind: 'sheet', sheet: "It's", cells: { startRow: 0, startCol: 0, endRow: 0, endCol: 0, single: true } },
    ],
    [
      "'API Keys'!A1:F",
      {
        kind: 'sheet',
        sheet: 'API Keys',
        cells: { startRow: 0, startCol: 0, endRow: undefined, endCol: 5, single: false },
      },
    ],
    [
      'API_Keys!A2:C5',
      { kind: 'sheet', sheet: 'API_Keys', cells: { startRow: 1, startCol: 0, endRow: 4, endCol: 2, single: false } },
    ],
    [
      'Sheet1!G7',
      { kind: 'sheet', sheet: 'Sheet1', cells: { startRow: 6, startCol: 6, endRow: 6, endCol: 6, single: true } },
    ],
    [
      'Sheet1!AA10:AB',
      {
        kind: 'sheet',
        sheet: 'Sheet1',
        cells: { startRow: 9, startCol: 26, endRow: undefined, endCol: 27, single: false },
      },
    ],
    [
      'Sheet1!A:C',
      {
        kind: 'sheet',
        sheet: 'Sheet1',
        cells: { startRow: undefined, startCol: 0, endRow: undefined, endCol: 2, single: false },
      },
    ],
    [
      'Sheet1!2:5',
      {
        kind: 'sheet',
        sheet: 'Sheet1',
        cells: { startRow: 1, startCol: undefined, endRow: 4, endCol: undefined, single: false },
      },
    ],
    [
      'Sheet1!$B$2:$A$1',
      { kind: 'sheet', sheet: 'Sheet1', cells: { startRow: 0, startCol: 0, endRow: 1, endCol: 1, single: false } },
    ],
    [
      "'a!b'!B3",
      { kind: 'sheet', sheet: 'a!b', cells: { startRow: 2, startCol: 1, endRow: 2, endCol: 1, single: true } },
    ],
    [
      'A1:B2',
      { kind: 'bare', text: 'A1:B2', cells: { startRow: 0, startCol: 0, endRow: 1, endCol: 1, single: false } },
    ],
  ])('parses %s', (text, expected) => {
    expect(parseA1(text)).toEqual(expected);
  });

  it.each([
    '',
    "'unterminated",
    "''",
    "'API Keys'A1",
    'Sheet1!',
    'Sheet1!A0',
    'Sheet1!ABCD1',
    'Sheet1!A1:B2:C3',
    'Sheet1!1A',
  ])('refuses %p', (text) => {
    expect(parseA1(text)).toBeUndefined();
  });

  it('reads a bare name that is not A1 as a tab name only', () => {
    expect(parseA1('Sheet1')).toEqual({ kind: 'bare', text: 'Sheet1', cells: undefined });
    // "Tab1" is also column TAB, row 1: both readings are kept, the resolver prefers an existing tab.
    expect(parseA1('Tab1')).toMatchObject({ kind: 'bare', text: 'Tab1', cells: { startCol: columnIndex('TAB') } });
  });

  it('needs both column and row for a single cell', () => {
    expect(parseCells('A')).toBeUndefined();
    expect(parseCells('7')).toBeUndefined();
  });

  it.each([
    ['API_Keys', 'API_Keys'],
    ['Sheet1', 'Sheet1'],
    ['API Keys', "'API Keys'"],
    ["It's", "'It''s'"],
    ['A1', "'A1'"],
    ['2024', "'2024'"],
  ])('quotes sheet %p as %p in returned ranges', (title, quoted) => {
    expect(quoteSheet(title)).toBe(quoted);
  });

  it('formats ranges as Google returns them', () => {
    expect(formatRange('API_Keys', { top: 0, left: 0, bottom: 999, right: 25 })).toBe('API_Keys!A1:Z1000');
    expect(formatRange('API Keys', { top: 6, left: 6, bottom: 6, right: 6 })).toBe("'API Keys'!G7");
    expect(formatRange('S', { top: 1, left: 26, bottom: 2, right: 27 })).toBe('S!AA2:AB3');
  });
});
