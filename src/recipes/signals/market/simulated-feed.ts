import type { Clock } from '../../../time/clock.ts';
import { checkQuery } from './candle-checks.ts';
import type { Candle, CandleQuery, MarketData } from './market-data.ts';
import { MarketDataError } from './market-data-error.ts';

export interface SimulatedFeedOptions {
  /** Where "now" comes from when a query has no `until`. The feed never reads the wall clock itself. */
  readonly clock: Clock;
  /** Global seed: the same seed gives the same candles for the same symbol, interval and time. Default 1. */
  readonly seed?: number;
  /** Starting levels in USD per base asset (`{ BTC: 60000 }`), over the built-in table. */
  readonly basePrices?: Readonly<Record<string, number>>;
  /** Typical move of one 1-minute candle, as a fraction (0.0015 = 0.15%); wider candles scale with sqrt(width). */
  readonly volatility?: number;
}

/**
 * Rough USD levels for common bases (the seed's 20 symbols and a few more),
 * so a demo's numbers look like crypto prices. Not quotes: a simulation.
 */
const USD_LEVELS: Readonly<Record<string, number>> = {
  BTC: 60_000,
  XBT: 60_000,
  ETH: 3_000,
  SOL: 150,
  DOGE: 0.15,
  AVAX: 30,
  MATIC: 0.6,
  LINK: 15,
  UNI: 8,
  AAVE: 100,
  SNX: 2.5,
  CRV: 0.4,
  COMP: 50,
  MKR: 2_000,
  SUSHI: 1,
  YFI: 6_500,
  '1INCH': 0.35,
  BAL: 2.5,
  LDO: 1.8,
  RPL: 15,
  FXS: 3,
  XRP: 0.55,
  ADA: 0.45,
  BNB: 550,
  DOT: 6,
  LTC: 80,
  USD: 1,
  USDT: 1,
  USDC: 1,
  EUR: 1.08,
};

/** Octaves of noise at most; the slowest spans 2^15 candles (about 23 days of 1m candles). */
const MAX_OCTAVES = 16;
/** Each octave's period in candles: 1, 2, 4, ... */
const PERIODS = Float64Array.from({ length: MAX_OCTAVES }, (_, o) => 2 ** o);
/** The slowest octave's amplitude in log price, so prices stay within about e^±1 of their level. */
const TOP_AMPLITUDE = 0.25;

/** Per-symbol, per-interval constants, computed once and kept. */
interface Walk {
  readonly level: number;
  readonly sigma: number;
  readonly octaveSeeds: Uint32Array;
  readonly amplitudes: Float64Array;
  readonly volumeLevel: number;
  readonly seed: number;
  /**
   * Per octave, the lattice cell last hashed and its two end values, so
   * consecutive candles (same cell in all but the fastest octaves) hash
   * only what changed. A cache of pure values (each a function of octave
   * and cell), so it never changes a candle.
   */
  readonly cell: Float64Array;
  readonly cellStart: Float64Array;
  readonly cellEnd: Float64Array;
}

/**
 * A seeded, deterministic random-walk feed for offline demos and tests:
 * `simulated: true`, and a `description` that says so, for every surface
 * to show.
 *
 * Each candle is a pure function of (seed, symbol, interval, openTime):
 * the log price at the start of candle `k = openTime / interval` is a sum
 * of seeded value noise at periods of 1, 2, 4, ... candles with amplitudes
 * growing as sqrt(period) (a fractal random walk: increments over a lag
 * L spread about as sqrt(L)), around a level from the base asset's rough
 * USD price (divided by the quote's), or a seeded level between 0.1 and
 * 1000 for unknown bases. `open` is the walk at `k`, `close` at `k + 1`
 * (the next candle opens where this one closed), wicks and volume are
 * seeded noise. So a symbol's history does not change from one query to
 * the next, and two processes with the same seed agree.
 *
 * Candles are aligned to the interval (`openTime` a multiple of it, UTC
 * epoch); the last one is the candle containing `until` (the query's, or
 * the injected clock's now), so time always comes from the caller.
 * Different intervals of one symbol are separate walks (a 5m candle is not
 * five 1m candles).
 *
 * @example
 * const market = new SimulatedFeed({ clock, seed: 42 });
 * await market.candles('BTC/USD', { interval: '1m', limit: 100, until: tick }); // same every run
 */
export class SimulatedFeed implements MarketData {
  readonly description: string;
  readonly simulated = true;
  readonly #clock: Clock;
  readonly #seed: number;
  readonly #levels: Readonly<Record<string, number>>;
  readonly #volatility: number;
  readonly #walks = new Map<string, Walk>();

  constructor(options: SimulatedFeedOptions) {
    const seed = options.seed ?? 1;
    if (!Number.isSafeInteger(seed)) throw new RangeError(`SimulatedFeed: seed: expected an integer, got ${seed}`);
    const volatility = options.volatility ?? 0.0015;
    if (!(Number.isFinite(volatility) && volatility > 0 && volatility < 0.1)) {
      throw new RangeError(`SimulatedFeed: volatility: expected a fraction > 0 and < 0.1, got ${volatility}`);
    }
    for (const [asset, level] of Object.entries(options.basePrices ?? {})) {
      if (!(Number.isFinite(level) && level > 0)) {
        throw new RangeError(`SimulatedFeed: basePrices.${asset}: expected a price > 0, got ${level}`);
      }
    }
    this.#clock = options.clock;
    this.#seed = seed;
    this.#levels = { ...USD_LEVELS, ...options.basePrices };
    this.#volatility = volatility;
    this.description = `simulated random walk (seed ${seed})`;
  }

