import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  candlesNeeded,
  checkIndicatorSettings,
  computeIndicators,
  DEFAULT_INDICATOR_SETTINGS,
  type IndicatorSnapshot,
} from './indicators.ts';
import type { Candle } from './market/market-data.ts';

// Reference computations, written from the textbook definitions, independent of the library.

/** EMA with k = 2 / (period + 1), started at the first value (the library's convention). */
function refEma(values: readonly number[], period: number): number[] {
  const k = 2 / (period + 1);
  const out: number[] = [];
  let ema = values[0] as number;
  for (const v of values) {
    ema = v * k + ema * (1 - k);
    out.push(ema);
  }
  return out;
}

/** Wilder's RSI: first averages are plain means of the first `period` changes, then (avg * (n - 1) + x) / n. */
function refRsi(values: readonly number[], period: number): number[] {
  const out: number[] = [];
  let gain = 0;
  let loss = 0;
  for (let i = 1; i < values.length; i++) {
    const change = (values[i] as number) - (values[i - 1] as number);
    const g = Math.max(change, 0);
    const l = Math.max(-change, 0);
    if (i <= period) {
      gain += g / period;
      loss += l / period;
      if (i < period) continue;
    } else {
      gain = (gain * (period - 1) + g) / period;
      loss = (loss * (period - 1) + l) / period;
    }
    out.push(loss === 0 ? 100 : 100 - 100 / (1 + gain / loss));
  }
  return out;
}

/** MACD line = EMA(fast) - EMA(slow) from the slow period's first full window on; signal = its EMA; histogram = difference. */
function refMacd(values: readonly number[], fast: number, slow: number, signal: number) {
  const f = refEma(values, fast);
  const s = refEma(values, slow);
  const line = values.map((_, i) => (f[i] as number) - (s[i] as number)).slice(slow - 1);
  const sig = refEma(line, signal);
  const macd = line.at(-1) as number;
  const signalValue = sig.at(-1) as number;
  return { macd, signal: signalValue, histogram: macd - signalValue };
}

/** Middle = SMA of the last `period` values; bands = middle +- k * population standard deviation. */
function refBollinger(values: readonly number[], period: number, k: number) {
  const window = values.slice(-period);
  const mean = window.reduce((a, b) => a + b, 0) / period;
  const sd = Math.sqrt(window.reduce((a, b) => a + (b - mean) ** 2, 0) / period);
  return { upper: mean + k * sd, middle: mean, lower: mean - k * sd };
}

function candlesOf(closes: readonly number[]): Candle[] {
  return closes.map((close, i) => ({ openTime: i * 60_000, open: close, high: close, low: close, close, volume: 1 }));
}

/** A fixed, wavy, trending series (no randomness). */
const CLOSES = Array.from({ length: 60 }, (_, i) => 100 + 10 * Math.sin(i / 5) + 0.3 * i + (((i * 7) % 5) - 2));

function snapshotOf(closes: readonly number[], settings = DEFAULT_INDICATOR_SETTINGS): IndicatorSnapshot {
  const outcome = computeIndicators(candlesOf(closes), settings);
  assert.ok(outcome.ok, outcome.ok ? '' : outcome.reason);
  return outcome.snapshot;
}

function close(actual: number, expected: number, what: string, tolerance = 1e-9): void {
  assert.ok(
    Math.abs(actual - expected) <= tolerance * Math.max(1, Math.abs(expected)),
    `${what}: ${actual} vs ${expected}`,
  );
}

