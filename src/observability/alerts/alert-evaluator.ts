import type { Registry } from 'prom-client';
import { type Logger, silentLogger } from '../../core/logger.ts';
import type { Clock } from '../../time/clock.ts';
import type { AlertEvent, AlertEventName, AlertPayload } from './alert-event.ts';
import { type AlertRule, compare } from './alert-rule.ts';
import { type AlertState, conditionCleared, conditionHeld, INACTIVE } from './alert-state.ts';
import { ruleExpr } from './promql.ts';
import { type MetricSnapshot, readMetrics } from './read-metrics.ts';
import { RuleCalculator } from './rule-calculator.ts';

/** Where firing and resolved alerts are delivered besides the log and the callback (a WebhookDispatcher). */
export interface AlertSink {
  /** Must not block or throw: queue and return. */
  send(event: AlertEventName, data: AlertPayload): void;
}

export interface AlertEvaluatorOptions {
  /** The runtime's registry (`runtime.metrics.registry`). */
  registry: Registry;
  rules: readonly AlertRule[];
  clock: Clock;
  /** Time between evaluations. Default 15 s. */
  intervalMs?: number;
  logger?: Logger;
  /** Called for every transition (the runtime emits it on the bus as `alert.firing` / `alert.resolved`). */
  onAlert?: (event: AlertEvent) => void;
  webhooks?: AlertSink;
  /** How long a resolved alert stays in {@link AlertEvaluator.alerts}. Default 15 min. */
  resolvedRetentionMs?: number;
}

/** One alert that is pending, firing or recently resolved, for status surfaces. */
export interface AlertStatus {
  alert: string;
  severity: AlertRule['severity'];
  state: 'pending' | 'firing' | 'resolved';
  labels: Record<string, string>;
  value: number | null;
  summary: string;
  activeAt: number;
  firedAt: number | null;
  resolvedAt: number | null;
}

interface Instance {
  readonly rule: AlertRule;
  readonly labels: Record<string, string>;
  state: AlertState;
  value: number | null;
}

/**
 * Evaluates alert rules against the runtime's own Prometheus registry every
 * `intervalMs` on the Clock, keeping the samples `rate` and `increase` need
 * itself. Each rule yields one alert per label set; its state machine is in
 * alert-state.ts (inactive -> pending -> firing -> resolved). Firing and
 * resolved alerts go to the logger (critical as error, warning and info as
 * warn, resolved as info), the `onAlert` callback and the webhooks.
 *
 * @example
 * const alerts = new AlertEvaluator({ registry: metrics.registry, rules, clock, logger,
 *   onAlert: (e) => bus.emit(e.type, e.data), webhooks });
 * void alerts.run(signal); // resolves when signal aborts
 */
export class AlertEvaluator {
  readonly #options: AlertEvaluatorOptions;
  readonly #logger: Logger;
  readonly #instances = new Map<string, Instance>();
  readonly #calculator: RuleCalculator;
  readonly #warnedMissing = new Set<string>();
  #evaluating: Promise<AlertEvent[]> | null = null;

  constructor(options: AlertEvaluatorOptions) {
    const intervalMs = options.intervalMs ?? 15_000;
    if (!(Number.isFinite(intervalMs) && intervalMs > 0)) {
      throw new RangeError(`Expected \`intervalMs\` to be a finite number > 0, got \`${intervalMs}\``);
    }
    this.#options = { ...options, intervalMs };
    this.#logger = options.logger ?? silentLogger;
    this.#calculator = new RuleCalculator(options.rules, intervalMs);
  }

  get rules(): readonly AlertRule[] {
    return this.#options.rules;
  }

  /** Evaluates at once, then every `intervalMs`, until `signal` aborts. Never rejects. */
  async run(signal: AbortSignal): Promise<void> {
    const { clock, intervalMs } = this.#options;
    while (!signal.aborted) {
      await this.evaluate();
      try {
        await clock.sleep(intervalMs as number, signal);
      } catch {
        return;
      }
    }
  }

  /**
   * One evaluation of every rule; resolves with the transitions it caused
   * (already delivered). A failure is logged and yields no transitions.
   * Concurrent calls share one evaluation.
   */
  evaluate(): Promise<AlertEvent[]> {
    this.#evaluating ??= this.#evaluate()
      .catch((error: unknown) => {
        this.#logger.error({ err: error }, 'alert evaluation failed');
        return [];
      })
      .finally(() => {
        this.#evaluating = null;
      });
    return this.#evaluating;
  }

  /** Alerts pending, firing, or resolved within the retention, oldest activation first. */
  alerts(): AlertStatus[] {
    const list: AlertStatus[] = [];
    for (const { rule, labels, state, value } of this.#instances.values()) {
      if (state.kind === 'inactive') continue;
      list.push({
        alert: rule.name,
        severity: rule.severity,
        state: state.kind,
        labels: { ...labels },
        value,
        summary: renderSummary(rule.summary, labels, value),
        activeAt: state.activeAt,
        firedAt: state.kind === 'pending' ? null : state.firedAt,
        resolvedAt: state.kind === 'resolved' ? state.resolvedAt : null,
      });
    }
    return list.sort((a, b) => a.activeAt - b.activeAt);
  }

