import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type AnalyseOptions, analyse, checkAnalyseOptions, DEFAULT_ANALYSE_OPTIONS } from './analyse.ts';
import type { IndicatorSnapshot } from './indicators.ts';

/** Everything neutral: no EMA gap, RSI 50, MACD histogram 0, price on the middle band (bands 98..102, half-width 2). */
const NEUTRAL: IndicatorSnapshot = Object.freeze({
  price: 100,
  at: 0,
  candles: 100,
  emaFast: 100,
  emaSlow: 100,
  emaCross: 'none',
  rsi: 50,
  macd: Object.freeze({ macd: 0, signal: 0, histogram: 0 }),
  bollinger: Object.freeze({ upper: 102, middle: 100, lower: 98 }),
});

function snap(changes: Partial<IndicatorSnapshot>): IndicatorSnapshot {
  return { ...NEUTRAL, ...changes };
}

function macd(histogram: number): IndicatorSnapshot['macd'] {
  return { macd: histogram, signal: 0, histogram };
}

function ruleValue(snapshot: IndicatorSnapshot, rule: 'ema' | 'rsi' | 'macd' | 'bollinger'): number {
  const c = analyse(snapshot).contributions.find((x) => x.rule === rule);
  assert.ok(c);
  return c.value;
}

/** Only one rule weighs, so the score is that rule's value. */
function only(rule: keyof AnalyseOptions['weights']): AnalyseOptions {
  return { ...DEFAULT_ANALYSE_OPTIONS, weights: { ema: 0, rsi: 0, macd: 0, bollinger: 0, [rule]: 1 } };
}

