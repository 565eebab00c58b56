import type { CycleOutcomeKind, CycleRecord, ItemResult } from '../core/cycle-record.ts';

/** Cycles read per loop to answer a filtered list (`/cycles`, `/items/failed`): the filter applies to these. */
export const SCAN_PER_LOOP = 200;

/** Records newest first (by start, then id, as the store lists them). Sorts in place. */
export function newestFirst(records: CycleRecord[]): CycleRecord[] {
  return records.sort((a, b) => b.startedAt - a.startedAt || (a.id < b.id ? 1 : -1));
}

/**
 * One point of a loop's chart history, computed from a finished cycle and
 * its stored item results, so the dashboard's charts show the same past
 * after a reload (the live figures of `/status` exist only in memory).
 */
export interface HistoryPoint {
  readonly cycleId: string;
  /** When the cycle finished (epoch ms): the point's time. */
  readonly at: number;
  readonly outcome: CycleOutcomeKind;
  /** Items that ran (succeeded or failed; skipped ones did no work). */
  readonly items: number;
  /** Item durations (all attempts) at the 50th and 95th percentile; null when no item ran. */
  readonly p50Ms: number | null;
  readonly p95Ms: number | null;
  /** The most items that ran at the same moment in this cycle (0 when none ran). */
  readonly peakInFlight: number;
}

/**
 * The chart point of a finished cycle; undefined for one still running
 * (its figures are not final).
 *
 * @example
 * historyPoint(record, await store.cycles.items(record.id)); // { p95Ms: 180, peakInFlight: 3, ... }
 */
export function historyPoint(record: CycleRecord, results: readonly ItemResult[]): HistoryPoint | undefined {
  if (record.finishedAt === null) return undefined;
  const ran = results.filter((r) => r.status !== 'skipped');
  const durations = ran.map((r) => r.durationMs).sort((a, b) => a - b);
  return {
    cycleId: record.id,
    at: record.finishedAt,
    outcome: record.outcome.kind,
    items: ran.length,
    p50Ms: percentile(durations, 0.5),
    p95Ms: percentile(durations, 0.95),
    peakInFlight: peakOverlap(ran),
  };
}

/** Nearest-rank percentile of sorted values; null for none. */
export function percentile(sorted: readonly number[], q: number): number | null {
  if (sorted.length === 0) return null;
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(q * sorted.length)));
  return sorted[rank - 1] ?? null;
}

/**
 * The largest number of intervals `[startedAt, finishedAt)` that overlap:
 * an item that ends at the moment another starts does not count twice.
 */
export function peakOverlap(results: ReadonlyArray<Pick<ItemResult, 'startedAt' | 'finishedAt'>>): number {
  // Ends sort before starts at the same time (-1 before +1).
  const edges = results.flatMap((r) => [
    [r.startedAt, 1],
    [Math.max(r.startedAt, r.finishedAt), -1],
  ]);
  edges.sort((a, b) => (a[0] as number) - (b[0] as number) || (a[1] as number) - (b[1] as number));
  let now = 0;
  let peak = 0;
  for (const [, step] of edges) {
    now += step as number;
    peak = Math.max(peak, now);
  }
  return peak;
}
