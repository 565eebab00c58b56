import type { CycleRecord, ItemResult } from '../core/cycle-record.ts';
import { formatDuration } from '../time/duration.ts';

/** Where a command writes: injectable so tests can capture it. */
export interface Output {
  /** A line on stdout (a newline is added). */
  out(text: string): void;
  /** A line on stderr (a newline is added). */
  err(text: string): void;
  /** Whether stdout is an interactive terminal: progress lines, pretty logs and colour are for people only. */
  readonly isTTY?: boolean;
  /** Text on stdout as is, without a newline (a progress line rewritten with `\r`). */
  raw?(text: string): void;
}

export const processOutput: Output = {
  out: (text) => void process.stdout.write(`${text}\n`),
  err: (text) => void process.stderr.write(`${text}\n`),
  get isTTY() {
    return process.stdout.isTTY === true;
  },
  raw: (text) => void process.stdout.write(text),
};

function visibleLength(text: string): number {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching the escape codes palette() writes
  return text.replace(/\u001b\[\d+m/g, '').length;
}

/** Text styles: plain ANSI when allowed, the text unchanged otherwise. */
export interface Palette {
  readonly enabled: boolean;
  red(text: string): string;
  green(text: string): string;
  yellow(text: string): string;
  dim(text: string): string;
  bold(text: string): string;
}

/**
 * Colour only for a person at a terminal: never when stdout is not a TTY,
 * when `NO_COLOR` is set to anything non-empty (no-color.org), or for `TERM=dumb`.
 */
export function palette(output: Output, env: NodeJS.ProcessEnv = process.env): Palette {
  const enabled = output.isTTY === true && !env.NO_COLOR && env.TERM !== 'dumb';
  const style = (open: number, close: number) => (text: string) =>
    enabled ? `\u001b[${open}m${text}\u001b[${close}m` : text;
  return {
    enabled,
    red: style(31, 39),
    green: style(32, 39),
    yellow: style(33, 39),
    dim: style(2, 22),
    bold: style(1, 22),
  };
}

/** `2h 3m`, `4m 10s`, `12s`: an uptime or an estimate, to the nearest second. */
export function humanSeconds(totalSeconds: number): string {
  const s = Math.max(0, Math.round(totalSeconds));
  const d = Math.floor(s / 86_400);
  const h = Math.floor((s % 86_400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  const parts = d > 0 ? [`${d}d`, `${h}h`] : h > 0 ? [`${h}h`, `${m}m`] : m > 0 ? [`${m}m`, `${s % 60}s`] : [`${s}s`];
  return parts.join(' ');
}

/**
 * How far `at` (epoch ms or an ISO time) is from `now`, as `kubectl get` and
 * `pm2 ls` show ages: `3m ago`, `in 40s`, `2h ago`, `5d ago`; `now` within
 * a second. Human output only: `--json` keeps exact ISO times.
 *
 * @example
 * relativeTime(now - 180_000, now); // '3m ago'
 */
export function relativeTime(at: string | number, now: number): string {
  const ms = typeof at === 'number' ? at : Date.parse(at);
  if (!Number.isFinite(ms)) return String(at);
  const delta = ms - now;
  const span = shortAge(Math.abs(delta));
  if (span === null) return 'now';
  return delta < 0 ? `${span} ago` : `in ${span}`;
}

/** `45s`, `3m`, `2h`, `5d` (whole units, rounded down), or null under a second. */
export function shortAge(ms: number): string | null {
  const s = Math.floor(ms / 1000);
  if (s < 1) return null;
  if (s < 120) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 120) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h`;
  return `${Math.floor(h / 24)}d`;
}

/** A trigger's description with its interval short: `every 60000 ms` -> `every 1m`; others unchanged. */
export function shortSchedule(description: string): string {
  return description.replace(/^every (\d+) ms$/, (_, ms: string) => `every ${formatDuration(Number(ms))}`);
}

/** Formats rows as left-aligned columns (colour codes take no width). */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => visibleLength(r[i] ?? ''))));
  const line = (cells: string[]) =>
    cells
      .map((c, i) =>
        i === cells.length - 1 ? c : c + ' '.repeat(Math.max(0, (widths[i] as number) - visibleLength(c))),
      )
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

export function outcomeText(record: CycleRecord): string {
  const o = record.outcome;
  switch (o.kind) {
    case 'skipped':
      return `skipped (${o.reason})`;
    case 'failed':
      return `failed in ${o.step}: ${o.error.name}: ${o.error.message}`;
    case 'partial':
      return `partial (${o.failed} failed)`;
    default:
      return o.kind;
  }
}

export function itemLine(result: ItemResult): string {
  const mark = result.status === 'succeeded' ? 'ok  ' : 'FAIL';
  const tries = result.attempts > 1 ? ` after ${result.attempts} attempts` : '';
  const base = `${mark} ${result.key}  ${formatDuration(result.durationMs)}${tries}`;
  if (result.status === 'succeeded') return base;
  const err = result.error;
  const tail = err?.stderrTail
    ? `\n       stderr: ${err.stderrTail.trim().split('\n').slice(-3).join('\n               ')}`
    : '';
  return `${base}  ${err?.name}: ${err?.message}${tail}`;
}

/** A row of the cycles table; `now` makes the start time an age (`3m ago`). */
export function cycleRow(record: CycleRecord, now: number): string[] {
  const duration = record.finishedAt === null ? 'running' : formatDuration(record.finishedAt - record.startedAt);
  return [
    record.id,
    relativeTime(record.startedAt, now),
    record.trigger,
    duration,
    `${record.counts.succeeded}/${record.counts.planned}`,
    outcomeText(record),
  ];
}
