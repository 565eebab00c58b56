import { candleProblem } from './candle-checks.ts';
import { CANDLE_TIME_EXPECTED, parseCandleTime } from './candle-time.ts';
import type { Candle } from './market-data.ts';

/** The formats a replay file may have, chosen by its extension. */
export type ReplayFormat = 'csv' | 'json';

/** A parsed replay file, or what is wrong with it and where. */
export type ReplayFileResult =
  | {
      ok: true;
      candles: Candle[] /** Smallest gap between two candles; undefined with fewer than two. */;
      spacingMs: number | undefined;
    }
  | { ok: false; problem: string };

const FIELDS = ['time', 'open', 'high', 'low', 'close', 'volume'] as const;
type Field = (typeof FIELDS)[number];

/** Accepted names per field (compared lowercased, trimmed); the first is the one error messages use. */
const ALIASES: Record<Field, readonly string[]> = {
  time: ['time', 'timestamp', 'date', 'datetime', 'opentime', 'open_time', 't'],
  open: ['open', 'o'],
  high: ['high', 'h'],
  low: ['low', 'l'],
  close: ['close', 'c'],
  volume: ['volume', 'vol', 'v'],
};

/** A row before it is checked against its neighbours; `where` is `line 12` or `[11]`. */
interface Row {
  readonly candle: Candle;
  readonly where: string;
}

/**
 * Parses a replay file's text into candles, oldest first.
 *
 * CSV: a header row naming the columns `time, open, high, low, close,
 * volume` in any order (also `timestamp`/`date`, `o`/`h`/`l`/`c`/`v`;
 * other columns are ignored), then one candle per line, comma separated
 * (`;` or tab when the header has no comma), fields optionally in double
 * quotes. Blank lines and lines starting with `#` are skipped.
 *
 * JSON: an array of objects with those keys, or of arrays
 * `[time, open, high, low, close, volume, ...ignored]`; numbers may be
 * strings (as exchanges send them).
 *
 * Times: epoch ms, epoch s or ISO 8601 with a zone ({@link parseCandleTime}).
 * Rows may be oldest first or newest first (the whole file reversed); any
 * other order, or a time repeated, is an error naming both rows.
 *
 * Problems read `line 12: close (column 5): expected a number, got "abc"`
 * (CSV, 1-based lines and columns) or `[11].close: expected ...` (JSON,
 * 0-based element index); the caller prefixes the file name.
 */
export function parseReplayFile(text: string, format: ReplayFormat): ReplayFileResult {
  const rows = format === 'csv' ? parseCsv(stripBom(text)) : parseJson(stripBom(text));
  if (typeof rows === 'string') return { ok: false, problem: rows };
  return ordered(rows);
}

function stripBom(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

function parseCsv(text: string): Row[] | string {
  const lines = text.split(/\r?\n/);
  const headerIndex = lines.findIndex((line) => line.trim() !== '' && !line.trimStart().startsWith('#'));
  if (headerIndex < 0) return `expected a header row (time,open,high,low,close,volume), got an empty file`;
  const headerLine = lines[headerIndex] as string;
  const delimiter = headerLine.includes(',')
    ? ','
    : headerLine.includes(';')
      ? ';'
      : headerLine.includes('\t')
        ? '\t'
        : ',';
  const header = splitCsvLine(headerLine, delimiter);
  if (header === undefined) return `line ${headerIndex + 1}: header: unbalanced double quote`;
  const columns = columnIndexes(header.map((name) => name.trim().toLowerCase()));
  if (typeof columns === 'string')
    return `line ${headerIndex + 1}: header: ${columns}, got ${JSON.stringify(headerLine.trim())}`;
  const rows: Row[] = [];
  for (let i = headerIndex + 1; i < lines.length; i++) {
    const line = lines[i] as string;
    if (line.trim() === '' || line.trimStart().startsWith('#')) continue;
    const where = `line ${i + 1}`;
    const cells = splitCsvLine(line, delimiter);
    if (cells === undefined) return `${where}: unbalanced double quote`;
    const candle = readCells(cells, columns, where);
    if (typeof candle === 'string') return candle;
    rows.push({ candle, where });
  }
  return rows;
}

/** Where each field sits in the header, or what is missing. */
function columnIndexes(names: readonly string[]): Record<Field, number> | string {
  const found: Partial<Record<Field, number>> = {};
  const missing: Field[] = [];
  for (const field of FIELDS) {
    const index = names.findIndex((name) => ALIASES[field].includes(name));
    if (index < 0) missing.push(field);
    else found[field] = index;
  }
  if (missing.length > 0) {
    return `expected columns time, open, high, low, close, volume (any order; others ignored), missing ${missing.join(', ')}`;
  }
  return found as Record<Field, number>;
}

function readCells(cells: readonly string[], columns: Record<Field, number>, where: string): Candle | string {
  const values: Partial<Record<Field, number>> = {};
  for (const field of FIELDS) {
    const index = columns[field];
    const cell = cells[index];
    const at = `${where}: ${field} (column ${index + 1})`;
    if (cell === undefined) return `${at}: expected a value, got a row of ${cells.length} columns`;
    const value = field === 'time' ? parseCandleTime(cell) : parseNumber(cell);
    if (value === undefined) {
      return `${at}: expected ${field === 'time' ? CANDLE_TIME_EXPECTED : 'a number'}, got ${JSON.stringify(cell)}`;
    }
    values[field] = value;
  }
  return checked(values as Record<Field, number>, `${where}: `);
}

/** Splits one CSV line; fields in double quotes may hold the delimiter and `""`. Undefined on an unclosed quote. */
function splitCsvLine(line: string, delimiter: string): string[] | undefined {
  const cells: string[] = [];
  let i = 0;
  for (;;) {
    while (line[i] === ' ') i++;
    if (line[i] === '"') {
      let cell = '';
      i++;
      for (;;) {
        const end = line.indexOf('"', i);
        if (end < 0) return undefined;
        cell += line.slice(i, end);
        if (line[end + 1] === '"') {
          cell += '"';
          i = end + 2;
          continue;
        }
        i = end + 1;
        break;
      }
      const next = line.indexOf(delimiter, i);
      cells.push(cell);
      if (next < 0) return cells;
      i = next + 1;
    } else {
      const next = line.indexOf(delimiter, i);
      cells.push(next < 0 ? line.slice(i) : line.slice(i, next));
      if (next < 0) return cells;
      i = next + 1;
    }
  }
}

function parseJson(text: string): Row[] | string {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    return `expected JSON, got a syntax error: ${(error as Error).message}`;
  }
  if (!Array.isArray(data)) {
    return `expected a JSON array of candles (objects or [time, open, high, low, close, volume]), got ${typeName(data)}`;
  }
  const rows: Row[] = [];
  for (let i = 0; i < data.length; i++) {
    const where = `[${i}]`;
    const candle = readElement(data[i], where);
    if (typeof candle === 'string') return candle;
    rows.push({ candle, where });
  }
  return rows;
}