  async #evaluate(): Promise<AlertEvent[]> {
    const { rules, registry, clock } = this.#options;
    const names = rules.flatMap((r) => [r.metric, ...r.divideBy.map((d) => d.metric)]);
    const metrics = await readMetrics(registry, names);
    const now = clock.now();
    this.#warnMissing(names, metrics);
    this.#calculator.sample(metrics, now);
    const events: AlertEvent[] = [];
    rules.forEach((rule, index) => {
      const values = this.#calculator.values(rule, metrics, now);
      const seen = new Set<string>();
      for (const [key, { labels, value }] of values) {
        const id = `${index}\u0000${key}`;
        seen.add(id);
        const instance = this.#instances.get(id) ?? { rule, labels, state: INACTIVE, value: null };
        instance.value = value;
        const step = compare(value, rule.op, rule.threshold)
          ? conditionHeld(instance.state, now, rule.forMs)
          : conditionCleared(instance.state, now);
        this.#apply(id, instance, step.state, step.emit, events);
      }
      for (const [id, instance] of this.#instances) {
        if (!id.startsWith(`${index}\u0000`) || seen.has(id)) continue;
        instance.value = null;
        const step = conditionCleared(instance.state, now);
        this.#apply(id, instance, step.state, step.emit, events);
      }
    });
    this.#expire(now);
    for (const event of events) this.#deliver(event);
    return events;
  }

  #apply(
    id: string,
    instance: Instance,
    state: AlertState,
    emit: 'firing' | 'resolved' | null,
    events: AlertEvent[],
  ): void {
    instance.state = state;
    if (state.kind === 'inactive') this.#instances.delete(id);
    else this.#instances.set(id, instance);
    if (emit && state.kind !== 'inactive' && state.kind !== 'pending') {
      events.push({ type: `alert.${emit}`, data: payload(instance, state) } as AlertEvent);
    }
  }

  #expire(now: number): void {
    const retention = this.#options.resolvedRetentionMs ?? 15 * 60_000;
    for (const [id, { state }] of this.#instances) {
      if (state.kind === 'resolved' && now - state.resolvedAt > retention) this.#instances.delete(id);
    }
  }

  #deliver(event: AlertEvent): void {
    const { data } = event;
    const fields = { alert: data.alert, severity: data.severity, labels: data.labels, value: data.value };
    if (event.type === 'alert.resolved') this.#logger.info(fields, `alert resolved: ${data.summary}`);
    else if (data.severity === 'critical') this.#logger.error(fields, `alert firing: ${data.summary}`);
    else this.#logger.warn(fields, `alert firing: ${data.summary}`);
    for (const [what, deliver] of [
      ['callback', () => this.#options.onAlert?.(event)],
      ['webhooks', () => this.#options.webhooks?.send(event.type, data)],
    ] as const) {
      try {
        deliver();
      } catch (error) {
        this.#logger.error({ err: error, alert: data.alert }, `alert delivery to ${what} failed`);
      }
    }
  }

  #warnMissing(names: readonly string[], metrics: Map<string, MetricSnapshot>): void {
    for (const name of names) {
      if (metrics.has(name) || this.#warnedMissing.has(name)) continue;
      this.#warnedMissing.add(name);
      this.#logger.warn({ metric: name }, 'alert rule metric is not in the registry yet; its rules stay inactive');
    }
  }
}

function payload(instance: Instance, state: Exclude<AlertState, { kind: 'inactive' | 'pending' }>): AlertPayload {
  const { rule, labels, value } = instance;
  return {
    alert: rule.name,
    severity: rule.severity,
    state: state.kind,
    labels: { ...labels },
    ...(labels.loop !== undefined ? { loop: labels.loop } : {}),
    value,
    op: rule.op,
    threshold: rule.threshold,
    expr: ruleExpr(rule),
    summary: renderSummary(rule.summary, labels, value),
    activeAt: state.activeAt,
    firedAt: state.firedAt,
    resolvedAt: state.kind === 'resolved' ? state.resolvedAt : null,
  };
}

/**
 * Fills `{{ $labels.name }}` and `{{ $value }}` (the subset of Prometheus'
 * template language summaries use). Unknown labels render empty, as there.
 */
export function renderSummary(
  template: string,
  labels: Readonly<Record<string, string>>,
  value: number | null,
): string {
  return template
    .replace(/\{\{\s*\$labels\.([a-zA-Z_][a-zA-Z0-9_]*)\s*\}\}/g, (_, name: string) => labels[name] ?? '')
    .replace(/\{\{\s*\$value\s*\}\}/g, () => (value === null ? 'n/a' : formatValue(value)));
}

function formatValue(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  return String(Number(value.toPrecision(4)));
}
