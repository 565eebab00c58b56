/**
 * The simulation's report: ticks, items, takeovers, breakers, cycle
 * duration and lateness, per loop and in total, the fault timeline, and the
 * verdict against the config's SLOs. A plain JSON value with no wall-clock
 * figure in it, so the same run gives the same bytes.
 */
import type { ResolvedConfig } from '../config/load-config.ts';
import type { ResolvedSlo } from '../config/simulate-schema.ts';
import { createTrigger } from '../scheduling/trigger.ts';
import { percentile } from './distribution.ts';
import type { Ledger, LoopBooks, ReRunCause } from './ledger.ts';
import type { ServiceReport } from './service-model.ts';
import type { ModelInfo, World } from './world.ts';

export interface Percentiles {
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
}

export interface TickReport {
  readonly due: number;
  readonly run: number;
  readonly skipped: number;
  /** Skipped ticks by reason (the reason's text up to its first colon). */
  readonly skippedByReason: Readonly<Record<string, number>>;
  /** Due ticks with no record at all: neither run nor skipped with a reason. */
  readonly unexplained: number;
}

export interface ItemReport {
  readonly planned: number;
  readonly succeeded: number;
  readonly failed: number;
  /** Not run: another run held the key (overrun protection). */
  readonly skipped: number;
  /** Planned before the end of the fault window, never finished. */
  readonly lost: number;
  /**
   * Guarantee violations (`slo.duplicates`): items run again after their
   * result was stored, items with two results stored, and runs started while
   * another owner's lease on their key was valid.
   */
  readonly duplicates: number;
  /** ...of which items with two results stored. */
  readonly storedTwice: number;
  /** ...of which leases granted over another owner's valid lease. */
  readonly overlappingLeases: number;
  /** Items run again after a success the store never acknowledged: at least once by design, not a duplicate. */
  readonly reRuns: number;
  /** The re-runs by cause: the holder was killed before writing, its write failed in a store outage, its lease lapsed. */
  readonly reRunCauses: Readonly<Record<ReRunCause, number>>;
}

export interface LoopReport {
  readonly loop: string;
  readonly ticks: TickReport;
  readonly items: ItemReport;
  readonly cycleMs: Percentiles;
  readonly latenessMs: Percentiles;
}

export interface TimelineEntry {
  /** Ms since the simulation started. */
  readonly at: number;
  readonly kind: string;
  readonly instance?: number;
  readonly detail: string;
  /** For a crash: its index in the ledger's crashes. */
  readonly crash?: number;
  followed?: string;
}

export interface SloCheck {
  readonly key: keyof ResolvedSlo;
  readonly target: string;
  readonly actual: string;
  readonly ok: boolean;
}

export interface SimulationReport {
  readonly seed: number;
  readonly faults: string;
  readonly instances: number;
  readonly durationMs: number;
  readonly startAt: string;
  /** Runtime instances started, restarts included. */
  readonly incarnations: number;
  readonly models: readonly ModelInfo[];
  readonly loops: readonly LoopReport[];
  readonly total: Omit<LoopReport, 'loop'>;
  readonly takeover: {
    readonly crashes: number;
    readonly orphanedItems: number;
    readonly ms: Percentiles;
    readonly notTakenOver: number;
  };
  readonly breakers: ReadonlyArray<{ breaker: string; openings: number; openMs: number }>;
  /**
   * Degraded readiness: time an instance's readiness probe failed because
   * one of its breakers (store or a dependency's) was open, summed over
   * instances, and how many such spells. Backpressure cooldowns are not counted.
   */
  readonly notReady: { readonly ms: number; readonly spells: number };
  /** Supervised services (modelled, see service-model.ts): faults, restarts and time down. Empty without `services:`. */
  readonly services: readonly ServiceReport[];
  readonly itemsInFlightAtEnd: number;
  readonly timeline: readonly TimelineEntry[];
  readonly slo: { readonly declared: boolean; readonly ok: boolean; readonly checks: readonly SloCheck[] };
}

