/**
 * Backpressure on a loop's ticks (seed 002's BackpressureController): after
 * `maxOverruns` consecutive overrunning cycles, skip the next
 * `cooldownTicks` ticks, so a dependency that cannot keep up with our
 * schedule gets room to drain instead of a queue of late cycles. An
 * "overrun" is a cycle that took longer than its period; the caller decides.
 *
 * State machine (one method per transition):
 *
 * | state              | event                  | guard                         | next                |
 * | ------------------ | ---------------------- | ----------------------------- | ------------------- |
 * | normal(n)          | recordCycle(ok)        |                               | normal(0)           |
 * | normal(n)          | recordCycle(overran)   | n + 1 < maxOverruns           | normal(n + 1)       |
 * | normal(n)          | recordCycle(overran)   | n + 1 >= maxOverruns          | cooling(cooldownTicks), cooldowns += 1 |
 * | cooling(k)         | shouldSkipTick -> skip | k > 1                         | cooling(k - 1)      |
 * | cooling(1)         | shouldSkipTick -> skip |                               | probation           |
 * | cooling(k)         | recordCycle(any)       |                               | cooling(k) (a late cycle changes nothing) |
 * | probation          | recordCycle(ok)        |                               | normal(0)           |
 * | probation          | recordCycle(overran)   |                               | cooling(cooldownTicks), cooldowns += 1 |
 * | normal / probation | shouldSkipTick         |                               | unchanged, run      |
 *
 * Probation is the seed's behaviour made explicit: its overrun count is not
 * reset by a cooldown, so the first cycle after one decides alone. Still
 * overrunning means still overloaded: cool down again at once rather than
 * after three more late cycles.
 */
import { checkInteger } from './check-option.ts';

/** 'normal', 'cooling' (ticks are being skipped) or 'probation' (the next cycle decides). */
export type BackpressureStateName = 'normal' | 'cooling' | 'probation';

type BackpressureState =
  | { readonly kind: 'normal'; readonly overruns: number }
  | { readonly kind: 'cooling'; readonly ticksLeft: number }
  | { readonly kind: 'probation' };

/** What {@link Backpressure.shouldSkipTick} returns. */
export type TickDecision = { readonly skip: false } | { readonly skip: true; readonly reason: string };

export interface BackpressureOptions {
  /** Consecutive overrunning cycles that start a cooldown. Default 3. */
  maxOverruns?: number;
  /** Ticks skipped per cooldown. Default 2. */
  cooldownTicks?: number;
}

/**
 * @example
 * const backpressure = new Backpressure();
 * // on each tick:
 * const decision = backpressure.shouldSkipTick();
 * if (decision.skip) return skipCycle(decision.reason);
 * const took = await runCycle();
 * backpressure.recordCycle({ overran: took > periodMs });
 */
export class Backpressure {
  readonly #maxOverruns: number;
  readonly #cooldownTicks: number;
  #state: BackpressureState = { kind: 'normal', overruns: 0 };
  #cooldowns = 0;

  constructor(options: BackpressureOptions = {}) {
    this.#maxOverruns = checkInteger('maxOverruns', options.maxOverruns ?? 3, { min: 1 });
    this.#cooldownTicks = checkInteger('cooldownTicks', options.cooldownTicks ?? 2, { min: 1 });
  }

  /** The current state; see {@link BackpressureStateName}. */
  get state(): BackpressureStateName {
    return this.#state.kind;
  }

  /** Cooldowns started so far (the seed's `backpressure_cooldowns` counter). */
  get cooldowns(): number {
    return this.#cooldowns;
  }

  /** Reports a finished cycle. */
  recordCycle(cycle: { overran: boolean }): void {
    const state = this.#state;
    if (state.kind === 'cooling') return;
    if (!cycle.overran) this.#state = { kind: 'normal', overruns: 0 };
    else if (state.kind === 'probation' || state.overruns + 1 >= this.#maxOverruns) this.#startCooldown();
    else this.#state = { kind: 'normal', overruns: state.overruns + 1 };
  }

  /** Asks whether this tick should be skipped; a skip uses up one cooldown tick. */
  shouldSkipTick(): TickDecision {
    const state = this.#state;
    if (state.kind !== 'cooling') return { skip: false };
    const ticksLeft = state.ticksLeft - 1;
    this.#state = ticksLeft > 0 ? { kind: 'cooling', ticksLeft } : { kind: 'probation' };
    return {
      skip: true,
      reason: `backpressure: cooling down after ${this.#maxOverruns} consecutive overrunning cycles (${ticksLeft} more tick${ticksLeft === 1 ? '' : 's'} to skip)`,
    };
  }

  #startCooldown(): void {
    this.#state = { kind: 'cooling', ticksLeft: this.#cooldownTicks };
    this.#cooldowns++;
  }
}
