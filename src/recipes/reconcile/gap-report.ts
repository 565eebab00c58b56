/**
 * The gap report: the seed's `inventory/gaps.json`, kept in the store
 * (namespace `reconcile`, key `<loop>/report`), served at `GET /reconcile`,
 * shown by `autoloop gaps <loop>`, and written to a file when configured.
 *
 * ```json
 * { "loop": "collect", "generated": "2025-10-22T20:07:22.000Z", "total": 41,
 *   "byPriority": { "critical": 4, "high": 0, "medium": 1, "low": 36 },
 *   "bySource": { "basketball_reference": 15, "hoopr": 13, "nba_api": 13 },
 *   "byReason": { "missing": 40, "stale": 1, "invalid": 0 },
 *   "estimatedSeconds": 27000, "estimatedMinutes": 450,
 *   "coverage": { "expected": 1200, "present": 1159, "ratio": 0.966, "sources": [...] },
 *   "inventory": { "description": "s3://lake/raw/", "objects": 172754, "bytes": 126701535232, ... },
 *   "tasks": [{ "source": "nba_api", "key": "...", "priority": "critical", "reason": "missing", ... }] }
 * ```
 */
import { PRIORITIES, type PriorityName } from '../../core/work-item.ts';
import type { Classification, Gap, GapReason, SourceCoverage } from './classify.ts';
import type { CollectionDurations } from './durations.ts';
import type { InventorySummary } from './inventory.ts';

/** A task of the report: a gap and how long it is expected to take. */
export interface ReportTask extends Gap {
  /** From earlier collections of the key or its source; null when there is no history yet. */
  readonly expectedMs: number | null;
}

export interface GapReport {
  readonly loop: string;
  /** ISO time of the reconcile. */
  readonly generated: string;
  readonly generatedAt: number;
  /** Why it ran: `cycle`, `after orchestration`, `startup`, `manual`. */
  readonly trigger: string;
  readonly total: number;
  readonly byPriority: Record<PriorityName, number>;
  readonly bySource: Record<string, number>;
  readonly byReason: Record<GapReason, number>;
  /** Per source, per priority (every priority listed, zeros included). */
  readonly bySourcePriority: Record<string, Record<PriorityName, number>>;
  /**
   * Time to collect every gap: per source, the sum of expected times over
   * its concurrency, the longest source wins (sources run side by side).
   * Gaps without history count `defaultTaskMs`.
   */
  readonly estimatedSeconds: number;
  readonly estimatedMinutes: number;
  readonly coverage: {
    readonly expected: number;
    readonly present: number;
    /** present / expected (1 when nothing is expected). */
    readonly ratio: number;
    readonly sources: ReadonlyArray<SourceCoverage & { readonly ratio: number }>;
  };
  readonly inventory: InventorySummary;
  /** The first {@link REPORT_TASK_LIMIT} tasks, most urgent first. */
  readonly tasks: readonly ReportTask[];
  /** Tasks left out of `tasks` (still counted in `total`). */
  readonly truncated: number;
}

/** Tasks a report keeps (in the store, at the route and in the file); `total` and the counts cover every gap. */
export const REPORT_TASK_LIMIT = 10_000;

export interface ReportInput {
  readonly loop: string;
  readonly now: number;
  readonly trigger: string;
  readonly classification: Classification;
  readonly inventory: InventorySummary;
  readonly durations: CollectionDurations;
  readonly concurrency: (source: string) => number;
  /** Assumed for a gap without history. */
  readonly defaultTaskMs: number;
  /** Tasks to keep; default {@link REPORT_TASK_LIMIT}. */
  readonly taskLimit?: number;
}

/** Builds the report of one reconcile. `tasks` keeps the classification's order (most urgent first). */
export function buildReport(input: ReportInput): GapReport {
  const { classification: c, durations } = input;
  const byPriority = emptyPriorities();
  const byReason: Record<GapReason, number> = { missing: 0, stale: 0, invalid: 0 };
  const bySource: Record<string, number> = {};
  const bySourcePriority: Record<string, Record<PriorityName, number>> = {};
  for (const s of c.coverage) bySourcePriority[s.source] = emptyPriorities();
  const sourceMs = new Map<string, number>();
  const limit = input.taskLimit ?? REPORT_TASK_LIMIT;
  const tasks: ReportTask[] = [];
  for (const gap of c.gaps) {
    byPriority[gap.priority]++;
    byReason[gap.reason]++;
    bySource[gap.source] = (bySource[gap.source] ?? 0) + 1;
    const perSource = bySourcePriority[gap.source] ?? emptyPriorities();
    bySourcePriority[gap.source] = perSource;
    perSource[gap.priority]++;
    const expected = durations.expected(gap.source, gap.key);
    sourceMs.set(gap.source, (sourceMs.get(gap.source) ?? 0) + (expected ?? input.defaultTaskMs));
    if (tasks.length < limit) tasks.push({ ...gap, expectedMs: expected === undefined ? null : Math.round(expected) });
  }
  let longestMs = 0;
  for (const [source, ms] of sourceMs) longestMs = Math.max(longestMs, ms / Math.max(1, input.concurrency(source)));
  const present = c.coverage.reduce((n, s) => n + s.present, 0);
  return {
    loop: input.loop,
    generated: new Date(input.now).toISOString(),
    generatedAt: input.now,
    trigger: input.trigger,
    total: c.gaps.length,
    byPriority,
    bySource,
    byReason,
    bySourcePriority,
    estimatedSeconds: Math.round(longestMs / 1000),
    estimatedMinutes: Math.round(longestMs / 60_000),
    coverage: {
      expected: c.expected,
      present,
      ratio: ratio(present, c.expected),
      sources: c.coverage.map((s) => ({ ...s, ratio: ratio(s.present, s.expected) })),
    },
    inventory: input.inventory,
    tasks,
    truncated: c.gaps.length - tasks.length,
  };
}

function emptyPriorities(): Record<PriorityName, number> {
  return Object.fromEntries(Object.keys(PRIORITIES).map((p) => [p, 0])) as Record<PriorityName, number>;
}

function ratio(part: number, whole: number): number {
  return whole === 0 ? 1 : Math.round((part / whole) * 10_000) / 10_000;
}