describe('analyse: the rules', () => {
  it('all neutral: score 0, HOLD, fully confident, one reason per rule and the decision', () => {
    const a = analyse(NEUTRAL);
    assert.deepEqual([a.action, a.score, a.confidence], ['HOLD', 0, 1]);
    assert.equal(a.reasons.length, 5);
    assert.match(
      a.reasons[0] as string,
      /^EMA: fast 100 level with slow 100 by 0 band half-widths \(no trend\): 0\.00$/,
    );
    assert.match(a.reasons[1] as string, /^RSI 50\.0 between 30 and 70 \(neutral\): 0\.00$/);
    assert.match(a.reasons[2] as string, /^MACD histogram \+0 \(MACD on its signal line, no momentum\): 0\.00$/);
    assert.match(a.reasons[3] as string, /^Bollinger: price 100 inside the bands 98\.\.102 \(%B 0\.50\): 0\.00$/);
    assert.equal(a.reasons[4], 'score 0.00 between -0.25 and 0.25 -> HOLD (agreement 0.00, confidence 1.00)');
  });

  it('EMA: the gap in band half-widths, full at 0.5; a cross on the last candle counts fully', () => {
    assert.equal(ruleValue(snap({ emaFast: 100.5 }), 'ema'), 0.5);
    assert.equal(ruleValue(snap({ emaFast: 99.5 }), 'ema'), -0.5);
    assert.equal(ruleValue(snap({ emaFast: 103 }), 'ema'), 1);
    const up = analyse(snap({ emaFast: 100.01, emaCross: 'up' }));
    assert.equal(up.contributions[0]?.value, 1);
    assert.match(up.reasons[0] as string, /crossed above slow 100 on the last candle \(golden cross\): \+1\.00$/);
    const down = analyse(snap({ emaFast: 99.99, emaCross: 'down' }));
    assert.equal(down.contributions[0]?.value, -1);
    assert.match(down.reasons[0] as string, /\(death cross\): -1\.00$/);
    assert.match(
      analyse(snap({ emaFast: 100.5 })).reasons[0] as string,
      /above slow 100 by 0\.25 band half-widths \(uptrend\): \+0\.50$/,
    );
  });

  it('RSI: oversold +0.5..+1, overbought -0.5..-1, 0 between', () => {
    const cases: [number, number][] = [
      [0, 1],
      [15, 0.75],
      [30, 0.5],
      [30.1, 0],
      [50, 0],
      [69.9, 0],
      [70, -0.5],
      [85, -0.75],
      [100, -1],
    ];
    for (const [rsi, expected] of cases) assert.equal(ruleValue(snap({ rsi }), 'rsi'), expected, `RSI ${rsi}`);
    assert.match(analyse(snap({ rsi: 22 })).reasons[1] as string, /^RSI 22\.0 at or below 30 \(oversold\): \+0\.63$/);
    assert.match(analyse(snap({ rsi: 81 })).reasons[1] as string, /^RSI 81\.0 at or above 70 \(overbought\): -0\.68$/);
  });

  it('MACD: the histogram sign, its size in band half-widths, full at 0.25', () => {
    assert.equal(ruleValue(snap({ macd: macd(0.25) }), 'macd'), 0.5);
    assert.equal(ruleValue(snap({ macd: macd(-0.25) }), 'macd'), -0.5);
    assert.equal(ruleValue(snap({ macd: macd(5) }), 'macd'), 1);
    assert.equal(ruleValue(snap({ macd: macd(-5) }), 'macd'), -1);
    assert.match(
      analyse(snap({ macd: macd(0.25) })).reasons[2] as string,
      /^MACD histogram \+0\.25 \(MACD above its signal line, bullish momentum\): \+0\.50$/,
    );
    assert.match(
      analyse(snap({ macd: macd(-0.25) })).reasons[2] as string,
      /below its signal line, bearish momentum\): -0\.50$/,
    );
  });

  it('Bollinger: +1 at or below the lower band, -1 at or above the upper, linear between', () => {
    assert.equal(ruleValue(snap({ price: 98 }), 'bollinger'), 1);
    assert.equal(ruleValue(snap({ price: 95 }), 'bollinger'), 1);
    assert.equal(ruleValue(snap({ price: 99 }), 'bollinger'), 0.5);
    assert.equal(ruleValue(snap({ price: 101 }), 'bollinger'), -0.5);
    assert.equal(ruleValue(snap({ price: 102 }), 'bollinger'), -1);
    assert.equal(ruleValue(snap({ price: 110 }), 'bollinger'), -1);
    assert.match(
      analyse(snap({ price: 97 })).reasons[3] as string,
      /^Bollinger: price 97 at or below the lower band 98 \(%B -0\.25\): \+1\.00$/,
    );
    assert.match(
      analyse(snap({ price: 103 })).reasons[3] as string,
      /at or above the upper band 102 \(%B 1\.25\): -1\.00$/,
    );
  });

  it('flat prices (bands of no width) leave only RSI speaking', () => {
    const flat = snap({
      bollinger: { upper: 100, middle: 100, lower: 100 },
      emaFast: 100.3,
      macd: macd(0.2),
      rsi: 100,
    });
    const a = analyse(flat);
    assert.deepEqual(
      a.contributions.map((c) => c.value),
      [0, -1, 0, 0],
    );
    assert.match(a.reasons[0] as string, /no Bollinger width/);
    assert.match(a.reasons[3] as string, /bands have no width/);
  });
});

