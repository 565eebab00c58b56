/**
 * An alert rule, resolved: a condition over one Prometheus series selector
 * of the runtime's own registry, evaluated in-process by the
 * {@link AlertEvaluator} and exported as PromQL by `toPrometheusRules`.
 *
 * The condition is `f(selector) [/ sum of f(divideBy)] <op> threshold`:
 * - `value`    the sample's value (gauges, counters);
 * - `rate`     per-second increase over `windowMs` (counters);
 * - `increase` increase over `windowMs` (counters);
 * - `age`      seconds since the sample's value, for `*_timestamp_seconds` gauges;
 * - `quantile` the `quantile` (e.g. 0.95) of a histogram's observations over
 *              `windowMs`, as PromQL's `histogram_quantile` over the rates of
 *              its `_bucket` series (summed `by` the rule's labels and `le`).
 * With `by`, series are grouped by those labels and combined with
 * `aggregate` (default: sum for rate, increase and ratios, max for value,
 * min for age); without it, each series is its own alert. `divideBy` makes a
 * ratio: numerator and denominators are each aggregated `by` the same labels
 * (all into one when `by` is absent).
 */

export const ALERT_SEVERITIES = ['info', 'warning', 'critical'] as const;
export const ALERT_OPS = ['>', '>=', '<', '<=', '==', '!='] as const;
export const ALERT_FUNCTIONS = ['value', 'rate', 'increase', 'age', 'quantile'] as const;
export const ALERT_AGGREGATES = ['sum', 'max', 'min'] as const;

export type AlertSeverity = (typeof ALERT_SEVERITIES)[number];
export type AlertOp = (typeof ALERT_OPS)[number];
export type AlertFunction = (typeof ALERT_FUNCTIONS)[number];
export type AlertAggregate = (typeof ALERT_AGGREGATES)[number];

/** PromQL's four label matchers: `=`, `!=`, `=~` and `!~` (regexes anchored at both ends, as in PromQL). */
export interface LabelMatcher {
  readonly label: string;
  readonly op: '=' | '!=' | '=~' | '!~';
  readonly value: string;
}

/** A metric name and the label matchers its series must satisfy. */
export interface SeriesSelector {
  readonly metric: string;
  readonly matchers: readonly LabelMatcher[];
}

export interface AlertRule extends SeriesSelector {
  readonly name: string;
  readonly function: AlertFunction;
  /** The range of `rate`, `increase` and `quantile`; 0 for `value` and `age`. */
  readonly windowMs: number;
  /** For `quantile`: which one, in (0, 1); null for the other functions. */
  readonly quantile: number | null;
  /** Group labels; null: every series is its own alert. */
  readonly by: readonly string[] | null;
  readonly aggregate: AlertAggregate;
  /** Denominators of a ratio, summed; empty: no ratio. */
  readonly divideBy: readonly SeriesSelector[];
  readonly op: AlertOp;
  readonly threshold: number;
  /** How long the condition must hold before the alert fires (0: at once). */
  readonly forMs: number;
  readonly severity: AlertSeverity;
  /** Text with `{{ $labels.<name> }}` and `{{ $value }}` placeholders (Prometheus template syntax). */
  readonly summary: string;
}

/** A rule as written, durations already in ms; omitted fields take {@link buildAlertRule}'s defaults. */
export interface AlertRuleSpec {
  name: string;
  metric: string;
  /** Label -> matcher text: `"ok"` (equal), `"!=skipped"`, `"=~ok|partial"`, `"!~duplicate_tick"`. */
  labels?: Readonly<Record<string, string>>;
  function?: AlertFunction;
  windowMs?: number;
  /** Required with function `quantile`: e.g. 0.95. A histogram's name may be given with or without `_bucket`. */
  quantile?: number;
  by?: readonly string[];
  aggregate?: AlertAggregate;
  divideBy?: ReadonlyArray<{ metric: string; labels?: Readonly<Record<string, string>> }>;
  op: AlertOp;
  threshold: number;
  forMs?: number;
  severity?: AlertSeverity;
  summary?: string;
}

export const DEFAULT_ALERT_WINDOW_MS = 5 * 60_000;

export const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
export const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/**
 * Parses a matcher as written in a rule's `labels`: an optional PromQL
 * operator prefix, then the value. Throws a RangeError for a bad regex.
 *
 * @example parseMatcher('outcome', '!=skipped') // { label: 'outcome', op: '!=', value: 'skipped' }
 */
export function parseMatcher(label: string, text: string): LabelMatcher {
  const match = /^(=~|!~|!=|=)?(.*)$/s.exec(text) as RegExpExecArray;
  const op = (match[1] ?? '=') as LabelMatcher['op'];
  const value = match[2] as string;
  if (op === '=~' || op === '!~') {
    try {
      new RegExp(`^(?:${value})$`);
    } catch (error) {
      throw new RangeError(`${label}: expected a regular expression after ${op}, got ${JSON.stringify(value)}`, {
        cause: error,
      });
    }
  }
  return { label, op, value };
}

/** The aggregate a function uses when the rule names none: sums of rates, the highest value, the youngest age. */
export function defaultAggregate(fn: AlertFunction): AlertAggregate {
  if (fn === 'value') return 'max';
  if (fn === 'age') return 'min';
  return 'sum';
}

