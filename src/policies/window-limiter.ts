/**
 * An in-process rate limit: at most `limit` calls in any window of `perMs`
 * (config `rateLimit: { requests: 100, per: 1m, shared: false }` is
 * `{ limit: 100, perMs: 60_000 }`). The store-backed twin, shared by every
 * process, is {@link SharedWindowLimiter}; both use the sliding-window log of
 * ./window-log.ts (why a log, and the 5% margin, are explained there).
 *
 * Behaviour:
 * - An idle limiter grants `limit` calls at once; then a call waits until the
 *   `limit`-th newest grant is a window (plus margin) old.
 * - Waiters queue FIFO. One timer at most, set for the moment the head
 *   waiter may go; when it fires, as many waiters as the log allows are
 *   granted in order, and the timer is set again for the next. `tryTake`
 *   does not jump the queue: with waiters queued it refuses and says how long
 *   the caller would wait behind them.
 * - `pause(untilMs)` (a 429's Retry-After) grants nothing until then, and
 *   restarts at the steady rate, one call per window / limit, rather than
 *   bursting into a second 429. A pause never shortens one already in force.
 * - An aborted waiter is removed at once and consumes nothing.
 * Grant times are on the monotonic clock, so a wall-clock step moves nothing.
 */
import { abortReason, type Clock, type TimerHandle } from '../time/clock.ts';
import { checkNumber } from './check-option.ts';
import { type CountedRate, countedRate, type Rate, type RateLimiter } from './rate-limiter.ts';
import { nextGrantAt, takeFromLog, type WindowLog } from './window-log.ts';

export interface WindowLimiterOptions {
  /** Calls allowed in any window of `perMs` (config `requests`). Integer >= 1. */
  limit: number;
  /** The window, in ms (config `per`). */
  perMs: number;
}

/** What {@link WindowLimiter.tryTake} returns: granted now, or how long until it would be. */
export type WindowGrant =
  | { readonly granted: true; readonly waitMs: 0 }
  | { readonly granted: false; readonly waitMs: number };

interface Waiter {
  readonly resolve: () => void;
  readonly reject: (reason: unknown) => void;
  readonly signal: AbortSignal | undefined;
  readonly onAbort: () => void;
}

/**
 * @example
 * const limiter = new WindowLimiter({ limit: 100, perMs: 60_000 }, clock);
 * await limiter.take(signal); // at once for the first 100, then as the oldest grants leave the window
 */
export class WindowLimiter implements RateLimiter {
  readonly #clock: Clock;
  /** The rate, and its counting window: perMs plus the margin. */
  #rate: CountedRate;
  /** Grant times (monotonic ms) and the pause's end (monotonic ms). */
  #log: WindowLog = { grants: [], pausedUntil: null };
  readonly #waiters: Waiter[] = [];
  #timer: TimerHandle | null = null;

  constructor(options: WindowLimiterOptions, clock: Clock) {
    this.#rate = countedRate(options);
    this.#clock = clock;
  }

  /** See {@link RateLimiter.rate}. */
  get rate(): Rate {
    return { limit: this.#rate.limit, perMs: this.#rate.perMs };
  }

  /** See {@link RateLimiter.setRate}: the grants in the log stay; the head waiter's turn is computed again. */
  setRate(rate: Rate): void {
    this.#rate = countedRate(rate);
    this.#grantDue();
  }

  /** The window grants are counted over (perMs plus the margin). */
  get windowMs(): number {
    return this.#rate.windowMs;
  }

  /** Callers waiting in `take`. */
  get waiting(): number {
    return this.#waiters.length;
  }

  /** Takes a slot if the log allows one now and nobody is queued; otherwise says how long until it would. */
  tryTake(): WindowGrant {
    if (this.#waiters.length === 0 && this.#grantNow()) return { granted: true, waitMs: 0 };
    return { granted: false, waitMs: this.#msUntilQueued(this.#waiters.length + 1) };
  }

  /** See {@link RateLimiter.take}. */
  take(signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(abortReason(signal));
    if (this.tryTake().granted) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = { resolve, reject, signal, onAbort: () => this.#abandon(waiter) };
      signal?.addEventListener('abort', waiter.onAbort, { once: true });
      this.#waiters.push(waiter);
      this.#schedule();
    });
  }

  /** See {@link RateLimiter.pause}. `untilMs` is wall-clock epoch ms, as {@link parseRetryAfter} returns. */
  pause(untilMs: number): void {
    checkNumber('untilMs', untilMs, {});
    const until = this.#clock.monotonic() + (untilMs - this.#clock.now());
    const current = this.#log.pausedUntil;
    if (current !== null && current >= until) return;
    this.#log = { ...this.#log, pausedUntil: until };
    this.#schedule();
  }

  /** Records a grant at now when the log allows one. */
  #grantNow(): boolean {
    const step = takeFromLog(this.#log, this.#rate.limit, this.#rate.windowMs, this.#clock.monotonic());
    if (!step.granted) return false;
    this.#log = { ...this.#log, grants: step.grants };
    return true;
  }

  /** Ms until the n-th queued caller would be granted, simulating the n - 1 grants before it. */
  #msUntilQueued(n: number): number {
    const now = this.#clock.monotonic();
    let log = this.#log;
    let at = now;
    for (let i = 0; i < n; i++) {
      at = Math.max(at, nextGrantAt(log, this.#rate.limit, this.#rate.windowMs));
      const step = takeFromLog(log, this.#rate.limit, this.#rate.windowMs, at);
      if (step.granted) log = { ...log, grants: step.grants };
    }
    return Math.max(0, Math.ceil(at - now));
  }

  /** (Re)sets the single timer for the head waiter's turn. */
  #schedule(): void {
    this.#timer?.cancel();
    this.#timer = null;
    if (this.#waiters.length === 0) return;
    const waitMs = Math.max(
      0,
      Math.ceil(nextGrantAt(this.#log, this.#rate.limit, this.#rate.windowMs) - this.#clock.monotonic()),
    );
    this.#timer = this.#clock.setTimer(waitMs, () => {
      this.#timer = null;
      this.#grantDue();
    });
  }

  #grantDue(): void {
    while (this.#waiters.length > 0 && this.#grantNow()) {
      const waiter = this.#waiters.shift() as Waiter;
      waiter.signal?.removeEventListener('abort', waiter.onAbort);
      waiter.resolve();
    }
    this.#schedule();
  }

  #abandon(waiter: Waiter): void {
    const index = this.#waiters.indexOf(waiter);
    if (index < 0) return;
    this.#waiters.splice(index, 1);
    waiter.reject(abortReason(waiter.signal as AbortSignal));
    this.#schedule();
  }
}
