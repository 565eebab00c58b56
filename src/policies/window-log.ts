/**
 * The arithmetic of a rate limit `{ requests: N, per: T }`: at most N grants
 * in ANY window of length T. Shared by the in-process {@link WindowLimiter}
 * and every store backend's `RateLimitStore.take`, so that they grant and
 * wait alike; each backend only reads a bucket's log and writes back the
 * next one, atomically.
 *
 * Algorithm: a sliding-window log. A bucket keeps the times of its last N
 * grants (ascending); a call at `now` is granted when fewer than N of them
 * lie in `(now - W, now]`, i.e. when the N-th newest grant is at least W old.
 * Only the newest N grants can ever matter, so the log never holds more.
 *
 * WHY a log and not a token bucket or GCRA:
 * - A token bucket that starts full and refills continuously lets any window
 *   of T see its capacity plus what refilled during T: up to 2N (the stand-in
 *   counted 134 calls in one minute for 100/min). Providers count calls in
 *   windows, so that is a limit we promised and broke.
 * - GCRA holds the bound only with burst 1 (calls spaced T/N apart); a burst
 *   B costs a steady rate of (N - B + 1) / T. The log is exact and is the
 *   most permissive schedule the rule allows: a call waits only when N calls
 *   really are in the last W. An idle dependency takes N calls at once (a
 *   first cycle of 20 symbols at 100/min starts together), and steady demand
 *   gets N per W.
 * - Its cost is N grant times per bucket (100/min: 100 numbers), fine for the
 *   limits an API publishes (hundreds to a few thousand per window); a limit
 *   of millions per day would want a counter instead.
 *
 * The margin: the limiter counts over W = T + margin, margin = 5% of T
 * capped at 1 s ({@link windowWithMarginMs}). A grant is the moment a call
 * starts; the provider counts arrivals, and two calls can take different
 * times to get there (a busy event loop, a slower connection). With W = T
 * exactly, the N+1-th call of a burst could arrive inside the window the
 * first one opened whenever the first was slower. The margin absorbs that
 * much difference (and that much clock skew between processes) and costs at
 * most 5% of throughput: N per T + margin, so >= 95% of the limit.
 *
 * A pause (a 429's Retry-After, `pausedUntil`) grants nothing before it and
 * then restarts at the steady rate: the server just told us its count is not
 * ours, so bursting N calls the moment the pause ends would earn a second
 * 429. As if N virtual grants had been made W/N apart ending at the pause,
 * the k-th extra call after it is allowed at `pausedUntil + k * W / N`
 * (k = 0, 1, ...), on top of the real grants still in the window. That only
 * ever delays a grant, so the window bound holds throughout.
 *
 * Clocks: `now` is each caller's clock. A `now` behind the log's newest grant
 * (a peer's clock a little behind) still counts every logged grant, so it
 * only waits longer.
 *
 * @example
 * const step = takeFromLog({ grants: [], pausedUntil: null }, 100, windowWithMarginMs(60_000), now);
 * if (step.granted) save(step.grants);
 */

/** A bucket as a backend stores it: its last grants (ascending, at most `limit`) and its pause. */
export interface WindowLog {
  readonly grants: readonly number[];
  /** Epoch ms before which nothing is granted; null when never paused. */
  readonly pausedUntil: number | null;
}

/** What a take decided, and the log to store when it granted. */
export type TakeStep =
  | { readonly granted: true; readonly waitMs: 0; readonly grants: number[] }
  | { readonly granted: false; readonly waitMs: number };

/** Share of `per` added to the counting window, and its cap. See the header. */
export const MARGIN_SHARE = 0.05;
export const MARGIN_CAP_MS = 1_000;

/** Sub-microsecond float slack: `pausedUntil + k * W / N` computed a hair above a whole-ms `now`. */
const EPSILON = 1e-6;

/** The window a limit of `per` is counted over: `per` plus the margin (5%, at most 1 s). */
export function windowWithMarginMs(perMs: number): number {
  return perMs + Math.min(perMs * MARGIN_SHARE, MARGIN_CAP_MS);
}

/**
 * The earliest time at which one more grant keeps at most `limit` grants in
 * any window of `windowMs`, also counting a pause's ramp. It may be in the
 * past (grant now). For a split of the budget into k real grants still in
 * the window and `limit - 1 - k` virtual ones of the pause's ramp, the time
 * is when both have drained that far; the answer is the best split.
 */
export function nextGrantAt(log: WindowLog, limit: number, windowMs: number): number {
  const { grants, pausedUntil } = log;
  const m = grants.length;
  const spacing = windowMs / limit;
  let best = Number.POSITIVE_INFINITY;
  for (let k = 0; k < limit; k++) {
    // At most k real grants in the window: the (k+1)-th newest has left it.
    const realAt = k >= m ? Number.NEGATIVE_INFINITY : (grants[m - 1 - k] as number) + windowMs;
    // At most limit-1-k virtual ones: the pause's k-th extra slot has opened.
    const rampAt = pausedUntil === null ? Number.NEGATIVE_INFINITY : pausedUntil + k * spacing;
    best = Math.min(best, Math.max(realAt, rampAt));
    if (realAt === Number.NEGATIVE_INFINITY) break; // larger k only opens later on the ramp
  }
  return pausedUntil === null ? best : Math.max(best, pausedUntil);
}

/**
 * Grants one call at `now` when the log allows it (see {@link nextGrantAt}):
 * `{ granted: true, grants }` with the log to store (now added, the newest
 * `limit` kept), or `{ granted: false, waitMs }`, the whole ms until it would
 * be granted (a caller that waits exactly that long is granted, unless a peer
 * took the slot meanwhile). A refused take changes nothing.
 */
export function takeFromLog(log: WindowLog, limit: number, windowMs: number, now: number): TakeStep {
  const at = nextGrantAt(log, limit, windowMs);
  if (at > now + EPSILON) return { granted: false, waitMs: Math.max(1, Math.ceil(at - now - EPSILON)) };
  return { granted: true, waitMs: 0, grants: insertGrant(log.grants, now, limit) };
}

/** `grants` with `now` inserted in order, keeping the newest `limit`. */
function insertGrant(grants: readonly number[], now: number, limit: number): number[] {
  const next = [...grants];
  let i = next.length;
  while (i > 0 && (next[i - 1] as number) > now) i--;
  next.splice(i, 0, now);
  return next.length > limit ? next.slice(next.length - limit) : next;
}

/**
 * The most `times` (any order) that fall in one closed window `[t, t + windowMs]`:
 * what a provider counting calls in windows would see. For tests and benches
 * of the guarantee.
 *
 * @example
 * maxInAnyWindow([0, 500, 10_000, 10_001], 10_000); // 3
 */
export function maxInAnyWindow(times: readonly number[], windowMs: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let best = 0;
  let end = 0;
  for (let start = 0; start < sorted.length; start++) {
    while (end < sorted.length && (sorted[end] as number) <= (sorted[start] as number) + windowMs) end++;
    best = Math.max(best, end - start);
  }
  return best;
}

/**
 * Rejects a bucket shape that could never grant (a limit below one call, or
 * not whole) or a window that is not a positive number, naming the bucket,
 * before anything is stored.
 */
export function checkWindow(name: string, limit: number, windowMs: number): void {
  if (!Number.isInteger(limit) || limit < 1) {
    throw new RangeError(`rate bucket "${name}": expected limit to be an integer >= 1, got ${limit}`);
  }
  if (!Number.isFinite(windowMs) || windowMs <= 0) {
    throw new RangeError(`rate bucket "${name}": expected windowMs to be a finite number > 0, got ${windowMs}`);
  }
}
