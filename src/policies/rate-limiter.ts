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
}
