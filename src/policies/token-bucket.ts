/**
 * An in-process token bucket: `capacity` tokens, refilled continuously at
 * `capacity` per `perMs` (config `rateLimit: { requests: 100, per: 1m }` is
 * `{ capacity: 100, perMs: 60_000 }`). It starts full, so a loop may burst
 * up to `capacity` calls, and never exceeds `capacity + elapsed * rate`.
 *
 * Algorithm, and why:
 * - Tokens are a number computed lazily from the monotonic clock at each
 *   call (no refill timer), so an idle bucket costs nothing.
 * - Waiters queue FIFO. One timer at most, set for the moment the head
 *   waiter's token is due; when it fires, as many waiters as there are
 *   whole tokens are granted in order, and the timer is set again for the
 *   next. `tryTake` does not jump the queue: with waiters queued it refuses
 *   and says how long the caller would wait behind them.
 * - `pause(untilMs)` (a 429's Retry-After) empties the bucket and stops the
 *   refill until then: the server just told us our local credit is wrong,
 *   so after the pause we restart at the steady rate instead of bursting
 *   into a second 429. A pause never shortens one already in force.
 * - An aborted waiter is removed at once and consumes nothing.
 */
import { abortReason, type Clock, type TimerHandle } from '../time/clock.ts';
import { checkInteger, checkNumber } from './check-option.ts';
import type { RateLimiter } from './rate-limiter.ts';

export interface TokenBucketOptions {
  /** Tokens the bucket holds when full: the largest burst. Integer >= 1. */
  capacity: number;
  /** Time to refill `capacity` tokens from empty, in ms. */
  perMs: number;
}

/** What {@link TokenBucket.tryTake} returns: granted now, or how long until it would be. */
export type TokenGrant =
  | { readonly granted: true; readonly waitMs: 0 }
  | { readonly granted: false; readonly waitMs: number };

interface Waiter {
  readonly resolve: () => void;
  readonly reject: (reason: unknown) => void;
  readonly signal: AbortSignal | undefined;
  readonly onAbort: () => void;
}

/** Tolerates float drift in the refill arithmetic: 0.9999999999 tokens is a token. */
const EPSILON = 1e-9;

/**
 * @example
 * const bucket = new TokenBucket({ capacity: 100, perMs: 60_000 }, clock);
 * await bucket.take(signal); // resolves at once while tokens last, then one every 600 ms
 */
export class TokenBucket implements RateLimiter {
  readonly #clock: Clock;
  readonly #capacity: number;
  /** Tokens per ms. */
  readonly #rate: number;
  #tokens: number;
  /** Monotonic ms up to which `#tokens` is accounted for. */
  #refilledAt: number;
  /** Monotonic ms before which nothing refills or is granted. */
  #pausedUntil = Number.NEGATIVE_INFINITY;
  readonly #waiters: Waiter[] = [];
  #timer: TimerHandle | null = null;

  constructor(options: TokenBucketOptions, clock: Clock) {
    this.#capacity = checkInteger('capacity', options.capacity, { min: 1 });
    this.#rate = this.#capacity / checkNumber('perMs', options.perMs, { above: 0 });
    this.#clock = clock;
    this.#tokens = this.#capacity;
    this.#refilledAt = clock.monotonic();
  }

  /** Whole tokens available now (0 while paused). */
  get available(): number {
    this.#refill();
    return Math.floor(this.#tokens + EPSILON);
  }

  /** Callers waiting in `take`. */
  get waiting(): number {
    return this.#waiters.length;
  }

  /** Takes a token if one is free and nobody is queued; otherwise says how long until one would be. */
  tryTake(): TokenGrant {
    this.#refill();
    if (this.#waiters.length === 0 && this.#tokens + EPSILON >= 1) {
      this.#tokens -= 1;
      return { granted: true, waitMs: 0 };
    }
    return { granted: false, waitMs: this.#msUntil(this.#waiters.length + 1) };
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
    const now = this.#clock.monotonic();
    this.#refill();
    this.#tokens = 0;
    this.#pausedUntil = Math.max(this.#pausedUntil, now + (untilMs - this.#clock.now()));
    this.#schedule();
  }

  #refill(): void {
    const now = this.#clock.monotonic();
    const from = Math.max(this.#refilledAt, this.#pausedUntil);
    if (now > from) this.#tokens = Math.min(this.#capacity, this.#tokens + (now - from) * this.#rate);
    this.#refilledAt = Math.max(this.#refilledAt, now);
  }

  /** Ms until `n` tokens will have accumulated (after any pause). Call right after `#refill`. */
  #msUntil(n: number): number {
    const now = this.#clock.monotonic();
    const pauseLeft = Math.max(0, this.#pausedUntil - now);
    const missing = Math.max(0, n - this.#tokens - EPSILON);
    return Math.ceil(pauseLeft + missing / this.#rate);
  }

  /** (Re)sets the single timer for the head waiter's token. */
  #schedule(): void {
    this.#timer?.cancel();
    this.#timer = null;
    if (this.#waiters.length === 0) return;
    this.#refill();
    this.#timer = this.#clock.setTimer(this.#msUntil(1), () => {
      this.#timer = null;
      this.#grantDue();
    });
  }

  #grantDue(): void {
    this.#refill();
    while (this.#waiters.length > 0 && this.#tokens + EPSILON >= 1) {
      const waiter = this.#waiters.shift() as Waiter;
      this.#tokens -= 1;
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