describe('analyse: score, thresholds and confidence', () => {
  it('BUY at or above +0.25, SELL at or below -0.25, HOLD between', () => {
    const ema = only('ema');
    const at = (gap: number) => analyse(snap({ emaFast: 100 + gap }), ema);
    assert.deepEqual([at(0.25).score, at(0.25).action], [0.25, 'BUY']);
    assert.deepEqual([at(0.2).score, at(0.2).action], [0.2, 'HOLD']);
    assert.deepEqual([at(-0.2).score, at(-0.2).action], [-0.2, 'HOLD']);
    assert.deepEqual([at(-0.25).score, at(-0.25).action], [-0.25, 'SELL']);
    const stricter = { ...ema, buyAt: 0.5, sellAt: 0.5 };
    assert.equal(analyse(snap({ emaFast: 100.4 }), stricter).action, 'HOLD');
    assert.equal(analyse(snap({ emaFast: 100.5 }), stricter).action, 'BUY');
  });

  it('weighs the rules: score = sum(weight x value) / sum(weight)', () => {
    // EMA cross up (+1 x 0.30), MACD +1 (x 0.25), price on the upper band (-1 x 0.20), RSI neutral.
    const a = analyse(snap({ emaFast: 100.1, emaCross: 'up', macd: macd(1), price: 102 }));
    assert.equal(a.score, 0.35);
    assert.equal(a.action, 'BUY');
    assert.match(a.reasons[4] as string, /^score \+0\.35 >= 0\.25 -> BUY \(agreement 0\.47, confidence 0\.41\)$/);
  });

  it('confidence grows with agreement: the same direction from every rule is surest', () => {
    const allAgree = analyse(snap({ emaFast: 100.1, emaCross: 'up', rsi: 0, macd: macd(1), price: 98 }));
    assert.deepEqual([allAgree.action, allAgree.score, allAgree.confidence], ['BUY', 1, 1]);
    const disagree = analyse(snap({ emaFast: 100.1, emaCross: 'up', macd: macd(1), price: 102 }));
    assert.equal(disagree.confidence, 0.4083, '(0.35 + 0.35/0.75) / 2');
    const lone = analyse(snap({ emaFast: 100.1, emaCross: 'up' }));
    assert.deepEqual([lone.action, lone.score, lone.confidence], ['BUY', 0.3, 0.65]);
    const sell = analyse(snap({ emaFast: 99.9, emaCross: 'down', rsi: 100, macd: macd(-1), price: 102 }));
    assert.deepEqual([sell.action, sell.score, sell.confidence], ['SELL', -1, 1]);
  });

  it('HOLD is surest far from both thresholds', () => {
    // Strong rules cancelling out: score 0.1 -> 1 - 0.1/0.25.
    const mixed = analyse(snap({ emaFast: 100.1, emaCross: 'up', rsi: 100, macd: macd(1), price: 102 }));
    assert.deepEqual([mixed.action, mixed.score, mixed.confidence], ['HOLD', 0.1, 0.6]);
    const near = analyse(snap({ emaFast: 100.24 }), only('ema'));
    assert.deepEqual([near.action, near.confidence], ['HOLD', 0.04]);
  });

  it('is pure: the same snapshot gives the same analysis, and the snapshot is not touched', () => {
    const s = Object.freeze(snap({ emaFast: 100.3, rsi: 25, macd: Object.freeze(macd(-0.1)), price: 99.2 }));
    assert.deepEqual(analyse(s), analyse(s));
    for (const a of [analyse(s), analyse(s, DEFAULT_ANALYSE_OPTIONS)]) {
      assert.ok(a.score >= -1 && a.score <= 1);
      assert.ok(a.confidence >= 0 && a.confidence <= 1);
    }
  });
});

describe('checkAnalyseOptions', () => {
  it('accepts the defaults and refuses bad values, naming the field', () => {
    assert.equal(checkAnalyseOptions(DEFAULT_ANALYSE_OPTIONS), DEFAULT_ANALYSE_OPTIONS);
    const bad = (changes: Partial<AnalyseOptions>) => () =>
      checkAnalyseOptions({ ...DEFAULT_ANALYSE_OPTIONS, ...changes });
    assert.throws(
      bad({ weights: { ema: -1, rsi: 1, macd: 1, bollinger: 1 } }),
      /analyse\.weights\.ema: expected a number >= 0, got -1/,
    );
    assert.throws(
      bad({ weights: { ema: 0, rsi: 0, macd: 0, bollinger: 0 } }),
      /expected at least one weight > 0, got all 0/,
    );
    assert.throws(bad({ buyAt: 0 }), /analyse\.buyAt: expected a score threshold > 0 and <= 1, got 0/);
    assert.throws(bad({ sellAt: 1.5 }), /analyse\.sellAt: expected a score threshold > 0 and <= 1, got 1\.5/);
    assert.throws(bad({ rsiOversold: 80 }), /expected 0 <= oversold < overbought <= 100, got 80\/70/);
  });
});