  async candles(symbol: string, query: CandleQuery): Promise<Candle[]> {
    const { intervalMs, limit, until } = checkQuery(this.description, symbol, query);
    query.signal?.throwIfAborted();
    if (symbol.trim() === '') {
      throw new MarketDataError(
        this.description,
        symbol,
        'unknown-symbol',
        'symbol: expected a name like "BTC/USD", got ""',
      );
    }
    const walk = this.#walk(symbol, intervalMs);
    const lastK = Math.floor((until ?? this.#clock.now()) / intervalMs);
    const firstK = Math.max(0, lastK - limit + 1);
    const candles: Candle[] = [];
    let open = price(walk, firstK);
    for (let k = firstK; k <= lastK; k++) {
      const close = price(walk, k + 1);
      candles.push(candle(walk, k, intervalMs, open, close));
      open = close;
    }
    return candles;
  }

  #walk(symbol: string, intervalMs: number): Walk {
    const key = `${intervalMs}|${symbol}`;
    const known = this.#walks.get(key);
    if (known) return known;
    const seed = mix(hashString(symbol) ^ mix(this.#seed) ^ mix(intervalMs / 60_000));
    const sigma = Math.min(TOP_AMPLITUDE, this.#volatility * Math.sqrt(intervalMs / 60_000));
    const octaves = Math.max(1, Math.min(MAX_OCTAVES, Math.floor(2 * Math.log2(TOP_AMPLITUDE / sigma)) + 1));
    const octaveSeeds = new Uint32Array(octaves);
    const amplitudes = new Float64Array(octaves);
    for (let o = 0; o < octaves; o++) {
      octaveSeeds[o] = mix(seed + Math.imul(o + 1, 0x9e3779b9));
      amplitudes[o] = sigma * 2 ** (o / 2);
    }
    const level = this.#level(symbol, seed);
    // Notional per 1m candle between $100k and $10M, in base units.
    const volumeLevel = (10 ** (5 + 2 * unit(mix(seed ^ 0x5bd1e995))) * (intervalMs / 60_000)) / level;
    const cell = new Float64Array(octaves).fill(-1);
    const walk: Walk = {
      level,
      sigma,
      octaveSeeds,
      amplitudes,
      volumeLevel,
      seed,
      cell,
      cellStart: new Float64Array(octaves),
      cellEnd: new Float64Array(octaves),
    };
    this.#walks.set(key, walk);
    return walk;
  }

  /** Base level over quote level from the table; a seeded level in [0.1, 1000) for a base it does not know. */
  #level(symbol: string, seed: number): number {
    const [base = '', quote = 'USD'] = symbol.toUpperCase().split(/[/\-:_ ]/);
    const baseUsd = this.#levels[base] ?? 10 ** (-1 + 4 * unit(mix(seed ^ 0x27d4eb2d)));
    const quoteUsd = this.#levels[quote] ?? 1;
    return baseUsd / quoteUsd;
  }
}

/** The walk's price at the start of candle `k`, rounded to about 7 significant digits. */
function price(walk: Walk, k: number): number {
  let logMove = 0;
  for (let o = 0; o < walk.octaveSeeds.length; o++) {
    const period = PERIODS[o] as number;
    const i = Math.floor(k / period);
    if (walk.cell[o] !== i) {
      const seed = walk.octaveSeeds[o] as number;
      walk.cell[o] = i;
      walk.cellStart[o] = signedUnit(hashIndex(seed, i));
      walk.cellEnd[o] = signedUnit(hashIndex(seed, i + 1));
    }
    const a = walk.cellStart[o] as number;
    const b = walk.cellEnd[o] as number;
    const f = (k - i * period) / period;
    const t = f * f * (3 - 2 * f);
    logMove += (walk.amplitudes[o] as number) * (a + (b - a) * t);
  }
  return roundPrice(walk.level * Math.exp(logMove));
}

function candle(walk: Walk, k: number, intervalMs: number, open: number, close: number): Candle {
  const h = hashIndex(walk.seed, k);
  const wickUp = walk.sigma * 0.8 * unit(mix(h ^ 0x68e31da4));
  const wickDown = walk.sigma * 0.8 * unit(mix(h ^ 0x1b56c4e9));
  const move = Math.abs(Math.log(close / open)) / walk.sigma;
  const volume = walk.volumeLevel * Math.exp(0.6 * signedUnit(h)) * (1 + 0.5 * move);
  return {
    openTime: k * intervalMs,
    open,
    high: roundPrice(Math.max(open, close) * Math.exp(wickUp)),
    low: roundPrice(Math.min(open, close) * Math.exp(-wickDown)),
    close,
    volume: Math.round(volume * 1e4) / 1e4,
  };
}

/** About 7 significant digits; monotonic, so rounding keeps low <= open/close <= high. */
function roundPrice(value: number): number {
  const decimals = Math.max(0, 6 - Math.floor(Math.log10(value)));
  const factor = 10 ** Math.min(decimals, 12);
  return Math.round(value * factor) / factor;
}

/** 32-bit finaliser (murmur3 fmix32): a well-mixed uint32 of a number's low 32 bits. */
function mix(value: number): number {
  let h = value >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** A lattice index (up to 2^53) hashed with a seed; both 32-bit halves count. */
function hashIndex(seed: number, index: number): number {
  const high = Math.floor(index / 0x1_0000_0000);
  return mix(seed ^ mix(index >>> 0) ^ mix(high + 0x632be5ab));
}

/** FNV-1a over UTF-16 code units. */
function hashString(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** A uint32 as a number in [0, 1). */
function unit(hash: number): number {
  return hash / 0x1_0000_0000;
}

/** A uint32 as a number in [-1, 1). */
function signedUnit(hash: number): number {
  return unit(hash) * 2 - 1;
}