export interface ReportInput {
  config: ResolvedConfig;
  ledger: Ledger;
  world: World;
  breakers: Array<{ breaker: string; openings: number; openMs: number }>;
  notReady: { ms: number; spells: number };
  services: ServiceReport[];
  timeline: TimelineEntry[];
  seed: number;
  faults: string;
  instances: number;
  durationMs: number;
  startAt: number;
  incarnations: number;
}

export function buildReport(input: ReportInput): SimulationReport {
  const { config, ledger, startAt, durationMs } = input;
  const { lost, inFlight } = ledger.finish(startAt + durationMs);
  const loops = config.loops.map((loop) => {
    const books = ledger.books(loop.name);
    const due = dueTicks(loop.trigger, startAt, startAt + durationMs);
    return loopReport(loop.name, books, due, lost.get(loop.name) ?? 0);
  });
  const total = totalReport(loops, [...ledger.loops.values()]);
  const takeovers = [...ledger.takeovers].sort((a, b) => a - b);
  for (const entry of input.timeline) {
    if (entry.crash === undefined) continue;
    const crash = ledger.crashes[entry.crash];
    if (!crash || crash.orphans === 0) continue;
    const taken = crash.takeovers.length;
    const slowest = taken > 0 ? Math.max(...crash.takeovers) : 0;
    entry.followed =
      taken === crash.orphans
        ? `all ${taken} taken over, the last after ${slowest} ms`
        : `${taken} of ${crash.orphans} taken over${taken > 0 ? `, the last after ${slowest} ms` : ''}`;
  }
  const base = {
    seed: input.seed,
    faults: input.faults,
    instances: input.instances,
    durationMs,
    startAt: new Date(startAt).toISOString(),
    incarnations: input.incarnations,
    models: input.world.models,
    loops,
    total,
    takeover: {
      crashes: ledger.crashCount,
      orphanedItems: ledger.crashes.reduce((n, c) => n + c.orphans, 0),
      ms: percentiles(takeovers),
      notTakenOver: ledger.notTakenOver,
    },
    breakers: input.breakers,
    notReady: input.notReady,
    services: input.services,
    itemsInFlightAtEnd: inFlight,
    timeline: input.timeline,
  };
  return { ...base, slo: verdict(config.slo, base) };
}

/** Scheduled ticks of `trigger` in (from, to): the schedulers start at `from` and wait for the next one. */
function dueTicks(trigger: ResolvedConfig['loops'][number]['trigger'], from: number, to: number): number[] {
  if (trigger.kind === 'manual') return [];
  const t = createTrigger(trigger);
  const out: number[] = [];
  for (let at = t.next(from); at !== undefined && at < to; at = t.next(at)) out.push(at);
  return out;
}

function loopReport(loop: string, books: LoopBooks, due: number[], lost: number): LoopReport {
  let run = 0;
  let skipped = 0;
  let unexplained = 0;
  const byReason: Record<string, number> = {};
  for (const at of due) {
    const tick = books.ticks.get(at);
    if (!tick) unexplained++;
    else if (tick.state === 'run') run++;
    else {
      skipped++;
      const reason = reasonKind(tick.reason ?? '');
      byReason[reason] = (byReason[reason] ?? 0) + 1;
    }
  }
  return {
    loop,
    ticks: { due: due.length, run, skipped, skippedByReason: sortedRecord(byReason), unexplained },
    items: {
      planned: books.planned,
      succeeded: books.succeeded,
      failed: books.failed,
      skipped: books.skipped,
      lost,
      duplicates: books.duplicates,
      storedTwice: books.storedTwice,
      overlappingLeases: books.overlappingLeases,
      reRuns: books.reRuns.crash + books.reRuns.storeOutage + books.reRuns.leaseLapsed,
      reRunCauses: { ...books.reRuns },
    },
    cycleMs: percentiles([...books.durations].sort((a, b) => a - b)),
    latenessMs: percentiles([...books.lateness].sort((a, b) => a - b)),
  };
}

