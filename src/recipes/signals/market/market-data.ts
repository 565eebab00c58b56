/**
 * The market data port of the `signals` recipe: OHLCV candles for a symbol.
 * Adapters: {@link ReplayFeed} (CSV/JSON files), {@link SimulatedFeed}
 * (seeded, offline) and {@link HttpCandles} (public exchange REST endpoints).
 */

/**
 * One OHLCV candle. Prices are in the quote currency, `volume` in the base
 * currency (what exchanges report). Every field is a finite number; the
 * adapters check `low <= min(open, close)`, `high >= max(open, close)` and
 * `volume >= 0` before a candle leaves them.
 */
export interface Candle {
  /** Start of the candle's interval, epoch milliseconds (UTC). */
  readonly openTime: number;
  readonly open: number;
  readonly high: number;
  readonly low: number;
  readonly close: number;
  readonly volume: number;
}

/** What {@link MarketData.candles} is asked for. */
export interface CandleQuery {
  /** Candle width: `<n>m`, `<n>h`, `<n>d` or `<n>w`, e.g. `'1m'`, `'15m'`, `'1h'`, `'1d'` (see parseCandleInterval). */
  readonly interval: string;
  /** At most this many candles, the most recent ones. An integer >= 1. */
  readonly limit: number;
  /**
   * Epoch ms: only candles that opened at or before this instant. The
   * recipe passes the cycle's tick, so a replay advances with the (virtual)
   * clock and a simulated feed is a pure function of the tick. The last
   * candle may still be forming on a live source; a replay returns it whole,
   * as recorded. Omitted: the source's latest (the injected clock's now for
   * the simulated feed).
   */
  readonly until?: number;
  /** Aborts the request; the promise then rejects with the signal's reason. */
  readonly signal?: AbortSignal;
}

/**
 * A source of candles.
 *
 * `candles` resolves with at most `limit` candles, oldest first, strictly
 * increasing `openTime`, each aligned to the interval as the source reports
 * it. Fewer than `limit` (even none) is a valid answer: a young market or a
 * short replay file; the indicators say how many they need.
 *
 * It rejects with
 * - a {@link MarketDataError} naming the source, the symbol and what went
 *   wrong: `problem` says which kind (`unknown-symbol`, `bad-query`,
 *   `bad-data`, `unavailable`, `timeout`); `retryable` says whether asking
 *   again may help;
 * - a {@link MarketDataRateLimitedError} (a `RateLimitedError`, so the
 *   runtime pauses the dependency's rate limit for `retryAfterMs`) when the
 *   source said "too many requests";
 * - the signal's reason when `signal` aborts.
 *
 * Deliberately left out: connections, API keys and authenticated endpoints,
 * order books, trades, websockets, caching across calls (beyond a replay
 * file parsed once), and currency conversion (a symbol is whatever the
 * source maps it to).
 *
 * @example
 * const candles = await market.candles('BTC/USD', { interval: '1m', limit: 100, until: tick, signal });
 */
export interface MarketData {
  /**
   * Where the candles come from, for people: shown next to every signal,
   * e.g. `binance https://api.binance.com`, `replay ./data`,
   * `simulated random walk (seed 42)`.
   */
  readonly description: string;
  /** True when the candles are made up (the simulated feed). Surfaces must label such signals. */
  readonly simulated: boolean;
  candles(symbol: string, query: CandleQuery): Promise<Candle[]>;
}
