import {
  type AlertAggregate,
  type AlertRule,
  isRanged,
  type LabelMatcher,
  labelFilter,
  type SeriesSelector,
} from './alert-rule.ts';
import { histogramQuantile } from './histogram-quantile.ts';
import { labelKey, type MetricSnapshot } from './read-metrics.ts';
import { SeriesWindows } from './series-windows.ts';

/** A rule's values at one evaluation: label-set key -> its labels and value. */
export type RuleValues = Map<string, { labels: Record<string, string>; value: number }>;

/**
 * Computes rules' values from metric snapshots: the function per series
 * (`rate` and `increase` from the samples it keeps), `by` grouping with the
 * aggregate, and ratios. Feed it every evaluation's snapshot with
 * {@link sample} before asking for {@link values}.
 */
export class RuleCalculator {
  readonly #windows = new SeriesWindows();
  readonly #filters = new WeakMap<readonly LabelMatcher[], ReturnType<typeof labelFilter>>();
  readonly #sampledAt = new Map<string, number>();
  readonly #rangedMetrics: Set<string>;
  readonly #keepMs: number;

  /** `intervalMs`: time between evaluations, so each window keeps its left edge. */
  constructor(rules: readonly AlertRule[], intervalMs: number) {
    const ranged = rules.filter((r) => isRanged(r.function));
    this.#rangedMetrics = new Set(ranged.flatMap((r) => [r.metric, ...r.divideBy.map((d) => d.metric)]));
    this.#keepMs = Math.max(0, ...ranged.map((r) => r.windowMs)) + 2 * intervalMs;
  }

  /** Records counter samples for rate and increase; a counter series seen for the first time starts from 0. */
  sample(metrics: ReadonlyMap<string, MetricSnapshot>, now: number): void {
    for (const name of this.#rangedMetrics) {
      const metric = metrics.get(name);
      if (!metric) continue;
      const previous = this.#sampledAt.get(name);
      for (const series of metric.series) {
        const key = `${name}\u0000${labelKey(series.labels)}`;
        // It appeared since the last evaluation: it was 0 then (a counter is created by its first increment).
        if (previous !== undefined && metric.type === 'counter' && !this.#windows.has(key)) {
          this.#windows.record(key, previous, 0);
        }
        this.#windows.record(key, now, series.value);
      }
      this.#sampledAt.set(name, now);
    }
    this.#windows.prune(now, this.#keepMs);
  }

  /** The rule's value per label set; a label set without a value (no data, a zero denominator) is absent. */
  values(rule: AlertRule, metrics: ReadonlyMap<string, MetricSnapshot>, now: number): RuleValues {
    if (rule.function === 'quantile') return this.#quantiles(rule, metrics, now);
    const numerator = this.#grouped(rule, rule, metrics, now);
    if (rule.divideBy.length === 0) return numerator;
    const denominators = rule.divideBy.map((selector) => this.#grouped(rule, selector, metrics, now));
    const ratios: RuleValues = new Map();
    for (const [key, { labels, value }] of numerator) {
      const total = denominators.reduce((sum, d) => sum + (d.get(key)?.value ?? 0), 0);
      if (total !== 0 && Number.isFinite(total)) ratios.set(key, { labels, value: value / total });
    }
    return ratios;
  }

  /**
   * `histogram_quantile(q, sum by (<by>, le) (rate(<bucket>[window])))`: the
   * bucket rates summed per group and `le`, then each group's quantile.
   * Without `by`, a group is a series' labels but `le`.
   */
  #quantiles(rule: AlertRule, metrics: ReadonlyMap<string, MetricSnapshot>, now: number): RuleValues {
    const metric = metrics.get(rule.metric);
    const groups = new Map<string, { labels: Record<string, string>; buckets: Map<number, number> }>();
    if (!metric) return new Map();
    const filter = labelFilter(rule.matchers);
    for (const series of metric.series) {
      if (!filter(series.labels)) continue;
      const rate = this.#windows.rate(`${rule.metric}\u0000${labelKey(series.labels)}`, now, rule.windowMs);
      const le = series.labels.le === '+Inf' ? Number.POSITIVE_INFINITY : Number(series.labels.le);
      if (rate === undefined || Number.isNaN(le)) continue;
      const { le: _, ...rest } = series.labels;
      const labels = rule.by === null ? rest : pick(series.labels, rule.by);
      const key = labelKey(labels);
      let group = groups.get(key);
      if (!group) {
        group = { labels, buckets: new Map() };
        groups.set(key, group);
      }
      group.buckets.set(le, (group.buckets.get(le) ?? 0) + rate);
    }
    const out: RuleValues = new Map();
    for (const [key, { labels, buckets }] of groups) {
      const value = histogramQuantile(rule.quantile as number, buckets);
      if (!Number.isNaN(value)) out.set(key, { labels, value });
    }
    return out;
  }

  /** The selector's series with the rule's function applied, grouped `by` the rule's labels. */
  #grouped(
    rule: AlertRule,
    selector: SeriesSelector,
    metrics: ReadonlyMap<string, MetricSnapshot>,
    now: number,
  ): RuleValues {
    const metric = metrics.get(selector.metric);
    const out: RuleValues = new Map();
    if (!metric) return out;
    let filter = this.#filters.get(selector.matchers);
    if (!filter) {
      filter = labelFilter(selector.matchers);
      this.#filters.set(selector.matchers, filter);
    }
    for (const series of metric.series) {
      if (!filter(series.labels)) continue;
      const value = this.#apply(rule, `${selector.metric}\u0000${labelKey(series.labels)}`, series.value, now);
      if (value === undefined || Number.isNaN(value)) continue;
      const labels = rule.by === null ? { ...series.labels } : pick(series.labels, rule.by);
      const key = labelKey(labels);
      const current = out.get(key);
      out.set(key, { labels, value: current ? combine(rule.aggregate, current.value, value) : value });
    }
    return out;
  }

  #apply(rule: AlertRule, seriesKey: string, value: number, now: number): number | undefined {
    switch (rule.function) {
      case 'value':
        return value;
      case 'age':
        return now / 1000 - value;
      case 'rate':
        return this.#windows.rate(seriesKey, now, rule.windowMs);
      case 'increase':
        return this.#windows.increase(seriesKey, now, rule.windowMs)?.increase;
      case 'quantile':
        return undefined; // computed over all of a group's buckets, in #quantiles
    }
  }
}

function pick(labels: Readonly<Record<string, string>>, names: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of names) out[name] = labels[name] ?? '';
  return out;
}

function combine(aggregate: AlertAggregate, a: number, b: number): number {
  if (aggregate === 'sum') return a + b;
  return aggregate === 'max' ? Math.max(a, b) : Math.min(a, b);
}