describe('computeIndicators', () => {
  it('matches reference computations of EMA, RSI, MACD and Bollinger bands', () => {
    const s = snapshotOf(CLOSES);
    close(s.emaFast, refEma(CLOSES, 12).at(-1) as number, 'emaFast');
    close(s.emaSlow, refEma(CLOSES, 26).at(-1) as number, 'emaSlow');
    close(s.rsi, refRsi(CLOSES, 14).at(-1) as number, 'rsi');
    const macd = refMacd(CLOSES, 12, 26, 9);
    close(s.macd.macd, macd.macd, 'macd');
    close(s.macd.signal, macd.signal, 'macd signal');
    close(s.macd.histogram, macd.histogram, 'macd histogram');
    const bands = refBollinger(CLOSES, 20, 2);
    close(s.bollinger.upper, bands.upper, 'bollinger upper');
    close(s.bollinger.middle, bands.middle, 'bollinger middle');
    close(s.bollinger.lower, bands.lower, 'bollinger lower');
    assert.equal(s.price, CLOSES.at(-1));
    assert.equal(s.at, 59 * 60_000);
    assert.equal(s.candles, 60);
    assert.deepEqual(JSON.parse(JSON.stringify(s)), s, 'plain JSON-safe data');
  });

  it("matches Wilder's RSI as published (StockCharts' 14-day example, within its rounding)", () => {
    // StockCharts "RSI" ChartSchool table: the closes and the RSI it prints from the 15th close on.
    // Its spreadsheet rounds the averages to 4 places, so its figures differ from exact ones by up to ~0.07.
    const closes = [
      44.34, 44.09, 44.15, 43.61, 44.33, 44.83, 45.1, 45.42, 45.84, 46.08, 45.89, 46.03, 45.61, 46.28, 46.28, 46.0,
      46.03, 46.41, 46.22, 45.64, 46.21, 46.25, 45.71, 46.45, 45.78, 45.35, 44.03, 44.18, 44.22, 44.57, 43.42, 42.66,
      43.13,
    ];
    const published = [
      70.53, 66.32, 66.55, 69.41, 66.36, 57.97, 62.93, 63.26, 56.06, 62.38, 54.71, 50.42, 39.99, 41.46, 41.87, 45.46,
      37.3, 33.08, 37.77,
    ];
    const settings = {
      ...DEFAULT_INDICATOR_SETTINGS,
      emaFast: 2,
      emaSlow: 3,
      macd: { fast: 2, slow: 3, signal: 2 },
      bollinger: { period: 2, deviations: 2 },
    };
    for (let end = 15; end <= closes.length; end++) {
      const rsi = snapshotOf(closes.slice(0, end), settings).rsi;
      const expected = published[end - 15] as number;
      assert.ok(Math.abs(rsi - expected) < 0.1, `RSI after close ${end}: ${rsi.toFixed(2)} vs published ${expected}`);
      close(rsi, refRsi(closes.slice(0, end), 14).at(-1) as number, `RSI after close ${end} vs reference`);
    }
  });

  it('says how many candles it needs when given too few', () => {
    assert.equal(candlesNeeded(), 34);
    const outcome = computeIndicators(candlesOf(CLOSES.slice(0, 33)));
    assert.deepEqual(outcome, {
      ok: false,
      needed: 34,
      got: 33,
      reason: 'indicators: need at least 34 candles, got 33',
    });
    assert.equal(computeIndicators(candlesOf(CLOSES.slice(0, 34))).ok, true);
    assert.equal(computeIndicators([]).ok, false);
  });

  it('reports an EMA cross only on the candle where it happens', () => {
    const falling = Array.from({ length: 60 }, (_, i) => 200 - i / 3);
    const spikeUp = [...falling, 300];
    assert.equal(snapshotOf(falling).emaCross, 'none');
    const up = snapshotOf(spikeUp);
    assert.equal(up.emaCross, 'up');
    assert.ok(up.emaFast > up.emaSlow);
    assert.equal(snapshotOf([...spikeUp, 300]).emaCross, 'none', 'the next candle is not a cross any more');

    const rising = Array.from({ length: 60 }, (_, i) => 100 + i / 3);
    const down = snapshotOf([...rising, 1]);
    assert.equal(down.emaCross, 'down');
    assert.ok(down.emaFast < down.emaSlow);
  });

  it('takes other periods, and refuses bad ones naming the field', () => {
    const settings = checkIndicatorSettings({ ...DEFAULT_INDICATOR_SETTINGS, emaFast: 9, emaSlow: 21 });
    assert.equal(candlesNeeded(settings), 34);
    const s = snapshotOf(CLOSES, settings);
    close(s.emaFast, refEma(CLOSES, 9).at(-1) as number, 'ema 9');
    close(s.emaSlow, refEma(CLOSES, 21).at(-1) as number, 'ema 21');
    assert.throws(
      () => checkIndicatorSettings({ ...DEFAULT_INDICATOR_SETTINGS, emaFast: 30 }),
      /indicators\.emaFast: expected less than emaSlow \(26\), got 30/,
    );
    assert.throws(
      () => checkIndicatorSettings({ ...DEFAULT_INDICATOR_SETTINGS, rsi: 1.5 }),
      /indicators\.rsi: expected an integer >= 2 \(candles\), got 1\.5/,
    );
    assert.throws(
      () => checkIndicatorSettings({ ...DEFAULT_INDICATOR_SETTINGS, bollinger: { period: 20, deviations: 0 } }),
      /indicators\.bollinger\.deviations: expected a number > 0, got 0/,
    );
  });

  it('refuses a close that is not a number, naming its index', () => {
    const candles = candlesOf(CLOSES);
    candles[7] = { ...(candles[7] as Candle), close: Number.NaN };
    assert.throws(
      () => computeIndicators(candles),
      /indicators: candles\[7\]\.close: expected a finite number, got NaN/,
    );
  });
});
