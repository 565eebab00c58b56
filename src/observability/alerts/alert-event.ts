import type { AlertOp, AlertSeverity } from './alert-rule.ts';

/**
 * The payload of `alert.firing` and `alert.resolved`: what the log line, the
 * typed bus (and so the event log and `/events`) and webhooks receive.
 * Times are the runtime clock's epoch ms.
 */
export interface AlertPayload {
  /** The rule's name, e.g. `AutoloopCircuitBreakerOpen`. */
  alert: string;
  severity: AlertSeverity;
  state: 'firing' | 'resolved';
  /** The alert's identity besides its name: the series' labels, or the rule's `by` labels. */
  labels: Record<string, string>;
  /** `labels.loop` when there is one, so the event log files the event under its loop. */
  loop?: string;
  /** The value last evaluated; null when the series disappeared. */
  value: number | null;
  op: AlertOp;
  threshold: number;
  /** The condition in PromQL. */
  expr: string;
  /** The rule's summary with `{{ $labels.x }}` and `{{ $value }}` filled in. */
  summary: string;
  /** When the condition first held (the start of `for`). */
  activeAt: number;
  firedAt: number;
  /** Set on `alert.resolved`. */
  resolvedAt: number | null;
}

/** Event name -> payload, to merge into the bus's `EventMap`. */
export interface AlertEventMap {
  'alert.firing': AlertPayload;
  'alert.resolved': AlertPayload;
}

export type AlertEventName = keyof AlertEventMap;

export const ALERT_EVENT_NAMES = ['alert.firing', 'alert.resolved'] as const satisfies readonly AlertEventName[];

/** One alert transition, as the evaluator hands it to its callback. */
export type AlertEvent = { [K in AlertEventName]: { type: K; data: AlertEventMap[K] } }[AlertEventName];
