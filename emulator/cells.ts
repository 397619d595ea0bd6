/**
 * Typed cells: how Sheets stores what it is sent (RAW vs USER_ENTERED) and how it renders it back
 * (FORMATTED_VALUE / UNFORMATTED_VALUE / FORMULA, SERIAL_NUMBER / FORMATTED_STRING). Pure functions.
 */
import { formatSerial, parseDate } from './dates';
import type { DateFormat } from './dates';

/** A value as the API carries it in JSON. */
export type CellValue = string | number | boolean;
/** What callers may put in a cell: `null` is an empty cell in the admin API, "leave unchanged" in an API write. */
export type CellInput = CellValue | null;

export const INPUT_OPTIONS = ['RAW', 'USER_ENTERED'] as const;
export type InputOption = (typeof INPUT_OPTIONS)[number];
export const VALUE_RENDERS = ['FORMATTED_VALUE', 'UNFORMATTED_VALUE', 'FORMULA'] as const;
export type ValueRender = (typeof VALUE_RENDERS)[number];
export const DATE_TIME_RENDERS = ['SERIAL_NUMBER', 'FORMATTED_STRING'] as const;
export type DateTimeRender = (typeof DATE_TIME_RENDERS)[number];

/** One stored cell. An empty cell is not stored at all. */
export interface Cell {
  readonly value: CellValue;
  /** Set when USER_ENTERED text was recognised as a date: the value is then a serial number. */
  readonly format?: DateFormat;
}

/** en_US number text: `42`, `-1.5`, `00123`, `1,234.5`, `1e3`. */
const NUMBER = /^[+-]?(?:\d{1,3}(?:,\d{3})+|\d+)?(?:\.\d+)?(?:[eE][+-]?\d+)?$/;
const BOOLEAN = /^(?:true|false)$/i;

function userEntered(text: string): Cell | undefined {
  if (text.startsWith("'")) {
    // A leading apostrophe forces text and is not part of the value, as in the Sheets UI.
    const rest = text.slice(1);
    return rest === '' ? undefined : { value: rest };
  }
  if (text.startsWith('=')) {
    // Formulas are kept as their text, unevaluated: every render returns the formula (documented in README).
    return { value: text };
  }
  const trimmed = text.trim();
  if (BOOLEAN.test(trimmed)) {
    return { value: trimmed.toLowerCase() === 'true' };
  }
  if (/\d/.test(trimmed) && NUMBER.test(trimmed)) {
    return { value: Number(trimmed.replace(/,/g, '')) };
  }
  const date = parseDate(trimmed);
  if (date !== undefined) {
    return { value: date.serial, format: date.format };
  }
  return { value: text };
}

/**
 * Stores one JSON value the way Sheets does. `undefined` = the cell becomes empty (`""` clears a cell).
 * RAW keeps strings verbatim ("TRUE", "00123", "=1+1" stay text); USER_ENTERED parses booleans, numbers, dates.
 */
export function toCell(input: CellValue, option: InputOption): Cell | undefined {
  if (typeof input !== 'string') {
    return { value: input };
  }
  if (input === '') {
    return undefined;
  }
  return option === 'RAW' ? { value: input } : userEntered(input);
}

/** Renders a number the way a cell in the default "Automatic" format shows it (close enough: `String()`). */
function formatNumber(n: number): string {
  return String(n);
}

/** What the API returns for one stored cell. */
export function renderCell(cell: Cell, render: ValueRender, dateTime: DateTimeRender): CellValue {
  const { value, format } = cell;
  if (render === 'FORMATTED_VALUE') {
    if (typeof value === 'boolean') {
      return value ? 'TRUE' : 'FALSE';
    }
    if (typeof value === 'number') {
      return format === undefined ? formatNumber(value) : formatSerial(value, format);
    }
    return value;
  }
  // UNFORMATTED_VALUE and FORMULA: dateTimeRenderOption applies (it is ignored only under FORMATTED_VALUE).
  if (typeof value === 'number' && format !== undefined && dateTime === 'FORMATTED_STRING') {
    return formatSerial(value, format);
  }
  return value;
}

/** Narrows an unknown JSON value to a cell input; `undefined` when Sheets would refuse it. */
export function asCellInput(value: unknown): CellInput | undefined {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') {
    return value;
  }
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}
