import type { CycleRecord } from '../core/cycle-record.ts';
import { RateLimitedError } from '../core/errors.ts';
import type { ResolvedLoop } from '../core/loop.ts';
import type { AttemptGovernor, AttemptPass } from '../execution/attempt-governor.ts';
import type { Clock } from '../time/clock.ts';
import { AdaptiveConcurrency } from './adaptive-concurrency.ts';
import { Backpressure } from './backpressure.ts';
import { BreakerOpenError } from './breaker-open-error.ts';
import type { BreakerPermit } from './circuit-breaker.ts';
import type { Dependency } from './dependency.ts';
import { LatencyTracker } from './latency-tracker.ts';
import type { LimitMemory } from './limit-memory.ts';

type Permits = Array<[Dependency, BreakerPermit | null]>;
type PassEnd = Parameters<AttemptPass['exit']>[0];

/** One attempt's way out: its breaker permits and the governor's exit. */
class Pass implements AttemptPass {
  readonly #permits: Permits;
  readonly #exit: (permits: Permits, end: PassEnd) => void;

  constructor(permits: Permits, exit: (permits: Permits, end: PassEnd) => void) {
    this.#permits = permits;
    this.#exit = exit;
  }

  exit(end: PassEnd): void {
    this.#exit(this.#permits, end);
  }
}

export interface LoopGovernorOptions {
  readonly loop: ResolvedLoop;
  readonly dependencies: readonly Dependency[];
  readonly clock: Clock;
  /** The trigger's period (ms), for "this cycle overran"; undefined for manual loops. */
  readonly periodMs: number | undefined;
  /** Applies a new concurrency limit to the loop's pool. */
  readonly setConcurrency: (limit: number) => void;
  readonly onCooldown?: (ticks: number) => void;
  /**
   * Where the adaptive limit survives a restart: loaded once at construction
   * (a remembered limit replaces the start at max, unless a decision came
   * first), saved on a change at most once per {@link LIMIT_SAVE_EVERY_MS}.
   */
  readonly memory?: LimitMemory;
}

/** A changed limit is written at once, then at most this often (a held change is written at a later call's end). */
export const LIMIT_SAVE_EVERY_MS = 30_000;

/**
 * Every policy that governs one loop, in one place: the breakers and rate
 * limits of the dependencies it uses (per attempt), its adaptive concurrency
 * and latency window (per attempt), and its tick gates: skip while a
 * dependency's breaker is open, while p99 is above its bar, or during a
 * backpressure cooldown. Each policy is its own small state machine; this
 * class only routes events to them.
 */
export class LoopGovernor implements AttemptGovernor {
  readonly latency: LatencyTracker;
  readonly adaptive: AdaptiveConcurrency | null;
  readonly backpressure: Backpressure | null;
  readonly #o: LoopGovernorOptions;
  /** Monotonic ms of the last save of the limit, and a change held back since. */
  #savedAt = Number.NEGATIVE_INFINITY;
  #unsaved: number | undefined;

  constructor(options: LoopGovernorOptions) {
    this.#o = options;
    const { loop, clock } = options;
    const a = loop.policies.adaptive;
    this.latency = new LatencyTracker({ window: a?.window ?? 10 });
    this.adaptive = a
      ? new AdaptiveConcurrency(
          { min: a.min, max: loop.policies.concurrency, window: a.window, p95BarMs: a.p95BarMs, p99BarMs: a.p99BarMs },
          clock,
        )
      : null;
    this.adaptive?.onLimitChange(({ limit, reason }) => {
      options.setConcurrency(limit);
      if (reason !== 'restored' && reason !== 'probe') this.#remember(limit);
    });
    if (this.adaptive) options.setConcurrency(this.adaptive.limit);
    const adaptive = this.adaptive;
    if (adaptive && options.memory) {
      // load never rejects by contract; a port that does only costs the restart its memory.
      void options.memory.load(loop.name).then(
        (limit) => {
          if (limit !== undefined) adaptive.restore(limit);
        },
        () => {},
      );
    }
    const bp = loop.policies.backpressure;
    this.backpressure =
      bp && options.periodMs !== undefined
        ? new Backpressure({ maxOverruns: bp.after, cooldownTicks: bp.cooldownTicks })
        : null;
  }

