import { TerminalError } from '../core/errors.ts';
import { isRetryOutcome, type RetryOutcome, RetryRequestedError } from '../core/outcome.ts';
import type { Clock } from '../time/clock.ts';
import { type BackoffSchedule, backoffDelay, checkBackoffSchedule } from './backoff.ts';
import { checkInteger } from './check-option.ts';

/** A failed attempt about to be retried, as told to {@link RetryOptions.onRetry}. */
export interface RetryNotice {
  /** The attempt that failed; 1 for the first. */
  readonly attempt: number;
  /** The wait before the next attempt. */
  readonly delayMs: number;
  /** What the attempt failed with: what it threw, or a {@link RetryRequestedError} when it returned `retryAfter`. */
  readonly error: unknown;
}

export interface RetryOptions {
  /** Total attempts including the first: an integer >= 1, or `Infinity` to retry until success, a final error or abort. */
  readonly attempts: number;
  /** The waits between attempts, unless an attempt asked for its own with `retryAfter`. */
  readonly backoff: BackoffSchedule;
  /** Every wait is a `clock.sleep`. */
  readonly clock: Clock;
  /** A source in [0, 1) for the jitter. Default `Math.random`. */
  readonly random?: () => number;
  /**
   * Once aborted, a failed attempt is not retried, and a wait in progress
   * rejects at once with the signal's reason. The operation does not get it:
   * pass it (or a child of it) to the operation yourself.
   */
  readonly signal?: AbortSignal;
  /** True when `error` must not be retried. Default: it is a `TerminalError`. */
  readonly isFinal?: (error: unknown) => boolean;
  /** Called once per retry, before its wait (emit an event, log). */
  readonly onRetry?: (notice: RetryNotice) => void;
}

/**
 * Runs `operation` until it succeeds, with at most `attempts` attempts and a
 * wait on the clock between them: the backoff's delay, or exactly the delay
 * an attempt asked for by returning `retryAfter(ms)`.
 *
 * The attempt states: run → (result) resolved | (failure) final? → rejected
 * | wait → run. A failure is final when `isFinal(error)` holds, the attempts
 * are used up, or the signal aborted; the promise then rejects with that
 * failure (for a `retryAfter` with none left, a {@link RetryRequestedError}
 * that says so). A wait ends early only by the signal, rejecting with its
 * reason. No timers outlive the call: each wait is one `clock.sleep`.
 *
 * @param operation gets the attempt number (1 for the first).
 * @example
 * // Executing a decision: three attempts, 200 ms then 400 ms ceilings, full jitter.
 * const receipt = await retry(() => broker.place(order, { signal }), {
 *   attempts: 3,
 *   backoff: { initialMs: 200, maxMs: 5_000 },
 *   clock,
 *   signal,
 *   onRetry: ({ attempt, delayMs, error }) => log.warn({ attempt, delayMs, error }, 'order retried'),
 * });
 */
export async function retry<T>(
  operation: (attempt: number) => T | Promise<T>,
  options: RetryOptions,
): Promise<Exclude<T, RetryOutcome>> {
  const attempts = options.attempts === Number.POSITIVE_INFINITY ? options.attempts : checkAttempts(options.attempts);
  const backoff = checkBackoffSchedule(options.backoff);
  const isFinal = options.isFinal ?? isTerminal;
  const { clock, signal } = options;
  for (let attempt = 1; ; attempt++) {
    let failure: { error: unknown; asked: RetryOutcome | null };
    try {
      const value = await operation(attempt);
      if (!isRetryOutcome(value)) return value as Exclude<T, RetryOutcome>;
      failure = { error: new RetryRequestedError(value), asked: value };
    } catch (error) {
      failure = { error, asked: null };
    }
    if (attempt >= attempts) throw failure.asked ? new RetryRequestedError(failure.asked, attempt) : failure.error;
    if (signal?.aborted || isFinal(failure.error)) throw failure.error;
    const delayMs = failure.asked ? failure.asked.afterMs : backoffDelay(backoff, attempt, options.random);
    options.onRetry?.({ attempt, delayMs, error: failure.error });
    await clock.sleep(delayMs, signal);
  }
}

function isTerminal(error: unknown): boolean {
  return error instanceof TerminalError;
}

function checkAttempts(value: number): number {
  return checkInteger('attempts', value, { min: 1 });
}
