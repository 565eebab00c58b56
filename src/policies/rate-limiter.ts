/**
 * The rate-limit port: what an item's execution needs from a rate limit,
 * whether the budget lives in this process ({@link WindowLimiter}) or in the
 * store, shared by every process calling the same dependency
 * ({@link SharedWindowLimiter}). Both hold `rateLimit: { requests: N, per: T }`
 * as at most N grants in any window of length T (./window-log.ts).
 *
 * Deliberately left out: how grants are counted and stored, and fairness
 * across processes. Those are the implementation's business.
 *
 * @example
 * await limiter.take(signal);                 // wait for our turn
 * const res = await fetch(url, { signal });
 * if (res.status === 429) {
 *   const until = parseRetryAfter(res.headers.get('retry-after'), clock.now());
 *   if (until !== undefined) await limiter.pause(until);
 * }
 */
import { checkInteger, checkNumber } from './check-option.ts';
import { windowWithMarginMs } from './window-log.ts';

/** A rate: at most `limit` grants in any window of `perMs`. */
export interface Rate {
  readonly limit: number;
  readonly perMs: number;
}

/** A checked rate and the window its grants are counted over (perMs plus the margin of ./window-log.ts). */
export interface CountedRate extends Rate {
  readonly windowMs: number;
}

/** Checks `rate` (RangeError in the option template: limit an integer >= 1, perMs > 0) and adds its counting window. */
export function countedRate(rate: Rate): CountedRate {
  const perMs = checkNumber('perMs', rate.perMs, { above: 0 });
  return { limit: checkInteger('limit', rate.limit, { min: 1 }), perMs, windowMs: windowWithMarginMs(perMs) };
}

export interface RateLimiter {
  /**
   * Resolves when one call may be made now (and counts it). Waiters are
   * served in arrival order. Rejects with the signal's reason (an
   * `AbortError` by default) when `signal` aborts; the waiter is then
   * removed and consumes nothing.
   */
  take(signal?: AbortSignal): Promise<void>;
  /**
   * Stops granting until wall-clock epoch `untilMs` (from a 429's
   * Retry-After). Never shortens a pause already in force.
   */
  pause(untilMs: number): void | Promise<void>;
  /** The rate in force now. */
  readonly rate: Rate;
  /**
   * Changes the rate at run time (a controller such as the decide recipe,
   * and its rollback). Grants already made count against the new rate;
   * waiters are timed again at once (a higher rate may let some go now).
   * Throws a RangeError for a limit that is not an integer >= 1 or a
   * window that is not > 0. A limiter in the store changes this process's
   * budget only; the others keep theirs until told.
   */
  setRate(rate: Rate): void;
}
