import type { IndicatorSnapshot } from './indicators.ts';
import type { SignalAction } from './signal.ts';

/** How the built-in analyser weighs and decides. */
export interface AnalyseOptions {
  /** Weight of each rule in the score; they need not sum to 1 (the score divides by their sum). */
  readonly weights: { readonly ema: number; readonly rsi: number; readonly macd: number; readonly bollinger: number };
  /** BUY when the score is at or above this (in (0, 1]). */
  readonly buyAt: number;
  /** SELL when the score is at or below minus this (in (0, 1]). */
  readonly sellAt: number;
  /** RSI at or above: overbought; at or below: oversold. */
  readonly rsiOverbought: number;
  readonly rsiOversold: number;
}

export const DEFAULT_ANALYSE_OPTIONS: AnalyseOptions = Object.freeze({
  weights: Object.freeze({ ema: 0.3, rsi: 0.25, macd: 0.25, bollinger: 0.2 }),
  buyAt: 0.25,
  sellAt: 0.25,
  rsiOverbought: 70,
  rsiOversold: 30,
});

/** One rule's part in the score: `value` in [-1, 1] (+ is bullish), times `weight`. */
export interface Contribution {
  readonly rule: 'ema' | 'rsi' | 'macd' | 'bollinger';
  readonly value: number;
  readonly weight: number;
}

/** What {@link analyse} decided, and why. A Signal takes all but `contributions`. */
export interface Analysis {
  readonly action: SignalAction;
  /** 0..1, rounded to 4 places. */
  readonly confidence: number;
  /** -1..1, rounded to 4 places. */
  readonly score: number;
  /** One line per rule, then the decision. */
  readonly reasons: string[];
  readonly contributions: Contribution[];
}

/** How far the fast EMA must sit from the slow one, in band half-widths (2 sigma), to count fully. */
const EMA_FULL_GAP = 0.5;
/** How large the MACD histogram must be, in band half-widths, to count fully. */
const MACD_FULL_HISTOGRAM = 0.25;

/**
 * Scores an indicator snapshot and decides BUY, SELL or HOLD. Pure and
 * deterministic: the same snapshot and options give the same analysis.
 *
 * Rules, each a value in [-1, 1] (+ bullish), with its default weight:
 * - **EMA trend (0.30)**: a cross on the last candle counts fully (+1 up,
 *   -1 down); otherwise the fast-minus-slow gap in units of the Bollinger
 *   half-width (2 sigma, so the scale adapts to the symbol and interval),
 *   full at 0.5 of it.
 * - **RSI (0.25)**: at or below oversold (30) +0.5 rising to +1 at RSI 0;
 *   at or above overbought (70) -0.5 falling to -1 at RSI 100; 0 between.
 * - **MACD momentum (0.25)**: the histogram's sign (MACD line above or
 *   below its signal line), its size in band half-widths, full at 0.25.
 * - **Bollinger position (0.20)**: mean reversion on %B = (price - lower)
 *   / (upper - lower): +1 at or below the lower band, -1 at or above the
 *   upper, linear between (0 on the middle line).
 *
 * Bands of no width (flat prices) make the EMA, MACD and Bollinger rules
 * 0. Score = sum(weight x value) / sum(weight). Action: BUY when score >=
 * `buyAt` (0.25), SELL when score <= -`sellAt`, else HOLD. Confidence:
 * for BUY/SELL, the mean of |score| and the rules' agreement
 * (|sum(w v)| / sum(w |v|): 1 when every rule that speaks points the same
 * way); for HOLD, how far the score is from either threshold
 * (1 - |score| / threshold).
 *
 * @example
 * const { action, confidence, reasons } = analyse(snapshot);
 */
export function analyse(snapshot: IndicatorSnapshot, options: AnalyseOptions = DEFAULT_ANALYSE_OPTIONS): Analysis {
  const halfWidth = (snapshot.bollinger.upper - snapshot.bollinger.lower) / 2;
  const { weights } = options;
  const reasons: string[] = [];
  const contributions: Contribution[] = [
    { rule: 'ema', value: emaRule(snapshot, halfWidth, reasons), weight: weights.ema },
    { rule: 'rsi', value: rsiRule(snapshot, options, reasons), weight: weights.rsi },
    { rule: 'macd', value: macdRule(snapshot, halfWidth, reasons), weight: weights.macd },
    { rule: 'bollinger', value: bollingerRule(snapshot, halfWidth, reasons), weight: weights.bollinger },
  ];
  let weighted = 0;
  let totalWeight = 0;
  let spoken = 0;
  for (const c of contributions) {
    weighted += c.weight * c.value;
    totalWeight += c.weight;
    spoken += c.weight * Math.abs(c.value);
  }
  const score = round4(totalWeight === 0 ? 0 : clamp(weighted / totalWeight));
  const agreement = spoken === 0 ? 0 : Math.abs(weighted) / spoken;
  const action: SignalAction = score >= options.buyAt ? 'BUY' : score <= -options.sellAt ? 'SELL' : 'HOLD';
  const threshold = score >= 0 ? options.buyAt : options.sellAt;
  const confidence = round4(action === 'HOLD' ? 1 - Math.abs(score) / threshold : (Math.abs(score) + agreement) / 2);
  reasons.push(decision(action, score, options, agreement, confidence));
  return { action, confidence, score, reasons, contributions };
}