function totalReport(loops: LoopReport[], books: LoopBooks[]): Omit<LoopReport, 'loop'> {
  const sum = <K extends string>(pick: (l: LoopReport) => Record<K, number>, key: K) =>
    loops.reduce((n, l) => n + pick(l)[key], 0);
  const byReason: Record<string, number> = {};
  for (const l of loops) {
    for (const [reason, n] of Object.entries(l.ticks.skippedByReason)) byReason[reason] = (byReason[reason] ?? 0) + n;
  }
  const ticks = (l: LoopReport) => l.ticks as unknown as Record<string, number>;
  const items = (l: LoopReport) => l.items as unknown as Record<string, number>;
  return {
    ticks: {
      due: sum(ticks, 'due'),
      run: sum(ticks, 'run'),
      skipped: sum(ticks, 'skipped'),
      skippedByReason: sortedRecord(byReason),
      unexplained: sum(ticks, 'unexplained'),
    },
    items: {
      planned: sum(items, 'planned'),
      succeeded: sum(items, 'succeeded'),
      failed: sum(items, 'failed'),
      skipped: sum(items, 'skipped'),
      lost: sum(items, 'lost'),
      duplicates: sum(items, 'duplicates'),
      storedTwice: sum(items, 'storedTwice'),
      overlappingLeases: sum(items, 'overlappingLeases'),
      reRuns: sum(items, 'reRuns'),
      reRunCauses: {
        crash: sum((l) => l.items.reRunCauses, 'crash'),
        storeOutage: sum((l) => l.items.reRunCauses, 'storeOutage'),
        leaseLapsed: sum((l) => l.items.reRunCauses, 'leaseLapsed'),
      },
    },
    cycleMs: percentiles(books.flatMap((b) => b.durations).sort((a, b) => a - b)),
    latenessMs: percentiles(books.flatMap((b) => b.lateness).sort((a, b) => a - b)),
  };
}

/** "store unavailable: connection refused" -> "store unavailable". */
function reasonKind(reason: string): string {
  const colon = reason.indexOf(':');
  return (colon > 0 ? reason.slice(0, colon) : reason).trim() || 'unknown';
}

function sortedRecord(record: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

function percentiles(sorted: number[]): Percentiles {
  return { p50: percentile(sorted, 0.5), p99: percentile(sorted, 0.99), max: sorted[sorted.length - 1] ?? 0 };
}

function verdict(
  slo: ResolvedSlo | null,
  report: Pick<SimulationReport, 'total' | 'takeover'>,
): SimulationReport['slo'] {
  const checks: SloCheck[] = [];
  const { items, ticks } = report.total;
  if (slo?.lost !== undefined) {
    checks.push({ key: 'lost', target: `<= ${slo.lost}`, actual: String(items.lost), ok: items.lost <= slo.lost });
  }
  if (slo?.duplicates !== undefined) {
    const actual = items.duplicates;
    checks.push({
      key: 'duplicates',
      target: `<= ${slo.duplicates}`,
      actual: String(actual),
      ok: actual <= slo.duplicates,
    });
  }
  if (slo?.takeover !== undefined) {
    const p99 = report.takeover.ms.p99;
    const ok = p99 <= slo.takeover && report.takeover.notTakenOver === 0;
    const actual = `p99 ${p99} ms${report.takeover.notTakenOver > 0 ? `, ${report.takeover.notTakenOver} never taken over` : ''}`;
    checks.push({ key: 'takeover', target: `p99 <= ${slo.takeover} ms`, actual, ok });
  }
  if (slo?.ticksRun !== undefined) {
    const ratio = ticks.due === 0 ? 1 : ticks.run / ticks.due;
    checks.push({
      key: 'ticksRun',
      target: `>= ${formatPercent(slo.ticksRun)}`,
      actual: formatPercent(ratio),
      ok: ratio >= slo.ticksRun,
    });
  }
  if (slo?.unexplained !== undefined) {
    const n = ticks.unexplained;
    checks.push({ key: 'unexplained', target: `<= ${slo.unexplained}`, actual: String(n), ok: n <= slo.unexplained });
  }
  return { declared: slo !== null, ok: checks.every((c) => c.ok), checks };
}

export function formatPercent(ratio: number): string {
  return `${(Math.floor(ratio * 100_000) / 1000).toFixed(3)}%`;
}
