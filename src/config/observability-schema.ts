/**
 * The operating-surface settings of a config file: `log`, `alerts`,
 * `webhooks`, `tracing`. Validated with defaults here (stage 2); paths made
 * absolute and everything frozen by {@link resolveObservability} (stage 3).
 */
import { isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { BACKUP_EVENT_NAMES } from '../backup/backup-events.ts';
import { ALERT_EVENT_NAMES } from '../observability/alerts/alert-event.ts';
import {
  ALERT_AGGREGATES,
  ALERT_FUNCTIONS,
  ALERT_OPS,
  ALERT_SEVERITIES,
  type AlertRule,
  buildAlertRule,
  isRanged,
  LABEL_NAME,
  METRIC_NAME,
  parseMatcher,
} from '../observability/alerts/alert-rule.ts';
import { LOG_LEVELS, type LogLevel } from '../observability/log-levels.ts';
import type { LogFileOptions } from '../observability/logging.ts';
import type { WebhookTarget } from '../observability/webhooks.ts';
import { SERVICE_EVENT_NAMES } from '../supervisor/service-events.ts';
import { lazySection } from './lazy-section.ts';
import { durationMs } from './schema.ts';

export const DEFAULT_LOG_FILE = './.autoloop/autoloop.log';

const SIZE_EXPECTED = 'a size like "10M" (a whole number and B, K, M or G)';
export const INTERVAL_EXPECTED =
  'an interval like "1d", "12h" or "30m" (hours dividing 24, minutes dividing 60), or false';

/** rotating-file-stream's interval grammar, checked here so a bad value fails at load, not at the first log line. */
export const rotateInterval = z.string().superRefine((text, ctx) => {
  const match = /^([1-9]\d*)([smhd])$/.exec(text.trim());
  const n = Number(match?.[1]);
  const divides = (whole: number) => Number.isInteger(whole / n);
  const unit = match?.[2];
  const ok = match && (unit === 'd' || (unit === 'h' ? divides(24) : divides(60)));
  if (!ok) ctx.addIssue({ code: 'custom', message: INTERVAL_EXPECTED, input: text });
});

export const logSchema = z
  .strictObject({
    level: z.enum(LOG_LEVELS).default('info'),
    file: z
      .union([z.string().trim().min(1), z.literal(false)], {
        error: `a file path like "${DEFAULT_LOG_FILE}", or false for no log file`,
      })
      .default(DEFAULT_LOG_FILE),
    rotate: z
      .strictObject({
        size: z
          .string({ error: SIZE_EXPECTED })
          .regex(/^[1-9]\d*[BKMG]$/, { error: SIZE_EXPECTED })
          .default('10M'),
        interval: z.union([rotateInterval, z.literal(false)], { error: INTERVAL_EXPECTED }).default('1d'),
        keep: z.number().int().min(1).max(999).default(7),
        compress: z.boolean().default(false),
      })
      .prefault({}),
  })
  .prefault({});

/** `alerts:`, built when a config has it (lazy-section.ts). */
function buildAlertsSchema() {
  const labelName = z.string().regex(LABEL_NAME, { error: 'a label name like "loop"' });
  const matchers = z.record(labelName, z.string()).superRefine((labels, ctx) => {
    for (const [label, text] of Object.entries(labels)) {
      try {
        parseMatcher(label, text);
      } catch {
        const message = 'a valid regular expression after =~ or !~';
        const hint = 'matchers are "value", "!=value", "=~regex" or "!~regex", as in PromQL';
        ctx.addIssue({ code: 'custom', path: [label], message, params: { hint } });
      }
    }
  });
  const metricName = z.string().regex(METRIC_NAME, { error: 'a metric name like "autoloop_cycles_total"' });
  const selectorSchema = z.strictObject({ metric: metricName, labels: matchers.optional() });

  const alertRuleSchema = z
    .strictObject({
      name: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { error: 'an alert name like "LoopFailing"' }),
      metric: metricName,
      labels: matchers.optional(),
      function: z.enum(ALERT_FUNCTIONS).optional(),
      window: durationMs({ minMs: 1000 }).optional(),
      quantile: z.number().gt(0).lt(1).optional(),
      by: z.array(labelName).optional(),
      aggregate: z.enum(ALERT_AGGREGATES).optional(),
      divideBy: z.union([selectorSchema, z.array(selectorSchema).min(1)]).optional(),
      op: z.enum(ALERT_OPS),
      threshold: z.number().finite(),
      for: durationMs().optional(),
      severity: z.enum(ALERT_SEVERITIES).default('warning'),
      summary: z.string().optional(),
    })
    .superRefine((rule, ctx) => {
      const fn = rule.function ?? 'value';
      if (rule.window !== undefined && !isRanged(fn)) {
        const hint = 'window is the range of rate, increase and quantile; remove it or set function: rate';
        ctx.addIssue({ code: 'custom', path: ['window'], message: `no window with function ${fn}`, params: { hint } });
      }
      if (rule.divideBy !== undefined && (fn === 'age' || fn === 'quantile')) {
        ctx.addIssue({ code: 'custom', path: ['divideBy'], message: `no divideBy with function ${fn}` });
      }
      if (fn === 'quantile' && rule.quantile === undefined) {
        const hint = 'function: quantile reads a histogram, e.g. metric: autoloop_item_attempt_duration_seconds';
        const message = 'a quantile like 0.95 with function quantile';
        ctx.addIssue({ code: 'custom', path: ['quantile'], message, params: { hint } });
      }
      if (fn !== 'quantile' && rule.quantile !== undefined) {
        const hint = 'quantile applies to function: quantile only';
        ctx.addIssue({
          code: 'custom',
          path: ['quantile'],
          message: `no quantile with function ${fn}`,
          params: { hint },
        });
      }
    })
    .transform(
      (rule): AlertRule =>
        buildAlertRule({
          name: rule.name,
          metric: rule.metric,
          labels: rule.labels,
          function: rule.function,
          windowMs: rule.window,
          quantile: rule.quantile,
          by: rule.by,
          aggregate: rule.aggregate,
          divideBy: rule.divideBy === undefined ? undefined : [rule.divideBy].flat(),
          op: rule.op,
          threshold: rule.threshold,
          forMs: rule.for,
          severity: rule.severity,
          summary: rule.summary,
        }),
    );

  const alertsSchema = z
    .strictObject({
      /** Seed 002's seven alerts for the features the loops use. */
      defaults: z.boolean().default(true),
      interval: durationMs({ minMs: 100 }).default(15_000),
      rules: z
        .array(alertRuleSchema)
        .default([])
        .superRefine((rules, ctx) => {
          const names = rules.map((rule) => rule.name);
          names.forEach((name, index) => {
            if (names.indexOf(name) === index) return;
            const got = `a second rule named ${JSON.stringify(name)}`;
            ctx.addIssue({ code: 'custom', path: [index, 'name'], message: 'a unique rule name', params: { got } });
          });
        }),
    })
    .prefault({});
  return alertsSchema;
}

