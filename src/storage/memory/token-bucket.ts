/**
 * The token-bucket arithmetic of `RateLimitStore.take` (../store.ts), shared by every
 * backend so that they grant and wait alike: each backend only reads a
 * bucket's state and writes back the next one, atomically.
 *
 * A bucket holds up to `capacity` tokens and refills continuously at
 * `capacity / perMs` tokens per ms. Its stored state is the token count at
 * `updatedAt`; the count at any later time follows from the rate, so a take
 * that grants nothing needs to write nothing.
 *
 * @example
 * const step = takeToken(undefined, 100, 60_000, now); // a new bucket: full, so granted
 * if (step.granted) save(step.next);
 */
/**
 * A bucket as a backend stores it. `tokens`/`updatedAt` null: full (a bucket
 * created by `pause`, before any take told it its capacity). `pausedUntil`
 * null: never paused.
 */
export interface BucketState {
  readonly tokens: number | null;
  readonly updatedAt: number | null;
  readonly pausedUntil: number | null;
}

/** What a take decided, and the state to store when it granted. */
export type TakeStep =
  | { granted: true; waitMs: 0; next: { tokens: number; updatedAt: number } }
  | { granted: false; waitMs: number };

/**
 * Slack when comparing the token count with 1: a caller that sleeps the
 * `waitMs` it was told must find a whole token, even when the refill's
 * floating-point sum lands a hair below 1. It over-grants by at most 1e-9
 * of a token per take.
 */
const EPSILON = 1e-9;

/**
 * Refills the bucket to `now`, then takes one token if there is one and the
 * bucket is not paused. `waitMs` is the time until a token is due, or until
 * the pause ends when that is later. A clock that went back (another
 * process's `now` a little behind) refills nothing and keeps `updatedAt`;
 * a token it took is still granted (the bucket held it).
 */
export function takeToken(state: BucketState | undefined, capacity: number, perMs: number, now: number): TakeStep {
  const rate = capacity / perMs;
  const { tokens: base, from } = startingPoint(state, capacity, now);
  const tokens = Math.min(capacity, base + Math.max(0, now - from) * rate);
  const updatedAt = Math.max(from, now);
  const pauseWait = Math.max(0, (state?.pausedUntil ?? now) - now);
  // Counted from updatedAt: for a `now` behind it, the next token is due later than (1 - tokens) / rate.
  const tokenWait = tokens >= 1 - EPSILON ? 0 : Math.ceil(updatedAt - now + (1 - tokens) / rate);
  if (pauseWait === 0 && tokenWait === 0) {
    return { granted: true, waitMs: 0, next: { tokens: Math.max(0, tokens - 1), updatedAt } };
  }
  return { granted: false, waitMs: Math.max(pauseWait, tokenWait) };
}

/**
 * Where the refill counts from. A pause newer than the last take empties the
 * bucket and refill restarts when the pause ends, at the steady rate: a
 * dependency that answered 429 gets no burst the moment its Retry-After
 * passes (the in-process TokenBucket behaves the same).
 */
function startingPoint(
  state: BucketState | undefined,
  capacity: number,
  now: number,
): { tokens: number; from: number } {
  const pausedUntil = state?.pausedUntil ?? null;
  if (pausedUntil !== null && (state?.updatedAt == null || pausedUntil > state.updatedAt)) {
    return { tokens: 0, from: pausedUntil };
  }
  if (state?.tokens == null || state.updatedAt == null) return { tokens: capacity, from: now };
  return { tokens: state.tokens, from: state.updatedAt };
}

/**
 * Rejects a bucket shape that could never grant (capacity below one token)
 * or would divide by zero, naming the bucket, before anything is stored.
 */
export function checkBucket(name: string, capacity: number, perMs: number): void {
  if (!Number.isFinite(capacity) || capacity < 1) {
    throw new RangeError(`rate bucket "${name}": expected capacity to be a finite number >= 1, got ${capacity}`);
  }
  if (!Number.isFinite(perMs) || perMs <= 0) {
    throw new RangeError(`rate bucket "${name}": expected perMs to be a finite number > 0, got ${perMs}`);
  }
}
