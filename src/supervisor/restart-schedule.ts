import { backoffDelay } from '../policies/backoff.ts';
import type { RestartSpec } from './service-spec.ts';

/** Why a service's process ended, as the schedule weighs it. */
export interface ExitFacts {
  /** Exit code, or null when a signal ended it. */
  readonly code: number | null;
  /** How long it ran (monotonic ms). */
  readonly upMs: number;
  /** Monotonic ms now, for the restart window. */
  readonly at: number;
  /** The supervisor ended it on purpose (memory limit, failed health, an operator): restart at once. */
  readonly requested: string | null;
}

/** What to do after an exit. */
export type RestartDecision =
  | {
      readonly kind: 'restart';
      readonly delayMs: number;
      /** 1 for the first restart since the service last ran for `resetAfter`. */
      readonly attempt: number;
      /** True only on the restart that went over the limit (emit `service.failing` once). */
      readonly nowFailing: boolean;
    }
  | { readonly kind: 'stop'; readonly reason: string; readonly nowFailing: boolean };

/**
 * The restart policy of one service instance, pure and clock-free: the
 * caller passes monotonic times, so the whole schedule runs on a virtual
 * clock in tests.
 *
 * - Which exits restart: `always` every one; `on-failure` those with a code
 *   other than 0 (or a signal); `never` none. A requested stop-and-start
 *   (memory, health, operator) always restarts, with no delay.
 * - Delay: backoff n = initial × multiplier^(n-1), capped at max (100 ms,
 *   200 ms, 400 ms … 30 s by default). n goes back to 1 once a run lasted
 *   `resetAfter` (60 s): {@link ranFor} notes that while the process still
 *   runs, and an exit after such a run counts as the first again.
 * - Limit: more than `limit.restarts` restarts within `limit.window` marks
 *   the instance failing. With `onLimit: retry` (the default) it keeps
 *   restarting on the same schedule, which by then sits at the cap; with
 *   `onLimit: stop` it stays stopped. A run of `resetAfter` clears failing
 *   (`service.recovered`). Nothing gives up silently (unlike PM2's
 *   `errored` after 16 unstable restarts, or systemd's StartLimitBurst).
 */
export class RestartSchedule {
  readonly #spec: RestartSpec;
  #attempt = 0;
  #window: number[] = [];
  #failing = false;
  #total = 0;

  constructor(spec: RestartSpec) {
    this.#spec = spec;
  }

  /** Restarts so far (all reasons). */
  get restarts(): number {
    return this.#total;
  }

  /** The backoff position: 0 after a long run, n after n quick exits. */
  get attempt(): number {
    return this.#attempt;
  }

  /** Over the restart limit, and not yet up for `resetAfter` since. */
  get failing(): boolean {
    return this.#failing;
  }

  /** Carries the position across a supervisor restart (read from the store). */
  restore(state: { restarts: number; attempt: number; failing: boolean }): void {
    this.#total = state.restarts;
    this.#attempt = state.attempt;
    this.#failing = state.failing;
  }

  /**
   * The process has run `upMs` so far. Past `resetAfter` the backoff starts
   * over; returns true when that also ends a failing period (recovered).
   */
  ranFor(upMs: number): boolean {
    if (upMs < this.#spec.backoff.resetAfterMs) return false;
    this.#attempt = 0;
    const recovered = this.#failing;
    this.#failing = false;
    return recovered;
  }

  /** Decides what follows an exit. */
  onExit(exit: ExitFacts): RestartDecision {
    this.ranFor(exit.upMs);
    const policy = this.#spec.policy;
    if (exit.requested === null) {
      if (policy === 'never') return { kind: 'stop', reason: 'restart policy is never', nowFailing: false };
      if (policy === 'on-failure' && exit.code === 0) {
        return { kind: 'stop', reason: 'exited with code 0 (restart policy on-failure)', nowFailing: false };
      }
    }
    const { restarts, windowMs, onLimit } = this.#spec.limit;
    this.#window = this.#window.filter((at) => at > exit.at - windowMs);
    this.#window.push(exit.at);
    const nowFailing = !this.#failing && this.#window.length > restarts;
    if (nowFailing) this.#failing = true;
    if (this.#failing && onLimit === 'stop') {
      return {
        kind: 'stop',
        reason: `more than ${restarts} restarts within ${windowMs} ms (restart.limit.onLimit: stop)`,
        nowFailing,
      };
    }
    this.#total += 1;
    if (exit.requested !== null) return { kind: 'restart', delayMs: 0, attempt: this.#attempt, nowFailing };
    this.#attempt += 1;
    const b = this.#spec.backoff;
    const delayMs = backoffDelay(
      { initialMs: b.initialMs, multiplier: b.multiplier, maxMs: b.maxMs, jitter: 'none' },
      this.#attempt,
    );
    return { kind: 'restart', delayMs, attempt: this.#attempt, nowFailing };
  }
}
