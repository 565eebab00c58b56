import type { Clock } from '../time/clock.ts';
import type { Duration } from '../time/duration.ts';
import type { Tick } from './cycle-record.ts';
import type { PlannedItem, WorkItem } from './work-item.ts';

/** What starts a loop's cycles, as users write it. */
export type TriggerSpec = ({ cron: string; timezone?: string } | { interval: Duration } | { manual: true }) & {
  /** What a tick does while the previous cycle still runs. Default `skip`. */
  overlap?: OverlapPolicy;
  /** Ticks that fell due while no process ran (downtime). Default `skip`. */
  missed?: MissedPolicy;
};

/**
 * After downtime: `skip` records each missed tick as skipped with its reason;
 * `run-once` does the same for all but the latest, and runs the latest now.
 */
export type MissedPolicy = 'skip' | 'run-once';

/**
 * `skip`: the tick is recorded as a skipped cycle with its reason.
 * `queue-one`: one tick waits and runs when the current cycle ends; further
 * ticks while one waits are skipped.
 */
export type OverlapPolicy = 'skip' | 'queue-one';

export interface RetrySpec {
  /** Total attempts including the first. Default 1 (no retry). */
  attempts?: number;
  /** Base delay of the exponential backoff (full jitter). Default 1s. */
  backoff?: Duration;
  /** Cap on one backoff delay. Default 30s. */
  maxBackoff?: Duration;
}

export interface AdaptiveSpec {
  min?: number;
  window?: number;
  p95?: Duration;
  p99?: Duration;
  /** Cap on the item timeout when it is extended in high-latency periods. Default 1.5x the timeout. */
  maxTimeout?: Duration;
}

export interface LoopPolicies {
  /** Per-attempt timeout of one item; its AbortSignal fires when it passes. Default 30s. */
  timeout?: Duration;
  retry?: RetrySpec;
  /** Items run at once. Default 10. Can be changed at run time. */
  concurrency?: number;
  /** Named dependencies (declared under `dependencies:`) every item of this loop calls: their breakers, rate limits and latency apply. */
  uses?: readonly string[];
  /**
   * Adaptive concurrency: the limit moves between `min` and `concurrency`
   * (the max) with the latency and errors of the loop's items. `true` takes
   * seed 002's defaults (window 10, p95 bar 8 s, p99 bar 9 s, min 3).
   */
  adaptive?: boolean | AdaptiveSpec;
  /** After `after` consecutive cycles longer than the trigger period, skip `cooldown` ticks. Default on (3, 2); `false` turns it off. */
  backpressure?: false | { after?: number; cooldown?: number };
  /**
   * Per-key leases (default on): an item runs only while this process holds
   * the lease on `<loop>/<key>`, renewed every ttl/3; a key already leased by
   * a live run elsewhere is skipped (overrun protection). `false` turns it off.
   */
  lease?: boolean;
  /**
   * The order a cycle starts its items in, within a priority:
   * `longest-first` (default) by the duration each key's last attempt took
   * (kept in the store per loop; keys never run take the mean), so long
   * items do not start last and stretch the cycle; `plan` as plan returned
   * them.
   */
  order?: ItemOrder;
}

/** See {@link LoopPolicies.order}. */
export type ItemOrder = 'longest-first' | 'plan';

/** Given to observe and plan. */
export interface CycleContext {
  readonly loop: string;
  readonly cycleId: string;
  readonly tick: Tick;
  /** Aborts when the runtime shuts down past its grace period. */
  readonly signal: AbortSignal;
  readonly clock: Clock;
}

/** Given to act, once per attempt. */
export interface ItemContext extends CycleContext {
  /** 1 for the first attempt. */
  readonly attempt: number;
  /** Aborts on the item's timeout or on shutdown. Pass it to every call that can take long. */
  readonly signal: AbortSignal;
}

/**
 * A loop as a TypeScript user defines it: a trigger plus observe -> plan -> act.
 *
 * - `observe` reads the world into a snapshot (default: `undefined`).
 * - `plan` turns the snapshot into work items; it must be pure. Default: if
 *   the snapshot is an array, one item per element (key from `element.key`,
 *   or the element itself when it is a string).
 * - `act` does one item. Return a JSON-serialisable value; throw to fail the
 *   attempt (retried per policy), or throw a `TerminalError` to fail at once;
 *   or return `retryAfter(ms)` (core/outcome.ts) to be tried again after
 *   exactly `ms`, within `policies.retry.attempts`.
 */
