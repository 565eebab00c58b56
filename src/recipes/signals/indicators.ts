import { BollingerBands, EMA, hasCrossedOver, hasCrossedUnder, MACD, RSI } from 'trading-signals';
import type { Candle } from './market/market-data.ts';

/** Periods of the built-in indicators, in candles. */
export interface IndicatorSettings {
  /** Fast and slow EMA of the crossover. */
  readonly emaFast: number;
  readonly emaSlow: number;
  /** Wilder's RSI period. */
  readonly rsi: number;
  /** MACD: fast EMA, slow EMA, and the signal line's EMA of the MACD line. */
  readonly macd: { readonly fast: number; readonly slow: number; readonly signal: number };
  /** Bollinger bands: SMA period and how many (population) standard deviations wide. */
  readonly bollinger: { readonly period: number; readonly deviations: number };
}

/** The usual periods: EMA 12/26, RSI 14, MACD 12/26/9, Bollinger 20 x 2 (seed 002 names none). */
export const DEFAULT_INDICATOR_SETTINGS: IndicatorSettings = Object.freeze({
  emaFast: 12,
  emaSlow: 26,
  rsi: 14,
  macd: Object.freeze({ fast: 12, slow: 26, signal: 9 }),
  bollinger: Object.freeze({ period: 20, deviations: 2 }),
});

/**
 * The indicators at the last candle, plain numbers, JSON-safe. This is what
 * the analyser scores and what an LLM prompt shows.
 */
export interface IndicatorSnapshot {
  /** Close of the last candle. */
  readonly price: number;
  /** `openTime` of the last candle, epoch ms. */
  readonly at: number;
  /** Candles the values were computed from. */
  readonly candles: number;
  readonly emaFast: number;
  readonly emaSlow: number;
  /** `up`: the fast EMA crossed above the slow one on the last candle; `down`: below; `none`: no cross on it. */
  readonly emaCross: 'up' | 'down' | 'none';
  /** 0..100. */
  readonly rsi: number;
  readonly macd: { readonly macd: number; readonly signal: number; readonly histogram: number };
  readonly bollinger: { readonly upper: number; readonly middle: number; readonly lower: number };
}

/** A snapshot, or why there is none: too few candles, with how many are needed. */
export type IndicatorOutcome =
  | { readonly ok: true; readonly snapshot: IndicatorSnapshot }
  | { readonly ok: false; readonly needed: number; readonly got: number; readonly reason: string };

/**
 * Candles {@link computeIndicators} needs at least: each indicator's own
 * warm-up (slow EMA + 1 to see a cross on the last candle, RSI period + 1,
 * MACD slow + signal - 1, the Bollinger period). 34 with the defaults.
 * More is better for the EMAs: the library starts an EMA at the first
 * price, so early values carry that start; the recipe asks for 100.
 */
export function candlesNeeded(settings: IndicatorSettings = DEFAULT_INDICATOR_SETTINGS): number {
  const { emaFast, emaSlow, rsi, macd, bollinger } = settings;
  return Math.max(
    emaFast + 1,
    emaSlow + 1,
    rsi + 1,
    Math.max(macd.fast, macd.slow) + macd.signal - 1,
    bollinger.period,
  );
}

/**
 * Checks settings once, where they are configured: every period an integer
 * >= 2, each fast period below its slow one, deviations > 0. Throws a
 * RangeError naming the field.
 *
 * @example
 * const settings = checkIndicatorSettings({ ...DEFAULT_INDICATOR_SETTINGS, emaFast: 9, emaSlow: 21 });
 */
