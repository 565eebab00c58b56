import type { CycleRecord, ItemResult } from '../core/cycle-record.ts';
import { formatDuration } from '../time/duration.ts';

/** Where a command writes: injectable so tests can capture it. */
export interface Output {
  out(text: string): void;
  err(text: string): void;
}

export const processOutput: Output = {
  out: (text) => void process.stdout.write(`${text}\n`),
  err: (text) => void process.stderr.write(`${text}\n`),
};

/** Formats rows as left-aligned columns. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] as number)))
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
