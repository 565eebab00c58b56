import type { AlertRule, SeriesSelector } from './alert-rule.ts';

/**
 * A rule's condition as PromQL, the same condition the in-process evaluator
 * computes (it keeps its own rate windows instead of a TSDB).
 *
 * @example
 * ruleExpr(rule) // 'sum by (loop) (rate(autoloop_cycles_skipped_total[5m])) / sum by (loop) (rate(autoloop_cycles_total[5m])) > 0.3'
 */
export function ruleExpr(rule: AlertRule): string {
  if (rule.function === 'quantile') return `${quantileExpr(rule)} ${rule.op} ${formatNumber(rule.threshold)}`;
  const numerator = aggregated(rule, rule);
  if (rule.divideBy.length === 0) return `${numerator} ${rule.op} ${formatNumber(rule.threshold)}`;
  const terms = rule.divideBy.map((selector) => aggregated(rule, selector));
  const denominator = terms.length === 1 ? terms[0] : `(${terms.join(' + ')})`;
  return `${numerator} / ${denominator} ${rule.op} ${formatNumber(rule.threshold)}`;
}

/** `metric{label="value",other!~"a|b"}`; values quoted as PromQL strings. */
export function selectorText(selector: SeriesSelector): string {
  if (selector.matchers.length === 0) return selector.metric;
  const inner = selector.matchers.map((m) => `${m.label}${m.op}${JSON.stringify(m.value)}`).join(',');
  return `${selector.metric}{${inner}}`;
}

/**
 * Milliseconds as a Prometheus duration: 120000 -> "2m", 5400000 -> "1h30m",
 * 1500 -> "1s500ms", 0 -> "0s".
 */
export function promDuration(ms: number): string {
  const units: Array<[string, number]> = [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
    ['ms', 1],
  ];
  let rest = Math.round(ms);
  let text = '';
  for (const [unit, size] of units) {
    const n = Math.floor(rest / size);
    if (n > 0) text += `${n}${unit}`;
    rest -= n * size;
  }
  return text === '' ? '0s' : text;
}

/** `histogram_quantile(0.95, sum by (le, loop) (rate(x_bucket{loop="a"}[5m])))`; without `by`, every label but `le` is kept. */
function quantileExpr(rule: AlertRule): string {
  const rates = `rate(${selectorText(rule)}[${promDuration(rule.windowMs)}])`;
  const summed = rule.by === null ? rates : `sum by (${['le', ...rule.by].join(', ')}) (${rates})`;
  return `histogram_quantile(${formatNumber(rule.quantile as number)}, ${summed})`;
}

function aggregated(rule: AlertRule, selector: SeriesSelector): string {
  const inner = applied(rule, selector);
  if (rule.by === null) return inner;
  return rule.by.length === 0
    ? `${rule.aggregate}(${inner})`
    : `${rule.aggregate} by (${rule.by.join(', ')}) (${inner})`;
}

function applied(rule: AlertRule, selector: SeriesSelector): string {
  const series = selectorText(selector);
  switch (rule.function) {
    case 'value':
      return series;
    case 'age':
      return `time() - ${series}`;
    case 'rate':
    case 'increase':
      return `${rule.function}(${series}[${promDuration(rule.windowMs)}])`;
    case 'quantile':
      throw new Error('a quantile rule is written by quantileExpr');
  }
}

/** Thresholds as PromQL number literals (no exponent for ordinary values). */
function formatNumber(value: number): string {
  return Number.isInteger(value) ? String(value) : String(Number(value.toPrecision(12)));
}
