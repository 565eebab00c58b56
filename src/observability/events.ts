import type { CycleCounts, CycleOutcome, TriggerKind } from '../core/cycle-record.ts';
import type { ErrorInfo } from '../core/errors.ts';
import type { AlertEventMap } from './alerts/alert-event.ts';

/**
 * The typed event map: event name -> payload. Surfaces (log, metrics, SSE,
 * event log) subscribe to these; nothing emits untyped strings.
 */
/**
 * A stored, succeeded result of a loop with `publish`: the `result.published`
 * event, and the JSON sent on the loop's `publish.channel`.
 */
export interface PublishedResult {
  loop: string;
  key: string;
  cycleId: string;
  tickId: string;
  output: unknown;
  /** Epoch ms the item finished. */
  finishedAt: number;
}

export interface EventMap extends AlertEventMap {
  'runtime.started': { owner: string; loops: string[] };
  'runtime.stopping': { reason: string };
  'runtime.stopped': { drained: boolean };
  'cycle.started': { loop: string; cycleId: string; tickId: string; trigger: TriggerKind };
  'cycle.finished': {
    loop: string;
    cycleId: string;
    tickId: string;
    outcome: CycleOutcome;
    durationMs: number;
    counts: CycleCounts;
    /** Milliseconds per step, for traces and dashboards. */
    steps?: { observeMs?: number; planMs?: number; actMs?: number };
  };
  'cycle.skipped': { loop: string; tickId: string; reason: string };
  'item.started': { loop: string; cycleId: string; key: string; attempt: number };
  /**
   * One attempt's latency, as the loop's latency window and adaptive
   * concurrency judge it: from entering the act (after any rate-limit wait)
   * to its end. Only attempts that say something about the act's health:
   * one cut short by shutdown or a lost lease is left out. Live only (not in
   * the event log); it feeds `autoloop_item_attempt_duration_seconds`.
   */
  'item.attempted': { loop: string; cycleId: string; key: string; attempt: number; durationMs: number; ok: boolean };
  'item.succeeded': { loop: string; cycleId: string; key: string; attempts: number; durationMs: number };
  'item.retried': { loop: string; cycleId: string; key: string; attempt: number; delayMs: number; error: ErrorInfo };
  'item.skipped': { loop: string; cycleId: string; key: string; reason: string };
  'lease.lost': { key: string; token: number; reason: string };
  'lease.recovered': { key: string; previousOwner: string };
  'item.failed': { loop: string; cycleId: string; key: string; attempts: number; durationMs: number; error: ErrorInfo };
  /** A succeeded item's result, stored, of a loop with `publish` (e.g. a signal of the signals recipe). */
  'result.published': PublishedResult;
  'loop.concurrency': { loop: string; limit: number };
  'breaker.state': { breaker: string; from: string; to: string };
  'backpressure.cooldown': { loop: string; ticks: number };
}

export type EventName = keyof EventMap;

/** One emitted event: its name, payload and time (clock ms). */
export type AnyEvent = { [K in EventName]: { type: K; at: number; data: EventMap[K] } }[EventName];

export interface Disposable {
  dispose(): void;
}

/**
 * A synchronous, typed publish/subscribe bus. A throwing listener is
 * reported to `onListenerError` and never breaks the emitter or its siblings.
 */
export class EventBus {
  readonly #listeners = new Map<EventName, Set<(data: never, at: number) => void>>();
  readonly #any = new Set<(event: AnyEvent) => void>();
  readonly #now: () => number;
  readonly #onListenerError: (error: unknown) => void;

  constructor(options: { now: () => number; onListenerError?: (error: unknown) => void }) {
    this.#now = options.now;
    this.#onListenerError = options.onListenerError ?? (() => {});
  }

  on<K extends EventName>(type: K, listener: (data: EventMap[K], at: number) => void): Disposable {
    let set = this.#listeners.get(type);
    if (!set) {
      set = new Set();
      this.#listeners.set(type, set);
    }
    const entry = listener as (data: never, at: number) => void;
    set.add(entry);
    return { dispose: () => set.delete(entry) };
  }

  onAny(listener: (event: AnyEvent) => void): Disposable {
    this.#any.add(listener);
    return { dispose: () => this.#any.delete(listener) };
  }

  emit<K extends EventName>(type: K, data: EventMap[K]): void {
    const at = this.#now();
    const set = this.#listeners.get(type);
    if (set) {
      for (const listener of set) {
        try {
          (listener as (d: EventMap[K], at: number) => void)(data, at);
        } catch (error) {
          this.#onListenerError(error);
        }
      }
    }
    if (this.#any.size === 0) return;
    const event = { type, at, data } as AnyEvent;
    for (const listener of this.#any) {
      try {
        listener(event);
      } catch (error) {
        this.#onListenerError(error);
      }
    }
  }
}

/** The loop an event belongs to, if any (for the event log's loop column). */
export function eventLoop(event: AnyEvent): string | null {
  const data = event.data as { loop?: unknown };
  return typeof data.loop === 'string' ? data.loop : null;
}
