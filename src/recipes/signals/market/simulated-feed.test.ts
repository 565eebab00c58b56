import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { VirtualClock } from '../../../time/virtual-clock.ts';
import { candleProblem } from './candle-checks.ts';
import type { Candle } from './market-data.ts';
import { MarketDataError } from './market-data-error.ts';
import { SimulatedFeed } from './simulated-feed.ts';

const T = Date.UTC(2026, 2, 14, 9, 26, 53);
const MINUTE = 60_000;

function logReturns(candles: readonly Candle[], lag: number): number[] {
  const out: number[] = [];
  for (let i = lag; i < candles.length; i++)
    out.push(Math.log((candles[i] as Candle).close / (candles[i - lag] as Candle).close));
  return out;
}

function std(values: readonly number[]): number {
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  return Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / values.length);
}

describe('SimulatedFeed', () => {
  const clock = new VirtualClock({ now: T });

  it('says it is simulated', () => {
    const feed = new SimulatedFeed({ clock, seed: 42 });
    assert.equal(feed.simulated, true);
    assert.match(feed.description, /simulated/);
    assert.match(feed.description, /seed 42/);
  });

  it('is deterministic per seed and symbol, and differs across them', async () => {
    const query = { interval: '1m', limit: 50, until: T };
    const a = await new SimulatedFeed({ clock, seed: 42 }).candles('BTC/USD', query);
    const b = await new SimulatedFeed({ clock, seed: 42 }).candles('BTC/USD', query);
    const otherSeed = await new SimulatedFeed({ clock, seed: 43 }).candles('BTC/USD', query);
    const otherSymbol = await new SimulatedFeed({ clock, seed: 42 }).candles('ETH/USD', query);
    assert.deepEqual(a, b);
    assert.notDeepEqual(
      a.map((c) => c.close),
      otherSeed.map((c) => c.close),
    );
    assert.notDeepEqual(
      a.map((c) => c.close / (a[0] as Candle).close),
      otherSymbol.map((c) => c.close / (otherSymbol[0] as Candle).close),
    );
  });

  it('aligns candles to the interval; the last one contains `until`', async () => {
    const feed = new SimulatedFeed({ clock, seed: 7 });
    const candles = await feed.candles('SOL/USD', { interval: '5m', limit: 12, until: T });
    assert.equal(candles.length, 12);
    const last = candles.at(-1) as Candle;
    assert.equal(last.openTime % (5 * MINUTE), 0);
    assert.ok(last.openTime <= T && T < last.openTime + 5 * MINUTE);
    for (let i = 1; i < candles.length; i++) {
      assert.equal((candles[i] as Candle).openTime - (candles[i - 1] as Candle).openTime, 5 * MINUTE);
      assert.equal(
        (candles[i] as Candle).open,
        (candles[i - 1] as Candle).close,
        'each candle opens at the previous close',
      );
    }
  });

  it('keeps history: a later query repeats the earlier candles exactly', async () => {
    const feed = new SimulatedFeed({ clock, seed: 7 });
    const first = await feed.candles('LINK/USD', { interval: '1m', limit: 30, until: T });
    const later = await feed.candles('LINK/USD', { interval: '1m', limit: 40, until: T + 10 * MINUTE });
    assert.deepEqual(later.slice(0, 30), first);
  });

  it('takes "now" from the injected clock when there is no `until`', async () => {
    const virtual = new VirtualClock({ now: T });
    const feed = new SimulatedFeed({ clock: virtual, seed: 1 });
    const atT = await feed.candles('BTC/USD', { interval: '1m', limit: 3 });
    await virtual.advance(2 * MINUTE);
    const later = await feed.candles('BTC/USD', { interval: '1m', limit: 3 });
    assert.equal((later.at(-1) as Candle).openTime - (atT.at(-1) as Candle).openTime, 2 * MINUTE);
    assert.deepEqual(atT, await feed.candles('BTC/USD', { interval: '1m', limit: 3, until: T }));
  });

  it('gives sound candles at plausible levels', async () => {
    const feed = new SimulatedFeed({ clock, seed: 3, basePrices: { ZZZ: 42 } });
    const levels: Record<string, [number, number]> = {
      'BTC/USD': [60_000 / 3, 60_000 * 3],
      'ETH/USD': [3_000 / 3, 3_000 * 3],
      'DOGE/USD': [0.05, 0.45],
      'ETH/BTC': [0.05 / 3, 0.05 * 3],
      'ZZZ/USD': [14, 126],
      'NEVERHEARD/USD': [0.1 / 3, 1000 * 3],
    };
    for (const [symbol, [low, high]] of Object.entries(levels)) {
      const candles = await feed.candles(symbol, { interval: '1m', limit: 500, until: T });
      for (const c of candles) {
        assert.equal(candleProblem(c), undefined, `${symbol} ${JSON.stringify(c)}`);
        assert.ok(c.close > low && c.close < high, `${symbol}: ${c.close} not in (${low}, ${high})`);
        assert.ok(c.volume > 0);
      }
    }
  });

  it('moves like a random walk of the configured size', async () => {
    const feed = new SimulatedFeed({ clock, seed: 11, volatility: 0.002 });
    const candles = await feed.candles('AAVE/USD', { interval: '1m', limit: 4000, until: T });
    const step = std(logReturns(candles, 1));
    assert.ok(step > 0.002 / 3 && step < 0.002 * 3, `per-candle move ${step}`);
    // Increments spread with the lag (about sqrt(lag) for a random walk): over 64 candles, several times one candle's.
    const ratio = std(logReturns(candles, 64)) / step;
    assert.ok(ratio > 3 && ratio < 20, `lag-64 / lag-1 spread ratio ${ratio}`);
  });

  it('refuses bad options and bad queries with clear messages', async () => {
    assert.throws(() => new SimulatedFeed({ clock, seed: 1.5 }), /seed: expected an integer, got 1.5/);
    assert.throws(
      () => new SimulatedFeed({ clock, volatility: 0 }),
      /volatility: expected a fraction > 0 and < 0.1, got 0/,
    );
    assert.throws(
      () => new SimulatedFeed({ clock, basePrices: { BTC: -1 } }),
      /basePrices.BTC: expected a price > 0, got -1/,
    );
    const feed = new SimulatedFeed({ clock });
    await assert.rejects(
      feed.candles('BTC/USD', { interval: '1M', limit: 5 }),
      (error: unknown) =>
        error instanceof MarketDataError && error.problem === 'bad-query' && /got "1M"/.test(error.message),
    );
  });
});
