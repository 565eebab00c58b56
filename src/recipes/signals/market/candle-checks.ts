import { describeBadInterval, parseCandleInterval } from './candle-interval.ts';
import type { Candle, CandleQuery } from './market-data.ts';
import { MarketDataError } from './market-data-error.ts';

const PRICE_FIELDS = ['open', 'high', 'low', 'close'] as const;

/**
 * What is wrong with a candle whose fields were read as numbers, as
 * `<field>: expected ..., got ...`, or undefined when it is sound: every
 * field finite, `volume >= 0`, `low <= min(open, close)`,
 * `high >= max(open, close)`.
 */
export function candleProblem(candle: Candle): string | undefined {
  for (const field of [...PRICE_FIELDS, 'volume'] as const) {
    const value = candle[field];
    if (!Number.isFinite(value)) return `${field}: expected a finite number, got ${String(value)}`;
  }
  const { open, high, low, close, volume } = candle;
  if (volume < 0) return `volume: expected a number >= 0, got ${volume}`;
  if (low > Math.min(open, close)) return `low: expected <= min(open, close) = ${Math.min(open, close)}, got ${low}`;
  if (high < Math.max(open, close)) return `high: expected >= max(open, close) = ${Math.max(open, close)}, got ${high}`;
  return undefined;
}

/** A {@link CandleQuery} checked once at the adapter's door. */
export interface CheckedQuery {
  readonly intervalMs: number;
  readonly limit: number;
  readonly until: number | undefined;
}

/**
 * Checks `query`'s interval, limit and until, throwing a `bad-query`
 * {@link MarketDataError} that names `source` and `symbol`.
 */
export function checkQuery(source: string, symbol: string, query: CandleQuery): CheckedQuery {
  const intervalMs = parseCandleInterval(query.interval);
  if (intervalMs === undefined)
    throw new MarketDataError(source, symbol, 'bad-query', describeBadInterval(query.interval));
  if (!(Number.isInteger(query.limit) && query.limit >= 1)) {
    throw new MarketDataError(
      source,
      symbol,
      'bad-query',
      `limit: expected an integer >= 1, got ${String(query.limit)}`,
    );
  }
  if (query.until !== undefined && !Number.isFinite(query.until)) {
    throw new MarketDataError(source, symbol, 'bad-query', `until: expected epoch ms, got ${String(query.until)}`);
  }
  return { intervalMs, limit: query.limit, until: query.until };
}

/**
 * The last `limit` candles of `candles` (oldest first, strictly increasing
 * `openTime`) that opened at or before `until`. Binary search, so a long
 * replay file costs O(log n) per call plus the copy.
 */
export function lastCandles(candles: readonly Candle[], limit: number, until: number | undefined): Candle[] {
  let end = candles.length;
  if (until !== undefined) {
    let lo = 0;
    let hi = candles.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((candles[mid] as Candle).openTime <= until) lo = mid + 1;
      else hi = mid;
    }
    end = lo;
  }
  return candles.slice(Math.max(0, end - limit), end);
}