function readElement(element: unknown, where: string): Candle | string {
  const values: Partial<Record<Field, number>> = {};
  if (Array.isArray(element)) {
    for (const [index, field] of FIELDS.entries()) {
      const value = readValue(element[index], field);
      if (value === undefined)
        return `${where}[${index}] (${field}): expected ${expected(field)}, got ${show(element[index])}`;
      values[field] = value;
    }
  } else if (element !== null && typeof element === 'object') {
    const entries = Object.entries(element).map(([key, value]) => [key.toLowerCase(), value] as const);
    for (const field of FIELDS) {
      const entry = entries.find(([key]) => ALIASES[field].includes(key));
      if (!entry) return `${where}.${field}: expected ${expected(field)}, got no such key`;
      const value = readValue(entry[1], field);
      if (value === undefined) return `${where}.${field}: expected ${expected(field)}, got ${show(entry[1])}`;
      values[field] = value;
    }
  } else {
    return `${where}: expected an object or an array [time, open, high, low, close, volume], got ${typeName(element)}`;
  }
  return checked(values as Record<Field, number>, `${where}.`);
}

function readValue(value: unknown, field: Field): number | undefined {
  if (field === 'time') return parseCandleTime(value);
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  return typeof value === 'string' ? parseNumber(value) : undefined;
}

function parseNumber(text: string): number | undefined {
  const trimmed = text.trim();
  if (trimmed === '') return undefined;
  const value = Number(trimmed);
  return Number.isFinite(value) ? value : undefined;
}

function checked(values: Record<Field, number>, prefix: string): Candle | string {
  const { time, open, high, low, close, volume } = values;
  const candle: Candle = { openTime: time, open, high, low, close, volume };
  const problem = candleProblem(candle);
  return problem === undefined ? candle : `${prefix}${problem}`;
}

/** Oldest first; a file written newest first is reversed; anything else out of order is an error. */
function ordered(rows: Row[]): ReplayFileResult {
  const first = rows[0];
  const last = rows[rows.length - 1];
  if (first && last && first.candle.openTime > last.candle.openTime) rows.reverse();
  let spacingMs: number | undefined;
  for (let i = 1; i < rows.length; i++) {
    const previous = rows[i - 1] as Row;
    const row = rows[i] as Row;
    const gap = row.candle.openTime - previous.candle.openTime;
    if (gap <= 0) {
      return {
        ok: false,
        problem: `${row.where}: time: expected ${gap === 0 ? 'a time not already used' : 'rows in time order'} (${previous.where} has ${iso(previous.candle.openTime)}), got ${iso(row.candle.openTime)}`,
      };
    }
    spacingMs = spacingMs === undefined ? gap : Math.min(spacingMs, gap);
  }
  return { ok: true, candles: rows.map((row) => row.candle), spacingMs };
}

function expected(field: Field): string {
  return field === 'time' ? CANDLE_TIME_EXPECTED : 'a number';
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function show(value: unknown): string {
  return value === undefined ? 'nothing' : JSON.stringify(value);
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}
