import type { Registry } from 'prom-client';
import { BACKUP_EVENT_NAMES } from '../backup/backup-events.ts';
import type { ResolvedAlertsConfig, ResolvedTracingConfig } from '../config/observability-schema.ts';
import type { Logger } from '../core/logger.ts';
import type { ResolvedDependency, ResolvedLoop } from '../core/loop.ts';
import { loadOptional } from '../core/optional-package.ts';
import { AlertEvaluator, type AlertStatus } from '../observability/alerts/alert-evaluator.ts';
import type { AlertRule } from '../observability/alerts/alert-rule.ts';
import { type AlertServiceFeatures, alertFeatures, alertRules } from '../observability/alerts/default-rules.ts';
import type { Disposable, EventBus } from '../observability/events.ts';
import { NO_SPANS, type SpanHook } from '../observability/span-hook.ts';
import type { Tracing, TracingOptions } from '../observability/tracing.ts';
import { WebhookDispatcher, type WebhookTarget } from '../observability/webhooks.ts';
import { SERVICE_EVENT_NAMES } from '../supervisor/service-events.ts';
import type { Clock } from '../time/clock.ts';

/** Bus events a webhook target may list besides the alerts'. */
const BUS_WEBHOOK_EVENTS = ['result.published', ...SERVICE_EVENT_NAMES, ...BACKUP_EVENT_NAMES] as const;

/** What the config says about alerts, webhooks and traces (all optional: off when absent). */
export interface ObservabilityOptions {
  alerts?: ResolvedAlertsConfig;
  webhooks?: readonly WebhookTarget[];
  tracing?: ResolvedTracingConfig;
  /** Supervised services, for their built-in alert rules (AutoloopServiceFailing, AutoloopServiceDiskLow). */
  services?: readonly AlertServiceFeatures[];
  /** Environment for OTEL_* switches. Default process.env (read when the runtime starts, not at import). */
  env?: Readonly<Record<string, string | undefined>>;
  /**
   * Where spans go instead of OTLP/HTTP when tracing is on, each exported as
   * it ends (tests: an `InMemorySpanExporter` of `@opentelemetry/sdk-trace-base`).
   */
  traceExporter?: TraceExporter;
}

/**
 * An OpenTelemetry `SpanExporter` by its shape, so the package's public types
 * never name the tracing SDK (an optional package).
 */
export interface TraceExporter {
  export(spans: readonly unknown[], done: (result: { code: number; error?: Error }) => void): void;
  shutdown(): Promise<void>;
}

/** The OpenTelemetry packages tracing.ts imports, at the versions this release is tested with. */
const TRACING_PACKAGES = [
  '@opentelemetry/api@1.9.1',
  '@opentelemetry/exporter-trace-otlp-http@0.223.0',
  '@opentelemetry/resources@2.12.0',
  '@opentelemetry/sdk-trace-base@2.12.0',
  '@opentelemetry/sdk-trace-node@2.12.0',
  '@opentelemetry/semantic-conventions@1.45.0',
];

export interface ObserversInput {
  options: ObservabilityOptions;
  bus: EventBus;
  clock: Clock;
  logger: Logger;
  registry: Registry;
  loops: readonly ResolvedLoop[];
  dependencies: readonly ResolvedDependency[];
  random: () => number;
  /** Rules added by plug-ins (recipes), evaluated beside the configured ones when alerts are on. */
  extraRules?: readonly AlertRule[];
}

/**
 * The runtime's watchers: the alert evaluator (rules over the runtime's own
 * metrics; firing/resolved go to the log, the bus and so the event log, and
 * webhooks), the webhook dispatcher, and OpenTelemetry tracing fed from the
 * bus. Runnables, stopped after the loops drained so the last cycles are
 * still traced and alerted on.
 */
export class Observers {
  readonly #abort = new AbortController();
  readonly #runs: Promise<void>[] = [];
  readonly #tracing: Tracing | null;
  readonly #evaluator: AlertEvaluator | null;

  readonly #subscriptions: Disposable[] = [];

  /**
   * Starts the observers. The OpenTelemetry SDK (tracing.ts and its six
   * packages) is imported here, only when tracing is on: a runtime without
   * it never loads them.
   */
  static async start(o: ObserversInput): Promise<Observers> {
    const tracing = o.options.tracing;
    if (!tracing?.enabled) return new Observers(o, null);
    const { startTracing } = await loadOptional(
      'tracing (tracing.enabled)',
      TRACING_PACKAGES,
      () => import('../observability/tracing.ts'),
    );
    const env = o.options.env ?? process.env;
    const exporter = o.options.traceExporter as TracingOptions['exporter'];
    return new Observers(
      o,
      startTracing(o.bus, {
        enabled: true,
        serviceName: tracing.serviceName,
        env,
        logger: o.logger,
        clock: o.clock,
        ...(exporter && { exporter, processor: 'simple' as const }),
      }),
    );
  }

  private constructor(o: ObserversInput, tracing: Tracing | null) {
    const { options, bus, clock, logger } = o;
    this.#tracing = tracing;
    const targets = options.webhooks ?? [];
    const webhooks = targets.length > 0 ? new WebhookDispatcher({ targets, clock, logger, random: o.random }) : null;
    if (webhooks) this.#runs.push(webhooks.run(this.#abort.signal));
    // Stored results of loops with `publish` (signals) and the supervisor's service events, to the
    // webhooks that ask for them (alerts reach them through the evaluator).
    if (webhooks) {
      for (const event of BUS_WEBHOOK_EVENTS) {
        if (!targets.some((t) => t.events.includes(event))) continue;
        this.#subscriptions.push(bus.onAny((e) => (e.type === event ? webhooks.send(event, e.data) : undefined)));
      }
    }
    const alerts = options.alerts;
    const rules = alerts
      ? [
          ...alertRules(alerts, alertFeatures(o.loops, o.dependencies, clock.now(), options.services)),
          ...(o.extraRules ?? []),
        ]
      : [];
    this.#evaluator =
      rules.length > 0
        ? new AlertEvaluator({
            registry: o.registry,
            rules,
            clock,
            intervalMs: alerts?.intervalMs,
            logger,
            onAlert: (event) => bus.emit(event.type, event.data),
            webhooks: webhooks ?? undefined,
          })
        : null;
    if (this.#evaluator) this.#runs.push(this.#evaluator.run(this.#abort.signal));
  }

  /** The span hook of plug-ins (recipes): tracing's, or {@link NO_SPANS} when tracing is off. */
  get spans(): SpanHook {
    return this.#tracing?.spans ?? NO_SPANS;
  }

  /** Alerts pending, firing or recently resolved. */
  alerts(): AlertStatus[] {
    return this.#evaluator?.alerts() ?? [];
  }

  async stop(): Promise<void> {
    for (const subscription of this.#subscriptions) subscription.dispose();
    this.#abort.abort();
    await Promise.all(this.#runs);
    await this.#tracing?.shutdown();
  }
}
