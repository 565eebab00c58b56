/**
 * Outcomes are values (STYLE.md #4): besides returning a result or throwing,
 * an act may return an outcome that tells the runtime what to do next. For
 * now there is one, `retryAfter`: try this item again after a given delay.
 *
 * Outcomes are branded with a registered symbol, so a plain result that
 * happens to look like `{ kind: 'retry', afterMs: 5 }` is stored as a result,
 * never mistaken for a request.
 */
import { type Duration, parseDuration } from '../time/duration.ts';
import { AutoloopError } from './errors.ts';

const OUTCOME = Symbol.for('autoloop.outcome');

/** Made by {@link retryAfter}: the attempt failed on purpose and the next one should start after `afterMs`. */
export interface RetryOutcome {
  readonly kind: 'retry';
  readonly afterMs: number;
  /** Why, in the act's words; recorded with the retry. */
  readonly reason: string | undefined;
  readonly [OUTCOME]: true;
}

/**
 * Returned by an act (instead of a result) to ask for another attempt after
 * exactly `after`, instead of the loop's backoff. It counts as a failed
 * attempt: `item.retried` is emitted with `delayMs` = `after`, and the
 * attempts stay bounded by `policies.retry.attempts` (default 1: with the
 * default, the item fails at once). When no attempt is left the item fails
 * with a {@link RetryRequestedError} saying so. The attempt's latency still
 * counts as a success for the loop's dependencies (they answered; the act
 * chose to wait).
 *
 * Like controller-runtime's `RequeueAfter`, it suits "not ready yet":
 * a job still running elsewhere, a file not written yet.
 *
 * @param after milliseconds or a duration string ("30s").
 * @param reason recorded with the retry and, if none is left, the failure.
 * @example
 * act: async (item, { signal }) => {
 *   const job = await getJob(item.key, { signal });
 *   if (job.state === 'running') return retryAfter('30s', `job ${job.id} still running`);
 *   return job.result;
 * },
 * policies: { retry: { attempts: 10 } },
 */
export function retryAfter(after: Duration, reason?: string): RetryOutcome {
  const afterMs = parseDuration(after);
  if (afterMs === undefined || !Number.isFinite(afterMs)) {
    throw new RangeError(
      `Expected \`after\` to be a duration (ms >= 0, or a string like "30s"), got \`${String(after)}\` (${typeof after})`,
    );
  }
  // The brand is not enumerable: logs, deep-equality and spreads see plain `{ kind, afterMs, reason }`.
  const outcome = Object.defineProperty({ kind: 'retry', afterMs, reason }, OUTCOME, { value: true });
  return Object.freeze(outcome) as RetryOutcome;
}

/** True when `value` was made by {@link retryAfter}. */
export function isRetryOutcome(value: unknown): value is RetryOutcome {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as Partial<RetryOutcome>)[OUTCOME] === true &&
    (value as Partial<RetryOutcome>).kind === 'retry'
  );
}

/**
 * An attempt that returned {@link retryAfter}: the error it is retried with,
 * and the one its item fails with when no attempt is left (then the message
 * says how many were used).
 */
export class RetryRequestedError extends AutoloopError {
  override name = 'RetryRequestedError';
  readonly afterMs: number;
  readonly reason: string | undefined;

  /** @param attemptsUsed set when no attempt is left. */
  constructor(outcome: RetryOutcome, attemptsUsed?: number) {
    const why = outcome.reason ? ` (${outcome.reason})` : '';
    const end = attemptsUsed === undefined ? '' : `, but no attempt is left (${attemptsUsed} used)`;
    super(`asked for a retry after ${outcome.afterMs} ms${why}${end}`);
    this.afterMs = outcome.afterMs;
    this.reason = outcome.reason;
  }
}

/** Made by {@link skipItem}: the item is not done now, on purpose, and says why. */
export interface SkipOutcome {
  readonly kind: 'skip';
  readonly reason: string;
  readonly [OUTCOME]: true;
}

/**
 * Returned by an act (instead of a result) to end its item as `skipped`
 * with `reason`, neither succeeded nor failed: the work was not started on
 * purpose (a cycle's time budget ran out, the work turned out to be done
 * already). `item.skipped` is emitted with the reason, the item's result is
 * stored with status `skipped`, and the cycle does not count it as failed.
 * Nothing is retried; planning the work again is the loop's business (a
 * level-triggered loop plans it again next cycle).
 *
 * @example
 * act: async (item, ctx) => (budget.spent() ? skipItem('cycle budget of 2h used up') : collect(item, ctx)),
 */
export function skipItem(reason: string): SkipOutcome {
  const outcome = Object.defineProperty({ kind: 'skip', reason }, OUTCOME, { value: true });
  return Object.freeze(outcome) as SkipOutcome;
}

/** True when `value` was made by {@link skipItem}. */
export function isSkipOutcome(value: unknown): value is SkipOutcome {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as Partial<SkipOutcome>)[OUTCOME] === true &&
    (value as Partial<SkipOutcome>).kind === 'skip'
  );
}
