import type { Registry } from 'prom-client';

/** One series: its labels (values as strings) and current value. */
export interface SeriesSample {
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** A metric's type (`counter`, `gauge`, `histogram`, `summary`) and its series now. */
export interface MetricSnapshot {
  readonly type: string;
  readonly series: readonly SeriesSample[];
}

const SUFFIXES = ['_bucket', '_count', '_sum'] as const;

/**
 * Current values of the named metrics. Reads each metric on its own
 * (`getSingleMetric(name).get()`, which runs its `collect`), rather than
 * `registry.getMetricsAsJSON()`, so an evaluation does not also collect the
 * process metrics it never looks at. A histogram's `_bucket`, `_count` and
 * `_sum` series are found under the histogram. Absent metrics are left out.
 */
export async function readMetrics(registry: Registry, names: Iterable<string>): Promise<Map<string, MetricSnapshot>> {
  const result = new Map<string, MetricSnapshot>();
  for (const name of new Set(names)) {
    const direct = registry.getSingleMetric(name);
    const suffix = direct ? undefined : SUFFIXES.find((s) => name.endsWith(s));
    const metric = direct ?? (suffix ? registry.getSingleMetric(name.slice(0, -suffix.length)) : undefined);
    if (!metric) continue;
    const data = await metric.get();
    const series: SeriesSample[] = [];
    for (const value of data.values as Array<{ value: number; labels: object; metricName?: string }>) {
      if (!direct && value.metricName !== name) continue;
      const labels: Record<string, string> = {};
      for (const [k, v] of Object.entries(value.labels)) if (v !== undefined) labels[k] = String(v);
      series.push({ labels, value: value.value });
    }
    result.set(name, { type: direct ? String(data.type) : 'counter', series });
  }
  return result;
}

/** A stable identity for a label set. */
export function labelKey(labels: Readonly<Record<string, string>>): string {
  return Object.keys(labels)
    .sort()
    .map((k) => `${k}=${labels[k]}`)
    .join('\u0001');
}