export interface LoopDefinition<S = unknown, P = unknown> {
  name: string;
  description?: string;
  trigger: TriggerSpec;
  // Method syntax on purpose: its parameters are bivariant, so a
  // LoopDefinition<string[]> can be passed where LoopDefinition<unknown> is taken.
  observe?(ctx: CycleContext): S | Promise<S>;
  plan?(snapshot: S, ctx: CycleContext): ReadonlyArray<PlannedItem<P>> | Promise<ReadonlyArray<PlannedItem<P>>>;
  act(item: WorkItem<P>, ctx: ItemContext): unknown;
  policies?: LoopPolicies;
  /**
   * Publish each succeeded item's result after it is stored: as a
   * `result.published` event (event log, `/events`, webhooks) and, with a
   * `channel`, on that pub/sub channel (needs a Redis store).
   */
  publish?: PublishSpec;
  /** The recipe that made this loop (`signals`), for surfaces that serve its results. */
  recipe?: string;
}

/**
 * Where a loop's results go besides the store: after each succeeded item's
 * result is stored, `{ loop, key, cycleId, tickId, output, finishedAt }` is
 * published as JSON on `channel` (Redis pub/sub, the channel name as given,
 * no key prefix), e.g. seed 002's `channel:raw-signals`. At most once per
 * stored result and only to subscribers connected then; a failed publish is
 * logged and never fails the item.
 */
export interface PublishSpec {
  channel?: string;
}

/** A trigger after validation. */
export type ResolvedTrigger =
  | { kind: 'cron'; expression: string; timezone: string }
  | { kind: 'interval'; everyMs: number }
  | { kind: 'manual' };

/** A loop after validation and defaults: every duration in ms, nothing optional. */
export interface ResolvedLoop {
  readonly name: string;
  readonly description: string;
  readonly trigger: ResolvedTrigger;
  readonly overlap: OverlapPolicy;
  readonly missed: MissedPolicy;
  readonly observe: (ctx: CycleContext) => unknown;
  readonly plan: (
    snapshot: unknown,
    ctx: CycleContext,
  ) => ReadonlyArray<PlannedItem> | Promise<ReadonlyArray<PlannedItem>>;
  readonly act: (item: WorkItem, ctx: ItemContext) => unknown;
  readonly policies: {
    readonly timeoutMs: number;
    readonly retry: { readonly attempts: number; readonly baseMs: number; readonly maxMs: number };
    readonly concurrency: number;
    readonly lease: boolean;
    readonly order: ItemOrder;
    readonly uses: readonly string[];
    readonly adaptive: ResolvedAdaptive | null;
    readonly backpressure: { readonly after: number; readonly cooldownTicks: number } | null;
  };
  /** Results published (event, and channel when not null); absent or null: not published. */
  readonly publish?: { readonly channel: string | null } | null;
  /** The recipe that made it, or null. */
  readonly recipe?: string | null;
}

export interface ResolvedAdaptive {
  readonly min: number;
  readonly window: number;
  readonly p95BarMs: number;
  readonly p99BarMs: number;
  readonly maxTimeoutMs: number;
}

/** A named dependency (an LLM API, an exchange) shared by the loops that use it. */
export interface ResolvedDependency {
  readonly name: string;
  readonly breaker: {
    readonly failureThreshold: number;
    readonly recoveryTimeoutMs: number;
    readonly halfOpenMaxCalls: number;
    readonly successThreshold: number;
  } | null;
  /** `shared`: one bucket for every process on the store (default), else per process. */
  readonly rateLimit: { readonly requests: number; readonly perMs: number; readonly shared: boolean } | null;
}

export const LOOP_DEFAULTS = {
  timeoutMs: 30_000,
  retry: { attempts: 1, baseMs: 1_000, maxMs: 30_000 },
  concurrency: 10,
  lease: true,
  order: 'longest-first' as ItemOrder,
  adaptive: { min: 3, window: 10, p95BarMs: 8_000, p99BarMs: 9_000 },
  backpressure: { after: 3, cooldownTicks: 2 },
  breaker: { failureThreshold: 5, recoveryTimeoutMs: 60_000, halfOpenMaxCalls: 3, successThreshold: 2 },
  overlap: 'skip' as OverlapPolicy,
  missed: 'skip' as MissedPolicy,
  timezone: 'UTC',
} as const;

/** The default plan: one item per array element of the snapshot. */
export function defaultPlan(snapshot: unknown): PlannedItem[] {
  if (snapshot === undefined || snapshot === null) return [];
  if (!Array.isArray(snapshot)) {
    throw new TypeError(
      `the default plan expects observe to return an array (one item per element), got ${typeof snapshot}; write a plan step`,
    );
  }
  return snapshot.map((element, index) => {
    if (typeof element === 'string') return { key: element, payload: element };
    if (element && typeof element === 'object' && typeof (element as { key?: unknown }).key === 'string') {
      const e = element as PlannedItem & Record<string, unknown>;
      return {
        key: e.key,
        priority: e.priority,
        payload: 'payload' in e ? e.payload : element,
        idempotencyKey: e.idempotencyKey,
      };
    }
    return { key: String(index), payload: element };
  });
}
