import { candleProblem } from './candle-checks.ts';
import type { Candle } from './market-data.ts';

/** The public candle endpoints {@link HttpCandles} knows. */
export type ExchangePresetName = 'binance' | 'coinbase' | 'kraken' | 'bybit';

/**
 * What a refusal or a bad body means: the exchange has no such symbol, the
 * body is not candles, the exchange refused the request, is unwell, or
 * says "too many requests" inside a 200 (Kraken, Bybit).
 */
export type PresetFailure = 'unknown-symbol' | 'bad-data' | 'bad-query' | 'unavailable' | 'rate-limited';

/** What a preset makes of a response body. */
export type PresetParse = { ok: true; candles: Candle[] } | { ok: false; problem: string; kind: PresetFailure };

/** One request, before the base URL is put in front. */
export interface PresetRequest {
  readonly path: string;
  readonly params: Readonly<Record<string, string>>;
}

/**
 * How one exchange's public REST candle endpoint is asked and read. Data,
 * not a class: {@link HttpCandles} does the HTTP, timeouts and errors.
 */
export interface ExchangePreset {
  readonly name: ExchangePresetName;
  readonly defaultBaseUrl: string;
  /** Candle widths the endpoint offers: our interval (`'1m'`) -> the endpoint's parameter value. */
  readonly intervals: Readonly<Record<string, string>>;
  /** Most candles one request returns. */
  readonly maxLimit: number;
  /** The exchange's id for `BASE/QUOTE`, or undefined when `symbol` has no such shape. */
  symbolId(symbol: string): string | undefined;
  request(id: string, interval: string, intervalMs: number, limit: number, until: number | undefined): PresetRequest;
  /** Reads a 2xx body (parsed JSON). Candles in any order; the caller sorts and checks. */
  parse(body: unknown): PresetParse;
  /** Whether a non-2xx body (parsed JSON, or the raw text) says "no such symbol". */
  unknownSymbol(status: number, body: unknown): boolean;
}

/** `BTC/USD` (also `BTC-USD`, `BTC:USD`, `btc/usd`) -> `['BTC', 'USD']`. */
function splitPair(symbol: string): [string, string] | undefined {
  const match = /^([A-Za-z0-9]+)[/:-]([A-Za-z0-9]+)$/.exec(symbol.trim());
  return match ? [(match[1] as string).toUpperCase(), (match[2] as string).toUpperCase()] : undefined;
}

/** Binance and Bybit spot have no USD pairs; USDT is the usual stand-in. */
function usdtPair(symbol: string): string | undefined {
  const pair = splitPair(symbol);
  return pair && `${pair[0]}${pair[1] === 'USD' ? 'USDT' : pair[1]}`;
}

/** Kraken's own names for some assets. */
const KRAKEN_ASSETS: Readonly<Record<string, string>> = { BTC: 'XBT', DOGE: 'XDG' };

function num(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value !== 'string' || value.trim() === '') return undefined;
  const parsed = Number(value);
  return Number.isFinite(parsed) ? parsed : undefined;
}

function show(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}

/**
 * Reads rows that are arrays, the candle's fields at the given indexes;
 * `timeScale` turns the row's time into ms (1000 for seconds). `where`
 * names the list in messages (`body`, `result.list`).
 */
