import { Counter, Gauge, type Registry } from 'prom-client';
import type { Clock } from '../../time/clock.ts';
import type { GapReport } from './gap-report.ts';
import type { InventorySummary } from './inventory.ts';

/**
 * The recipe's metrics, on the runtime's registry:
 *
 * - `autoloop_reconcile_gaps{loop,priority,source}`: gaps in the last report;
 * - `autoloop_reconcile_coverage_ratio{loop,source}`: present / expected (source `all` for the whole spec);
 * - `autoloop_reconcile_inventory_objects{loop}`, `autoloop_reconcile_inventory_bytes{loop}`;
 * - `autoloop_reconcile_inventory_age_seconds{loop}`: since the last scan finished;
 * - `autoloop_reconcile_inventory_scan_seconds{loop}`: how long it took;
 * - `autoloop_reconcile_collections_total{loop,source,outcome}`: collected, present (found there
 *   before collecting), failed, deferred (not started: budget spent).
 */
export class ReconcileMetrics {
  readonly #registry: Registry;
  readonly #gaps: Gauge;
  readonly #ratio: Gauge;
  readonly #objects: Gauge;
  readonly #bytes: Gauge;
  readonly #scan: Gauge;
  readonly collections: Counter;
  readonly #scannedAt = new Map<string, number>();
  readonly #series = new Map<string, Array<Record<string, string>>>();

  constructor(registry: Registry, clock: Clock) {
    this.#registry = registry;
    const registers = [registry];
    this.#gaps = new Gauge({
      name: 'autoloop_reconcile_gaps',
      help: 'Gaps in the last reconcile report, by priority and source.',
      labelNames: ['loop', 'priority', 'source'],
      registers,
    });
    this.#ratio = new Gauge({
      name: 'autoloop_reconcile_coverage_ratio',
      help: 'Present / expected objects of the coverage spec (source "all": every source).',
      labelNames: ['loop', 'source'],
      registers,
    });
    this.#objects = new Gauge({
      name: 'autoloop_reconcile_inventory_objects',
      help: 'Objects in the last inventory scan.',
      labelNames: ['loop'],
      registers,
    });
    this.#bytes = new Gauge({
      name: 'autoloop_reconcile_inventory_bytes',
      help: 'Bytes in the last inventory scan.',
      labelNames: ['loop'],
      registers,
    });
    const scannedAt = this.#scannedAt;
    // Read at scrape time: the age grows between scans.
    new Gauge({
      name: 'autoloop_reconcile_inventory_age_seconds',
      help: 'Seconds since the last inventory scan finished.',
      labelNames: ['loop'],
      registers,
      collect() {
        for (const [loop, at] of scannedAt) this.set({ loop }, Math.max(0, (clock.now() - at) / 1000));
      },
    });
    this.#scan = new Gauge({
      name: 'autoloop_reconcile_inventory_scan_seconds',
      help: 'How long the last inventory scan took.',
      labelNames: ['loop'],
      registers,
    });
    this.collections = new Counter({
      name: 'autoloop_reconcile_collections_total',
      help: 'Gaps acted on, by outcome: collected, present (already there), failed, deferred (budget spent).',
      labelNames: ['loop', 'source', 'outcome'],
      registers,
    });
  }

  report(report: GapReport): void {
    const { loop } = report;
    // A source dropped from the spec must not keep its last value: remove this loop's series first.
    for (const labels of this.#series.get(loop) ?? []) {
      if ('priority' in labels) this.#gaps.remove(labels);
      else this.#ratio.remove(labels);
    }
    const series: Array<Record<string, string>> = [];
    for (const [source, priorities] of Object.entries(report.bySourcePriority)) {
      for (const [priority, n] of Object.entries(priorities)) {
        const labels = { loop, source, priority };
        this.#gaps.set(labels, n);
        series.push(labels);
      }
    }
    this.#ratio.set({ loop, source: 'all' }, report.coverage.ratio);
    series.push({ loop, source: 'all' });
    for (const s of report.coverage.sources) {
      this.#ratio.set({ loop, source: s.source }, s.ratio);
      series.push({ loop, source: s.source });
    }
    this.#series.set(loop, series);
    this.inventory(loop, report.inventory);
  }

  inventory(loop: string, summary: InventorySummary): void {
    this.#objects.set({ loop }, summary.objects);
    this.#bytes.set({ loop }, summary.bytes);
    this.#scan.set({ loop }, summary.tookMs / 1000);
    this.#scannedAt.set(loop, summary.scannedAt);
  }

  dispose(): void {
    for (const name of [
      'autoloop_reconcile_gaps',
      'autoloop_reconcile_coverage_ratio',
      'autoloop_reconcile_inventory_objects',
      'autoloop_reconcile_inventory_bytes',
      'autoloop_reconcile_inventory_age_seconds',
      'autoloop_reconcile_inventory_scan_seconds',
      'autoloop_reconcile_collections_total',
    ]) {
      this.#registry.removeSingleMetric(name);
    }
  }
}