/** `webhooks:`, built when a config has it (lazy-section.ts). */
function buildWebhooksSchema() {
  const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

  const webhookSchema = z.strictObject({
    url: z.string().refine((text) => /^https?:$/.test(safeProtocol(text)), {
      error: 'an http(s) URL like "https://hooks.example.com/autoloop"',
    }),
    events: z
      .array(z.enum([...ALERT_EVENT_NAMES, 'result.published', ...SERVICE_EVENT_NAMES, ...BACKUP_EVENT_NAMES]))
      .min(1)
      .default([...ALERT_EVENT_NAMES]),
    headers: z.record(z.string().regex(HEADER_NAME, { error: 'an HTTP header name' }), z.string()).default({}),
    timeout: durationMs({ minMs: 1 }).default(5_000),
    attempts: z.number().int().min(1).max(20).default(5),
  });

  const webhooksSchema = z.array(webhookSchema).default([]);
  return webhooksSchema;
}

const alerts = lazySection(buildAlertsSchema, () => ({ defaults: true, interval: 15_000, rules: [] }));
const webhooks = lazySection(buildWebhooksSchema, () => []);

export const tracingSchema = z
  .strictObject({
    enabled: z.boolean().default(false),
    serviceName: z.string().trim().min(1).default('autoloop'),
  })
  .prefault({});

/** The sections built on first use, for lazy-section.test.ts. */
export const OBSERVABILITY_LAZY_SECTIONS = { alerts, webhooks };

/** The keys this module adds to a config file's settings. */
export const observabilityShape = {
  log: logSchema,
  alerts: alerts.schema,
  webhooks: webhooks.schema,
  tracing: tracingSchema,
};

type Validated = {
  log: z.output<typeof logSchema>;
  alerts: z.output<ReturnType<typeof buildAlertsSchema>>;
  webhooks: z.output<ReturnType<typeof buildWebhooksSchema>>;
  tracing: z.output<typeof tracingSchema>;
};

/** `log` resolved: the file path absolute, or null when `file: false`. */
export interface ResolvedLogConfig {
  readonly level: LogLevel;
  readonly file: LogFileOptions | null;
}

/** `alerts` resolved: the user's rules; the evaluator adds the defaults (see `alertRules`). */
export interface ResolvedAlertsConfig {
  readonly defaults: boolean;
  readonly intervalMs: number;
  readonly rules: readonly AlertRule[];
}

export interface ResolvedTracingConfig {
  readonly enabled: boolean;
  readonly serviceName: string;
}

export interface ResolvedObservability {
  readonly log: ResolvedLogConfig;
  readonly alerts: ResolvedAlertsConfig;
  readonly webhooks: readonly WebhookTarget[];
  readonly tracing: ResolvedTracingConfig;
}

/** Stage 3: relative log paths against the config file's directory; all frozen. */
export function resolveObservability(settings: Validated, dir: string): ResolvedObservability {
  const { log, alerts, webhooks, tracing } = settings;
  const file: LogFileOptions | null =
    log.file === false
      ? null
      : Object.freeze({
          path: isAbsolute(log.file) ? log.file : resolve(dir, log.file),
          size: log.rotate.size,
          interval: log.rotate.interval === false ? null : log.rotate.interval.trim(),
          keep: log.rotate.keep,
          compress: log.rotate.compress,
        });
  return Object.freeze({
    log: Object.freeze({ level: log.level, file }),
    alerts: Object.freeze({
      defaults: alerts.defaults,
      intervalMs: alerts.interval,
      rules: Object.freeze(alerts.rules),
    }),
    webhooks: Object.freeze(
      webhooks.map((w) =>
        Object.freeze({
          url: w.url,
          events: Object.freeze([...w.events]),
          headers: Object.freeze({ ...w.headers }),
          timeoutMs: w.timeout,
          attempts: w.attempts,
        }),
      ),
    ),
    tracing: Object.freeze({ enabled: tracing.enabled, serviceName: tracing.serviceName }),
  });
}

function safeProtocol(text: string): string {
  try {
    return new URL(text).protocol;
  } catch {
    return '';
  }
}