/**
 * Fills a spec's defaults and freezes it. Throws a RangeError naming the
 * field for a spec the config schema would reject (so TS users of
 * `defaultAlertRules`-style builders get the same checks).
 *
 * @example
 * buildAlertRule({ name: 'Failing', metric: 'autoloop_items_total', labels: { outcome: 'failed' },
 *   function: 'rate', op: '>', threshold: 0.5, forMs: 60_000, severity: 'critical' });
 */
export function buildAlertRule(spec: AlertRuleSpec): AlertRule {
  const fn = spec.function ?? 'value';
  const ranged = isRanged(fn);
  if (!METRIC_NAME.test(spec.metric)) throw new RangeError(`metric: expected a metric name, got "${spec.metric}"`);
  if (spec.windowMs !== undefined && !ranged) {
    throw new RangeError(`window: applies only to function rate, increase or quantile, got function ${fn}`);
  }
  if (spec.divideBy?.length && fn === 'age') throw new RangeError('divideBy: a ratio of ages means nothing');
  if (spec.divideBy?.length && fn === 'quantile') throw new RangeError('divideBy: a ratio of quantiles means nothing');
  const quantile = quantileOf(fn, spec.quantile);
  for (const label of spec.by ?? []) {
    if (!LABEL_NAME.test(label)) throw new RangeError(`by: expected label names, got "${label}"`);
  }
  const divideBy = (spec.divideBy ?? []).map((d) => selector(d.metric, d.labels));
  // A quantile is computed from the bucket series; naming them keeps reading, sampling and PromQL uniform.
  const metric = fn === 'quantile' && !spec.metric.endsWith('_bucket') ? `${spec.metric}_bucket` : spec.metric;
  const rule: AlertRule = {
    name: spec.name,
    ...selector(metric, spec.labels),
    function: fn,
    windowMs: ranged ? (spec.windowMs ?? DEFAULT_ALERT_WINDOW_MS) : 0,
    quantile,
    by: spec.by ? Object.freeze([...spec.by]) : divideBy.length > 0 ? Object.freeze([]) : null,
    // A ratio is of totals: its parts are summed unless the rule says otherwise.
    aggregate: spec.aggregate ?? (divideBy.length > 0 ? 'sum' : defaultAggregate(fn)),
    divideBy: Object.freeze(divideBy),
    op: spec.op,
    threshold: spec.threshold,
    forMs: spec.forMs ?? 0,
    severity: spec.severity ?? 'warning',
    summary: spec.summary ?? `${spec.name}: {{ $value }} ${spec.op} ${spec.threshold}`,
  };
  return Object.freeze(rule);
}

/** Functions computed over a range of samples (`windowMs`). */
export function isRanged(fn: AlertFunction): boolean {
  return fn === 'rate' || fn === 'increase' || fn === 'quantile';
}

function quantileOf(fn: AlertFunction, quantile: number | undefined): number | null {
  if (fn !== 'quantile') {
    if (quantile !== undefined) throw new RangeError(`quantile: applies only to function quantile, got function ${fn}`);
    return null;
  }
  if (quantile === undefined || !(quantile > 0 && quantile < 1)) {
    throw new RangeError(`quantile: expected a number between 0 and 1 like 0.95, got ${quantile}`);
  }
  return quantile;
}

function selector(metric: string, labels: Readonly<Record<string, string>> = {}): SeriesSelector {
  if (!METRIC_NAME.test(metric)) throw new RangeError(`metric: expected a metric name, got "${metric}"`);
  const matchers = Object.entries(labels).map(([label, text]) => {
    if (!LABEL_NAME.test(label)) throw new RangeError(`labels: expected label names, got "${label}"`);
    return Object.freeze(parseMatcher(label, text));
  });
  return { metric, matchers: Object.freeze(matchers) };
}

/** Whether `value` satisfies `op threshold`. NaN satisfies nothing (as in PromQL). */
export function compare(value: number, op: AlertOp, threshold: number): boolean {
  switch (op) {
    case '>':
      return value > threshold;
    case '>=':
      return value >= threshold;
    case '<':
      return value < threshold;
    case '<=':
      return value <= threshold;
    case '==':
      return value === threshold;
    case '!=':
      return !Number.isNaN(value) && value !== threshold;
  }
}

/** A predicate for one series' labels, with the matchers' regexes compiled once. */
export function labelFilter(matchers: readonly LabelMatcher[]): (labels: Readonly<Record<string, string>>) => boolean {
  const tests = matchers.map((m) => {
    // A missing label is the empty string, as in PromQL.
    if (m.op === '=') return (l: Readonly<Record<string, string>>) => (l[m.label] ?? '') === m.value;
    if (m.op === '!=') return (l: Readonly<Record<string, string>>) => (l[m.label] ?? '') !== m.value;
    const re = new RegExp(`^(?:${m.value})$`);
    return m.op === '=~'
      ? (l: Readonly<Record<string, string>>) => re.test(l[m.label] ?? '')
      : (l: Readonly<Record<string, string>>) => !re.test(l[m.label] ?? '');
  });
  return (labels) => tests.every((test) => test(labels));
}