export function checkIndicatorSettings(settings: IndicatorSettings): IndicatorSettings {
  const periods: [string, number][] = [
    ['emaFast', settings.emaFast],
    ['emaSlow', settings.emaSlow],
    ['rsi', settings.rsi],
    ['macd.fast', settings.macd.fast],
    ['macd.slow', settings.macd.slow],
    ['macd.signal', settings.macd.signal],
    ['bollinger.period', settings.bollinger.period],
  ];
  for (const [field, value] of periods) {
    if (!(Number.isInteger(value) && value >= 2)) {
      throw new RangeError(`indicators.${field}: expected an integer >= 2 (candles), got ${String(value)}`);
    }
  }
  if (settings.emaFast >= settings.emaSlow) {
    throw new RangeError(
      `indicators.emaFast: expected less than emaSlow (${settings.emaSlow}), got ${settings.emaFast}`,
    );
  }
  if (settings.macd.fast >= settings.macd.slow) {
    throw new RangeError(
      `indicators.macd.fast: expected less than macd.slow (${settings.macd.slow}), got ${settings.macd.fast}`,
    );
  }
  const { deviations } = settings.bollinger;
  if (!(Number.isFinite(deviations) && deviations > 0)) {
    throw new RangeError(`indicators.bollinger.deviations: expected a number > 0, got ${String(deviations)}`);
  }
  return settings;
}

/**
 * Computes EMA crossover, RSI, MACD and Bollinger bands over the closes of
 * `candles` (oldest first) with the `trading-signals` library (plain
 * numbers; its streaming indicators, fed once per call). Pure: the same
 * candles give the same snapshot.
 *
 * Fewer candles than {@link candlesNeeded} -> `{ ok: false, needed, got }`,
 * not an exception: a young market or a short replay is an expected state.
 * A close that is not a finite number throws a TypeError naming its index
 * (the market adapters never give one).
 *
 * @example
 * const outcome = computeIndicators(candles);
 * if (!outcome.ok) return fail(outcome.reason); // "indicators: need at least 34 candles, got 20"
 * analyse(outcome.snapshot);
 */
export function computeIndicators(
  candles: readonly Candle[],
  settings: IndicatorSettings = DEFAULT_INDICATOR_SETTINGS,
): IndicatorOutcome {
  const needed = candlesNeeded(settings);
  const n = candles.length;
  if (n < needed) {
    return { ok: false, needed, got: n, reason: `indicators: need at least ${needed} candles, got ${n}` };
  }
  const fast = new EMA(settings.emaFast);
  const slow = new EMA(settings.emaSlow);
  const rsi = new RSI(settings.rsi);
  const macd = new MACD(new EMA(settings.macd.fast), new EMA(settings.macd.slow), new EMA(settings.macd.signal));
  const bands = new BollingerBands(settings.bollinger.period, settings.bollinger.deviations);
  // Bollinger bands depend on the last `period` closes only; feeding just those saves the library's
  // per-update array copies over the rest.
  const bandsFrom = n - settings.bollinger.period;
  let fastBefore = 0;
  let slowBefore = 0;
  for (let i = 0; i < n; i++) {
    const close = (candles[i] as Candle).close;
    if (!Number.isFinite(close))
      throw new TypeError(`indicators: candles[${i}].close: expected a finite number, got ${close}`);
    if (i === n - 1) {
      fastBefore = fast.getResultOrThrow();
      slowBefore = slow.getResultOrThrow();
    }
    fast.add(close);
    slow.add(close);
    rsi.add(close);
    macd.add(close);
    if (i >= bandsFrom) bands.add(close);
  }
  const last = candles[n - 1] as Candle;
  const emaFast = fast.getResultOrThrow();
  const emaSlow = slow.getResultOrThrow();
  const m = macd.getResultOrThrow();
  const b = bands.getResultOrThrow();
  const emaCross = hasCrossedOver(fastBefore, slowBefore, emaFast, emaSlow)
    ? 'up'
    : hasCrossedUnder(fastBefore, slowBefore, emaFast, emaSlow)
      ? 'down'
      : 'none';
  return {
    ok: true,
    snapshot: {
      price: last.close,
      at: last.openTime,
      candles: n,
      emaFast,
      emaSlow,
      emaCross,
      rsi: rsi.getResultOrThrow(),
      macd: { macd: m.macd, signal: m.signal, histogram: m.histogram },
      bollinger: { upper: b.upper, middle: b.middle, lower: b.lower },
    },
  };
}
