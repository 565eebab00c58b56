import { AutoloopError, RateLimitedError } from '../../../core/errors.ts';

/**
 * What kind of failure a {@link MarketDataError} is:
 * - `unknown-symbol`: the source has no such symbol (no file, no mapping, the exchange said so);
 * - `bad-query`: the source cannot answer this query (an interval it does not offer, a bad limit);
 * - `bad-data`: the source answered with something that is not candles (bad row, malformed body);
 * - `unavailable`: the source did not answer usefully (network error, HTTP 5xx or another status);
 * - `timeout`: no answer within the adapter's own per-request timeout.
 */
export type MarketDataProblem = 'unknown-symbol' | 'bad-query' | 'bad-data' | 'unavailable' | 'timeout';

const RETRYABLE: ReadonlySet<MarketDataProblem> = new Set(['unavailable', 'timeout']);

/**
 * A market data source failed for one symbol. The message follows the
 * project's template: `<source>: <symbol>: <what went wrong>`, naming the
 * file and line, or the URL (never its credentials), where it happened.
 *
 * @example
 * catch (error) {
 *   if (error instanceof MarketDataError && !error.retryable) throw new TerminalError(error.message, { cause: error });
 * }
 */
export class MarketDataError extends AutoloopError {
  override name = 'MarketDataError';
  constructor(
    /** The adapter's short name and where it reads: `replay ./data`, `binance https://api.binance.com`. */
    readonly source: string,
    readonly symbol: string,
    readonly problem: MarketDataProblem,
    /** What went wrong, where: `BTC-USD.csv:12: column close: expected a number, got "abc"`. */
    readonly detail: string,
    options?: { cause?: unknown },
  ) {
    super(`${source}: ${symbol}: ${detail}`, options);
  }

  /** Whether asking again later may succeed (`unavailable`, `timeout`); the rest need a fix first. */
  get retryable(): boolean {
    return RETRYABLE.has(this.problem);
  }
}

/**
 * The source answered HTTP 429. A `RateLimitedError`, so the runtime pauses
 * the dependency's rate limit for `retryAfterMs` (from `Retry-After`, or
 * the adapter's default) and retries the attempt per policy.
 */
export class MarketDataRateLimitedError extends RateLimitedError {
  override name = 'MarketDataRateLimitedError';
  constructor(
    readonly source: string,
    readonly symbol: string,
    /** The request's URL (adapters keep credentials out of URLs). */
    readonly url: string,
    retryAfterMs: number,
    /** True when the wait came from the response's `Retry-After` header, false when it is the adapter's default. */
    readonly retryAfterFromHeader: boolean,
  ) {
    super(
      `${source}: ${symbol}: rate limited (HTTP 429) at ${url}; retry after ${retryAfterMs} ms${retryAfterFromHeader ? ' (Retry-After)' : ' (default, no Retry-After)'}`,
      retryAfterMs,
    );
  }
}