function emaRule(s: IndicatorSnapshot, halfWidth: number, reasons: string[]): number {
  if (s.emaCross !== 'none') {
    const up = s.emaCross === 'up';
    reasons.push(
      `EMA: fast ${fmt(s.emaFast)} crossed ${up ? 'above' : 'below'} slow ${fmt(s.emaSlow)} on the last candle (${up ? 'golden' : 'death'} cross): ${signed(up ? 1 : -1)}`,
    );
    return up ? 1 : -1;
  }
  if (halfWidth <= 0) {
    reasons.push('EMA: no Bollinger width to scale the gap by (flat prices): 0');
    return 0;
  }
  const gap = (s.emaFast - s.emaSlow) / halfWidth;
  const value = clamp(gap / EMA_FULL_GAP);
  const side = s.emaFast > s.emaSlow ? 'above' : s.emaFast < s.emaSlow ? 'below' : 'level with';
  const trend = value > 0 ? 'uptrend' : value < 0 ? 'downtrend' : 'no trend';
  reasons.push(
    `EMA: fast ${fmt(s.emaFast)} ${side} slow ${fmt(s.emaSlow)} by ${fmt(Math.abs(gap))} band half-widths (${trend}): ${signed(value)}`,
  );
  return value;
}

function rsiRule(s: IndicatorSnapshot, o: AnalyseOptions, reasons: string[]): number {
  let value = 0;
  let state = `between ${o.rsiOversold} and ${o.rsiOverbought} (neutral)`;
  if (s.rsi <= o.rsiOversold) {
    value = 0.5 + (0.5 * (o.rsiOversold - s.rsi)) / Math.max(o.rsiOversold, 1e-9);
    state = `at or below ${o.rsiOversold} (oversold)`;
  } else if (s.rsi >= o.rsiOverbought) {
    value = -(0.5 + (0.5 * (s.rsi - o.rsiOverbought)) / Math.max(100 - o.rsiOverbought, 1e-9));
    state = `at or above ${o.rsiOverbought} (overbought)`;
  }
  reasons.push(`RSI ${s.rsi.toFixed(1)} ${state}: ${signed(value)}`);
  return value;
}

function macdRule(s: IndicatorSnapshot, halfWidth: number, reasons: string[]): number {
  const h = s.macd.histogram;
  const side = h > 0 ? 'above' : h < 0 ? 'below' : 'on';
  const momentum = h > 0 ? 'bullish momentum' : h < 0 ? 'bearish momentum' : 'no momentum';
  const value = halfWidth <= 0 ? 0 : clamp(h / halfWidth / MACD_FULL_HISTOGRAM);
  reasons.push(
    `MACD histogram ${h >= 0 ? '+' : ''}${fmt(h)} (MACD ${side} its signal line, ${momentum}): ${signed(value)}`,
  );
  return value;
}

function bollingerRule(s: IndicatorSnapshot, halfWidth: number, reasons: string[]): number {
  const { upper, lower } = s.bollinger;
  if (halfWidth <= 0) {
    reasons.push('Bollinger: bands have no width (flat prices): 0');
    return 0;
  }
  const percentB = (s.price - lower) / (upper - lower);
  const value = clamp(1 - 2 * percentB);
  const where =
    s.price <= lower
      ? `at or below the lower band ${fmt(lower)}`
      : s.price >= upper
        ? `at or above the upper band ${fmt(upper)}`
        : `inside the bands ${fmt(lower)}..${fmt(upper)}`;
  reasons.push(`Bollinger: price ${fmt(s.price)} ${where} (%B ${percentB.toFixed(2)}): ${signed(value)}`);
  return value;
}

function decision(
  action: SignalAction,
  score: number,
  o: AnalyseOptions,
  agreement: number,
  confidence: number,
): string {
  const rule =
    action === 'BUY' ? `>= ${o.buyAt}` : action === 'SELL' ? `<= -${o.sellAt}` : `between -${o.sellAt} and ${o.buyAt}`;
  return `score ${signed(score)} ${rule} -> ${action} (agreement ${agreement.toFixed(2)}, confidence ${confidence.toFixed(2)})`;
}

/**
 * Checks options once, where they are configured: weights finite, >= 0 and
 * not all 0; thresholds in (0, 1]; 0 <= oversold < overbought <= 100.
 * Throws a RangeError naming the field.
 */
export function checkAnalyseOptions(options: AnalyseOptions): AnalyseOptions {
  const weights = Object.entries(options.weights);
  for (const [rule, weight] of weights) {
    if (!(Number.isFinite(weight) && weight >= 0)) {
      throw new RangeError(`analyse.weights.${rule}: expected a number >= 0, got ${String(weight)}`);
    }
  }
  if (weights.every(([, weight]) => weight === 0)) {
    throw new RangeError('analyse.weights: expected at least one weight > 0, got all 0');
  }
  for (const field of ['buyAt', 'sellAt'] as const) {
    const value = options[field];
    if (!(Number.isFinite(value) && value > 0 && value <= 1)) {
      throw new RangeError(`analyse.${field}: expected a score threshold > 0 and <= 1, got ${String(value)}`);
    }
  }
  const { rsiOversold, rsiOverbought } = options;
  if (!(rsiOversold >= 0 && rsiOversold < rsiOverbought && rsiOverbought <= 100)) {
    throw new RangeError(
      `analyse.rsiOversold/rsiOverbought: expected 0 <= oversold < overbought <= 100, got ${rsiOversold}/${rsiOverbought}`,
    );
  }
  return options;
}

function clamp(value: number): number {
  return value > 1 ? 1 : value < -1 ? -1 : value;
}

function round4(value: number): number {
  return Math.round(value * 1e4) / 1e4 + 0; // + 0 turns -0 into 0
}

/** Prices and indicator values at 6 significant digits, without exponent noise for normal prices. */
function fmt(value: number): string {
  return Number(value.toPrecision(6)).toString();
}

function signed(value: number): string {
  const rounded = value.toFixed(2);
  return value > 0 ? `+${rounded}` : rounded === '-0.00' ? '0.00' : rounded;
}