  /** Why the next tick must be skipped, or undefined to run it. Checked at every scheduled tick. */
  skipReason(): string | undefined {
    for (const dep of this.#o.dependencies) {
      if (dep.breaker?.state === 'open') {
        const probe = dep.breaker.tryAcquire();
        if (!probe.allowed)
          return `breaker: ${dep.name} is open; half-open in ${Math.ceil(probe.retryAfterMs / 1000)}s`;
        probe.permit.release(); // the timeout passed: let the cycle's calls be the half-open trials
      }
    }
    if (this.adaptive?.shouldSkipCycle()) {
      const bar = this.#o.loop.policies.adaptive?.p99BarMs ?? 0;
      return `latency: p99 ${Math.round(this.adaptive.recent().p99)} ms is above the ${bar} ms bar`;
    }
    const decision = this.backpressure?.shouldSkipTick();
    if (decision?.skip) return `backpressure: ${decision.reason}`;
    return undefined;
  }

  /** A cycle ended: feeds backpressure (did it take longer than one period?). */
  cycleEnded(record: CycleRecord): void {
    if (!this.backpressure || record.finishedAt === null || record.outcome.kind === 'skipped') return;
    const before = this.backpressure.cooldowns;
    this.backpressure.recordCycle({ overran: record.finishedAt - record.startedAt > (this.#o.periodMs ?? Infinity) });
    if (this.backpressure.cooldowns > before)
      this.#o.onCooldown?.(this.#o.loop.policies.backpressure?.cooldownTicks ?? 0);
  }

  timeoutMs(): number {
    const { timeoutMs, adaptive } = this.#o.loop.policies;
    return this.adaptive && adaptive ? this.adaptive.timeoutFor(timeoutMs, adaptive.maxTimeoutMs) : timeoutMs;
  }

  enter(signal: () => AbortSignal): AttemptPass | Promise<AttemptPass> {
    // Breakers first: a call an open breaker rejects must fail fast and must
    // not wait for, or spend, a rate-limit token (shared by the whole fleet).
    const permits = this.#acquirePermits();
    if (!this.#o.dependencies.some((dep) => dep.limiter)) return new Pass(permits, this.#exitFn);
    return this.#waitForTokens(signal(), permits);
  }

  async #waitForTokens(signal: AbortSignal, permits: Permits): Promise<AttemptPass> {
    try {
      for (const dep of this.#o.dependencies) await dep.limiter?.take(signal);
    } catch (error) {
      for (const [, permit] of permits) permit?.release();
      throw error;
    }
    return new Pass(permits, this.#exitFn);
  }

  /** Made once: a pass per attempt keeps it, instead of a closure per attempt over its permits. */
  readonly #exitFn = (permits: Permits, end: PassEnd): void => this.#exit(permits, end);

  /** Saves `limit` now when the last save is old enough, else holds it for a later call's end. */
  #remember(limit: number): void {
    const memory = this.#o.memory;
    if (!memory) return;
    const now = this.#o.clock.monotonic();
    if (now - this.#savedAt < LIMIT_SAVE_EVERY_MS) {
      this.#unsaved = limit;
      return;
    }
    this.#savedAt = now;
    this.#unsaved = undefined;
    memory.save(this.#o.loop.name, limit);
  }

  /** One permit per dependency with a breaker; throws BreakerOpenError (releasing the others) when one rejects. */
  #acquirePermits(): Permits {
    const permits: Permits = [];
    for (const dep of this.#o.dependencies) {
      const acquired = dep.breaker?.tryAcquire();
      if (acquired && !acquired.allowed) {
        for (const [, permit] of permits) permit?.release();
        throw new BreakerOpenError(dep.name, acquired.state, acquired.retryAfterMs, this.#o.clock.now());
      }
      permits.push([dep, acquired?.allowed ? acquired.permit : null]);
    }
    return permits;
  }

  #exit(permits: Permits, end: { ok: boolean; latencyMs: number; error?: unknown; counted: boolean }): void {
    if (!end.counted) {
      for (const [, permit] of permits) permit?.release();
      return;
    }
    this.latency.record(end.latencyMs, end.ok);
    this.adaptive?.record(end.latencyMs, end.ok);
    if (this.#unsaved !== undefined) this.#remember(this.#unsaved);
    const throttled = end.error instanceof RateLimitedError;
    for (const [dep, permit] of permits) {
      dep.latency.record(end.latencyMs, end.ok);
      if (end.ok) permit?.success();
      else if (throttled)
        permit?.release(); // it answered: a 429 is throttling, not an outage
      else permit?.failure();
      if (throttled) void dep.limiter?.pause(this.#o.clock.now() + (end.error as RateLimitedError).retryAfterMs);
    }
  }
}
