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

export function cycleRow(record: CycleRecord): string[] {
  const duration = record.finishedAt === null ? 'running' : formatDuration(record.finishedAt - record.startedAt);
  return [
    record.id,
    new Date(record.startedAt).toISOString(),
    record.trigger,
    duration,
    `${record.counts.succeeded}/${record.counts.planned}`,
    outcomeText(record),
  ];
}