function readRows(
  rows: unknown,
  where: string,
  at: { time: number; open: number; high: number; low: number; close: number; volume: number },
  timeScale: number,
): PresetParse {
  if (!Array.isArray(rows))
    return { ok: false, problem: `${where}: expected an array of candles, got ${show(rows)}`, kind: 'bad-data' };
  const candles: Candle[] = [];
  for (let i = 0; i < rows.length; i++) {
    const row: unknown = rows[i];
    if (!Array.isArray(row))
      return { ok: false, problem: `${where}[${i}]: expected an array, got ${show(row)}`, kind: 'bad-data' };
    const values: Record<string, number> = {};
    for (const [field, index] of Object.entries(at)) {
      const value = num(row[index]);
      if (value === undefined || (field === 'time' && value < 0)) {
        return {
          ok: false,
          problem: `${where}[${i}][${index}] (${field}): expected a number, got ${show(row[index])}`,
          kind: 'bad-data',
        };
      }
      values[field] = value;
    }
    const candle: Candle = {
      openTime: Math.round((values.time as number) * timeScale),
      open: values.open as number,
      high: values.high as number,
      low: values.low as number,
      close: values.close as number,
      volume: values.volume as number,
    };
    const problem = candleProblem(candle);
    if (problem) return { ok: false, problem: `${where}[${i}]: ${problem}`, kind: 'bad-data' };
    candles.push(candle);
  }
  return { ok: true, candles };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** Binance spot: `GET /api/v3/klines`, array of `[openTime ms, "open", "high", "low", "close", "volume", closeTime, ...]`, oldest first. */
const binance: ExchangePreset = {
  name: 'binance',
  defaultBaseUrl: 'https://api.binance.com',
  intervals: Object.fromEntries(
    ['1m', '3m', '5m', '15m', '30m', '1h', '2h', '4h', '6h', '8h', '12h', '1d', '3d', '1w'].map((i) => [i, i]),
  ),
  maxLimit: 1000,
  symbolId: usdtPair,
  request(id, interval, _intervalMs, limit, until) {
    const params: Record<string, string> = { symbol: id, interval, limit: String(limit) };
    if (until !== undefined) params.endTime = String(Math.floor(until));
    return { path: '/api/v3/klines', params };
  },
  parse: (body) => readRows(body, 'body', { time: 0, open: 1, high: 2, low: 3, close: 4, volume: 5 }, 1),
  // {"code":-1121,"msg":"Invalid symbol."}
  unknownSymbol: (status, body) => status === 400 && isRecord(body) && body.code === -1121,
};

/** Coinbase Exchange: `GET /products/<id>/candles`, `[time s, low, high, open, close, volume]`, newest first, at most 300. */
const coinbase: ExchangePreset = {
  name: 'coinbase',
  defaultBaseUrl: 'https://api.exchange.coinbase.com',
  intervals: { '1m': '60', '5m': '300', '15m': '900', '1h': '3600', '6h': '21600', '1d': '86400' },
  maxLimit: 300,
  symbolId(symbol) {
    const pair = splitPair(symbol);
    return pair && `${pair[0]}-${pair[1]}`;
  },
  request(id, interval, intervalMs, limit, until) {
    const params: Record<string, string> = { granularity: interval };
    if (until !== undefined) {
      // Without start/end it answers the latest 300; with them, the candles in [start, end].
      const end = Math.floor(until / intervalMs) * intervalMs;
      params.start = new Date(end - (limit - 1) * intervalMs).toISOString();
      params.end = new Date(end).toISOString();
    }
    return { path: `/products/${encodeURIComponent(id)}/candles`, params };
  },
  parse: (body) => readRows(body, 'body', { time: 0, low: 1, high: 2, open: 3, close: 4, volume: 5 }, 1000),
  // 404 {"message":"NotFound"}
  unknownSymbol: (status) => status === 404,
};

/** Kraken: `GET /0/public/OHLC`, `{error: [], result: {<pair>: [[time s, "o", "h", "l", "c", "vwap", "volume", count]], last}}`, the latest 720. */
const kraken: ExchangePreset = {
  name: 'kraken',
  defaultBaseUrl: 'https://api.kraken.com',
  intervals: {
    '1m': '1',
    '5m': '5',
    '15m': '15',
    '30m': '30',
    '1h': '60',
    '4h': '240',
    '1d': '1440',
    '1w': '10080',
    '15d': '21600',
  },
  maxLimit: 720,
  symbolId(symbol) {
    const pair = splitPair(symbol);
    return pair?.map((asset) => KRAKEN_ASSETS[asset] ?? asset).join('');
  },
  // Kraken has no end parameter: it always answers its latest 720 candles; `until` is applied to them.
  request: (id, interval) => ({ path: '/0/public/OHLC', params: { pair: id, interval } }),
  parse(body) {
    if (!isRecord(body))
      return {
        ok: false,
        problem: `body: expected an object {error, result}, got ${show(body)}`,
        kind: 'bad-data',
      };
    const errors = body.error;
    if (Array.isArray(errors) && errors.length > 0) {
      const text = errors.map(String).join('; ');
      return { ok: false, problem: `error: ${text}`, kind: krakenFailure(text) };
    }
    const result = body.result;
    if (!isRecord(result))
      return { ok: false, problem: `result: expected an object, got ${show(result)}`, kind: 'bad-data' };
    // The key is Kraken's canonical pair name (XBTUSD -> XXBTZUSD), not always the one asked for.
    const key = Object.keys(result).find((name) => name !== 'last');
    if (key === undefined)
      return { ok: false, problem: 'result: expected a pair key next to "last", got none', kind: 'bad-data' };
    return readRows(result[key], `result.${key}`, { time: 0, open: 1, high: 2, low: 3, close: 4, volume: 6 }, 1000);
  },
  unknownSymbol: () => false,
};

/** Kraken's error strings (`<severity><category>:<message>`), by what they mean for us. */
function krakenFailure(text: string): PresetFailure {
  if (/unknown asset pair/i.test(text)) return 'unknown-symbol';
  if (/rate limit|too many requests/i.test(text)) return 'rate-limited';
  if (/EService:|EGeneral:Internal/i.test(text)) return 'unavailable';
  return 'bad-query';
}

/**
 * Bybit v5 return codes: 10001 is "request parameter error" (its message
 * says when the symbol is the bad parameter), 10006/10018 are rate limits,
 * 10000/10016 server trouble; anything else is a refusal.
 */
function bybitFailure(code: unknown, message: string): PresetFailure {
  if (code === 10001 && /symbol/i.test(message)) return 'unknown-symbol';
  if (code === 10006 || code === 10018) return 'rate-limited';
  if (code === 10000 || code === 10016) return 'unavailable';
  return 'bad-query';
}

/** Bybit v5 spot: `GET /v5/market/kline`, `{retCode, retMsg, result: {list: [["start ms", "o", "h", "l", "c", "volume", "turnover"]]}}`, newest first. */
const bybit: ExchangePreset = {
  name: 'bybit',
  defaultBaseUrl: 'https://api.bybit.com',
  intervals: {
    '1m': '1',
    '3m': '3',
    '5m': '5',
    '15m': '15',
    '30m': '30',
    '1h': '60',
    '2h': '120',
    '4h': '240',
    '6h': '360',
    '12h': '720',
    '1d': 'D',
    '1w': 'W',
  },
  maxLimit: 1000,
  symbolId: usdtPair,
  request(id, interval, _intervalMs, limit, until) {
    const params: Record<string, string> = { category: 'spot', symbol: id, interval, limit: String(limit) };
    if (until !== undefined) params.end = String(Math.floor(until));
    return { path: '/v5/market/kline', params };
  },
  parse(body) {
    if (!isRecord(body))
      return {
        ok: false,
        problem: `body: expected an object {retCode, result}, got ${show(body)}`,
        kind: 'bad-data',
      };
    if (body.retCode !== 0) {
      const message = `retCode ${show(body.retCode)}: ${show(body.retMsg)}`;
      return { ok: false, problem: message, kind: bybitFailure(body.retCode, String(body.retMsg)) };
    }
    const result = body.result;
    if (!isRecord(result))
      return { ok: false, problem: `result: expected an object, got ${show(result)}`, kind: 'bad-data' };
    return readRows(result.list, 'result.list', { time: 0, open: 1, high: 2, low: 3, close: 4, volume: 5 }, 1);
  },
  unknownSymbol: () => false,
};

/** The presets by name. */
export const EXCHANGE_PRESETS: Readonly<Record<ExchangePresetName, ExchangePreset>> = {
  binance,
  coinbase,
  kraken,
  bybit,
};
