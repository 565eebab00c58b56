import type { Palette } from './output.ts';

const LEVELS: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
/** Fields every line has, or that say nothing to a person reading one daemon's log. */
const HIDDEN = new Set(['time', 'level', 'msg', 'pid', 'hostname', 'v']);

/**
 * One pino JSON line for a person: `time level msg k=v ...`. Lines that are
 * not JSON objects (a crash's stack trace, a child's stderr) come back as is.
 *
 * @example
 * formatLogLine('{"level":30,"time":"2025-01-01T00:00:00.000Z","msg":"cycle finished","loop":"prices"}', plain)
 * // '2025-01-01T00:00:00.000Z INFO  cycle finished loop=prices'
 */
export function formatLogLine(line: string, style: Palette): string {
  if (!line.startsWith('{')) return line;
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
  if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) return line;
  const time = typeof entry.time === 'number' ? new Date(entry.time).toISOString() : String(entry.time ?? '-');
  const level =
    typeof entry.level === 'number' ? (LEVELS[entry.level] ?? String(entry.level)) : String(entry.level ?? '');
  const fields = Object.entries(entry)
    .filter(([key]) => !HIDDEN.has(key))
    .map(([key, value]) => `${key}=${fieldValue(value)}`);
  const head = `${style.dim(time)} ${levelStyle(level, style)(level.padEnd(5))} ${String(entry.msg ?? '')}`;
  return [head, ...fields].join(' ').trimEnd();
}

function fieldValue(value: unknown): string {
  if (typeof value === 'string') return /^[^\s"=]+$/.test(value) ? value : JSON.stringify(value);
  return JSON.stringify(value) ?? String(value);
}

function levelStyle(level: string, style: Palette): (text: string) => string {
  if (level === 'ERROR' || level === 'FATAL') return style.red;
  if (level === 'WARN') return style.yellow;
  if (level === 'INFO') return style.green;
  return style.dim;
}
