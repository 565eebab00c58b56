import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, beforeEach, describe, it } from 'node:test';
import { RateLimitedError } from '../../../core/errors.ts';
import { VirtualClock } from '../../../time/virtual-clock.ts';
import type { ExchangePresetName } from './exchange-presets.ts';
import { HttpCandles } from './http-candles.ts';
import type { Candle } from './market-data.ts';
import { MarketDataError, MarketDataRateLimitedError } from './market-data-error.ts';

const T0 = Date.UTC(2026, 0, 5, 12, 0);
const MINUTE = 60_000;

/** Five 1m candles; every preset's local endpoint serves these, each in its own shape. */
const CANDLES: Candle[] = [0, 1, 2, 3, 4].map((i) => ({
  openTime: T0 + i * MINUTE,
  open: 100 + i,
  high: 102 + i,
  low: 99 + i,
  close: 101 + i,
  volume: 10 + i / 4,
}));

type Handler = (req: IncomingMessage, res: ServerResponse, url: URL) => void;

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(typeof body === 'string' ? body : JSON.stringify(body));
}

/** The four public shapes, keyed by path, as the exchanges document them. */
const exchanges: Handler = (_req, res, url) => {
  const newestFirst = [...CANDLES].reverse();
  switch (url.pathname) {
    case '/api/v3/klines':
      return json(
        res,
        200,
        CANDLES.map((c) => [
          c.openTime,
          String(c.open),
          String(c.high),
          String(c.low),
          String(c.close),
          String(c.volume),
          c.openTime + MINUTE - 1,
          '1000.5',
          42,
          '1.0',
          '100.0',
          '0',
        ]),
      );
    case '/products/BTC-USD/candles':
      return json(
        res,
        200,
        newestFirst.map((c) => [c.openTime / 1000, c.low, c.high, c.open, c.close, c.volume]),
      );
    case '/0/public/OHLC':
      return json(res, 200, {
        error: [],
        result: {
          XXBTZUSD: CANDLES.map((c) => [
            c.openTime / 1000,
            String(c.open),
            String(c.high),
            String(c.low),
            String(c.close),
            String(c.close),
            String(c.volume),
            7,
          ]),
          last: CANDLES[4]?.openTime,
        },
      });
    case '/v5/market/kline':
      return json(res, 200, {
        retCode: 0,
        retMsg: 'OK',
        result: {
          category: 'spot',
          symbol: url.searchParams.get('symbol'),
          list: newestFirst.map((c) => [
            String(c.openTime),
            String(c.open),
            String(c.high),
            String(c.low),
            String(c.close),
            String(c.volume),
            '12345.6',
          ]),
        },
        retExtInfo: {},
        time: T0,
      });
    default:
      return json(res, 404, { message: 'NotFound' });
  }
};

interface LocalServer {
  readonly url: string;
  readonly requests: URL[];
  /** Serves the next requests with `handler` instead of the exchanges' shapes. */
  use(handler: Handler): void;
  /** Resolves when the next request arrives. */
  nextRequest(): Promise<void>;
  close(): Promise<void>;
}

async function startServer(): Promise<LocalServer> {
  let handler: Handler = exchanges;
  let waiting: (() => void) | undefined;
  const requests: URL[] = [];
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    requests.push(url);
    handler(req, res, url);
    waiting?.();
    waiting = undefined;
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    use(next) {
      handler = next;
    },
    nextRequest: () =>
      new Promise<void>((resolve) => {
        waiting = resolve;
      }),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function rejection<E extends Error>(promise: Promise<unknown>, type: new (...args: never[]) => E): Promise<E> {
  const error = await promise.then(
    () => assert.fail('expected a rejection'),
    (caught: unknown) => caught,
  );
  assert.ok(error instanceof type, `expected a ${type.name}, got ${String(error)}`);
  return error;
}

describe('HttpCandles', () => {
  let server: LocalServer;
  const clock = new VirtualClock({ now: T0 + 10 * MINUTE });
  const market = (preset: ExchangePresetName, extra: Partial<ConstructorParameters<typeof HttpCandles>[0]> = {}) =>
    new HttpCandles({ preset, clock, baseUrl: server.url, ...extra });

  before(async () => {
    server = await startServer();
  });
  beforeEach(() => {
    server.use(exchanges);
    server.requests.length = 0;
  });
  after(async () => {
    await server.close();
  });

  for (const preset of ['binance', 'coinbase', 'kraken', 'bybit'] as const) {
    it(`${preset}: reads its shape into the same candles, oldest first`, async () => {
      const candles = await market(preset).candles('BTC/USD', { interval: '1m', limit: 3 });
      assert.deepEqual(candles, CANDLES.slice(2));
    });
  }

  it('asks each exchange in its own words: path, symbol id, interval, limit, until', async () => {
    const until = T0 + 3 * MINUTE;
    const asked = async (preset: ExchangePresetName, symbol = 'BTC/USD') => {
      server.requests.length = 0;
      const candles = await market(preset).candles(symbol, { interval: '1m', limit: 3, until });
      assert.ok(
        candles.every((c) => c.openTime <= until),
        `${preset} returned a candle after until`,
      );
      const url = server.requests[0] as URL;
      return `${url.pathname}?${url.searchParams.toString()}`;
    };
    assert.equal(await asked('binance'), `/api/v3/klines?symbol=BTCUSDT&interval=1m&limit=3&endTime=${until}`);
    assert.equal(
      await asked('coinbase'),
      '/products/BTC-USD/candles?granularity=60&start=2026-01-05T12%3A01%3A00.000Z&end=2026-01-05T12%3A03%3A00.000Z',
    );
    assert.equal(await asked('kraken'), '/0/public/OHLC?pair=XBTUSD&interval=1');
    assert.equal(await asked('bybit'), `/v5/market/kline?category=spot&symbol=BTCUSDT&interval=1&limit=3&end=${until}`);
    assert.equal(
      await asked('bybit', 'ETH/BTC'),
      `/v5/market/kline?category=spot&symbol=ETHBTC&interval=1&limit=3&end=${until}`,
    );
  });

  it('takes symbol ids from the map over the preset mapping, under a base path', async () => {
    await market('binance', { baseUrl: `${server.url}/`, symbols: { 'MATIC/USD': 'POLUSDT' } }).candles('MATIC/USD', {
      interval: '1m',
      limit: 2,
    });
    assert.equal(server.requests[0]?.searchParams.get('symbol'), 'POLUSDT');
  });

  it('refuses what a preset cannot ask for, before any request', async () => {
    const interval = await rejection(
      market('coinbase').candles('BTC/USD', { interval: '3m', limit: 3 }),
      MarketDataError,
    );
    assert.equal(interval.problem, 'bad-query');
    assert.match(interval.message, /interval: expected one of coinbase's 1m, 5m, 15m, 1h, 6h, 1d, got "3m"/);
    const limit = await rejection(
      market('coinbase').candles('BTC/USD', { interval: '1m', limit: 301 }),
      MarketDataError,
    );
    assert.match(limit.message, /limit: expected at most 300 \(one coinbase request\), got 301/);
    const symbol = await rejection(market('kraken').candles('BTCUSD', { interval: '1m', limit: 3 }), MarketDataError);
    assert.equal(symbol.problem, 'unknown-symbol');
    assert.match(symbol.message, /symbol: expected BASE\/QUOTE like "BTC\/USD", or an entry in symbols, got "BTCUSD"/);
    assert.equal(server.requests.length, 0);
  });

  it('the exchange saying "no such symbol" is unknown-symbol, for each shape', async () => {
    const cases: [ExchangePresetName, Handler][] = [
      ['binance', (_q, res) => json(res, 400, { code: -1121, msg: 'Invalid symbol.' })],
      ['coinbase', (_q, res) => json(res, 404, { message: 'NotFound' })],
      ['kraken', (_q, res) => json(res, 200, { error: ['EQuery:Unknown asset pair'] })],
      ['bybit', (_q, res) => json(res, 200, { retCode: 10001, retMsg: 'Not supported symbols', result: {} })],
    ];
    for (const [preset, handler] of cases) {
      server.use(handler);
      const error = await rejection(market(preset).candles('NOPE/USD', { interval: '1m', limit: 3 }), MarketDataError);
      assert.equal(error.problem, 'unknown-symbol', `${preset}: ${error.message}`);
      assert.equal(error.symbol, 'NOPE/USD');
      assert.equal(error.retryable, false);
      assert.ok(error.message.startsWith(`${preset} ${server.url}: NOPE/USD: `), error.message);
    }
  });

  it('Kraken error array and Bybit retCode are errors naming what the exchange said', async () => {
    server.use((_q, res) => json(res, 200, { error: ['EService:Unavailable'], result: {} }));
    const kraken = await rejection(market('kraken').candles('BTC/USD', { interval: '1m', limit: 3 }), MarketDataError);
    assert.equal(kraken.problem, 'unavailable');
    assert.equal(kraken.retryable, true);
    assert.match(kraken.message, /\/0\/public\/OHLC\?pair=XBTUSD&interval=1: error: EService:Unavailable$/);
    server.use((_q, res) =>
      json(res, 200, { retCode: 10002, retMsg: 'invalid request, please check your server timestamp' }),
    );
    const bybit = await rejection(market('bybit').candles('BTC/USD', { interval: '1m', limit: 3 }), MarketDataError);
    assert.equal(bybit.problem, 'bad-query');
    assert.match(bybit.message, /retCode 10002: "invalid request, please check your server timestamp"$/);
  });

  it('HTTP 500 is unavailable (retryable), naming preset, URL, status and body', async () => {
    server.use((_q, res) => json(res, 500, '<html>upstream exploded</html>'));
    const error = await rejection(market('binance').candles('BTC/USD', { interval: '1m', limit: 3 }), MarketDataError);
    assert.equal(error.problem, 'unavailable');
    assert.equal(error.retryable, true);
    assert.equal(error.source, `binance ${server.url}`);
    assert.match(
      error.message,
      /^binance http:\/\/127\.0\.0\.1:\d+: BTC\/USD: HTTP 500 from http:\/\/127\.0\.0\.1:\d+\/api\/v3\/klines\?symbol=BTCUSDT&interval=1m&limit=3: "<html>upstream exploded<\/html>"$/,
    );
  });

  it('HTTP 429 is a RateLimitedError carrying Retry-After (seconds or HTTP-date)', async () => {
    server.use((_q, res) => json(res, 429, { code: -1003, msg: 'Too many requests' }, { 'retry-after': '7' }));
    const seconds = await rejection(
      market('binance').candles('BTC/USD', { interval: '1m', limit: 3 }),
      RateLimitedError,
    );
    assert.ok(seconds instanceof MarketDataRateLimitedError);
    assert.equal(seconds.retryAfterMs, 7000);
    assert.equal(seconds.retryAfterFromHeader, true);
    assert.match(
      seconds.message,
      /rate limited \(HTTP 429\) at http:\/\/127\.0\.0\.1:\d+\/api\/v3\/klines\?symbol=BTCUSDT/,
    );

    const at = new Date(clock.now() + 90_000).toUTCString();
    server.use((_q, res) => json(res, 429, {}, { 'retry-after': at }));
    const date = await rejection(market('coinbase').candles('BTC/USD', { interval: '1m', limit: 3 }), RateLimitedError);
    assert.equal(date.retryAfterMs, 90_000);

    server.use((_q, res) => json(res, 429, {}));
    const none = await rejection(
      market('bybit', { retryAfterDefaultMs: 2500 }).candles('BTC/USD', { interval: '1m', limit: 3 }),
      MarketDataRateLimitedError,
    );
    assert.deepEqual([none.retryAfterMs, none.retryAfterFromHeader], [2500, false]);
  });

  it('a rate limit said inside a 200 body (Kraken, Bybit) is a RateLimitedError too', async () => {
    server.use((_q, res) => json(res, 200, { error: ['EAPI:Rate limit exceeded'] }));
    await rejection(market('kraken').candles('BTC/USD', { interval: '1m', limit: 3 }), MarketDataRateLimitedError);
    server.use((_q, res) => json(res, 200, { retCode: 10006, retMsg: 'Too many visits!' }, { 'retry-after': '3' }));
    const bybit = await rejection(market('bybit').candles('BTC/USD', { interval: '1m', limit: 3 }), RateLimitedError);
    assert.equal(bybit.retryAfterMs, 3000);
  });

  it('malformed JSON and a wrong shape are bad-data, quoting the body', async () => {
    server.use((_q, res) => json(res, 200, '[[1704067200000, "1", "2"'));
    const malformed = await rejection(
      market('binance').candles('BTC/USD', { interval: '1m', limit: 3 }),
      MarketDataError,
    );
    assert.equal(malformed.problem, 'bad-data');
    assert.match(malformed.message, /: expected a JSON body, got "\[\[1704067200000, \\"1\\", \\"2\\"" \(/);

    server.use((_q, res) => json(res, 200, { list: [] }));
    const shape = await rejection(market('binance').candles('BTC/USD', { interval: '1m', limit: 3 }), MarketDataError);
    assert.match(shape.message, /: body: expected an array of candles, got \{"list":\[\]\}$/);

    server.use((_q, res) => json(res, 200, [[T0, '1', '2', '0.5', 'x', '3']]));
    const cell = await rejection(market('binance').candles('BTC/USD', { interval: '1m', limit: 3 }), MarketDataError);
    assert.match(cell.message, /: body\[0\]\[4\] \(close\): expected a number, got "x"$/);

    server.use((_q, res) =>
      json(res, 200, { retCode: 0, result: { list: [[String(T0), '1', '0.5', '0.4', '1', '3']] } }),
    );
    const inconsistent = await rejection(
      market('bybit').candles('BTC/USD', { interval: '1m', limit: 3 }),
      MarketDataError,
    );
    assert.match(inconsistent.message, /: result\.list\[0\]: high: expected >= max\(open, close\) = 1, got 0\.5$/);
  });

  it('times out on the injected clock, aborting the request', async () => {
    let closed = false;
    server.use((req) => {
      req.on('close', () => {
        closed = true;
      });
    });
    const arrived = server.nextRequest();
    const outcome = rejection(
      market('kraken', { timeoutMs: 5000 }).candles('BTC/USD', { interval: '1m', limit: 3 }),
      MarketDataError,
    );
    let settled = false;
    void outcome.finally(() => {
      settled = true;
    });
    await arrived;
    await clock.advance(4999);
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(settled, false, 'still waiting 1 ms before the timeout');
    await clock.advance(1);
    const error = await outcome;
    assert.equal(error.problem, 'timeout');
    assert.equal(error.retryable, true);
    assert.match(
      error.message,
      /: no answer within 5000 ms from http:\/\/127\.0\.0\.1:\d+\/0\/public\/OHLC\?pair=XBTUSD&interval=1$/,
    );
    for (let i = 0; i < 50 && !closed; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    assert.equal(closed, true, 'the server saw the request go away');
    assert.equal(clock.pendingTimers, 0, 'no timer left behind');
  });

  it("the caller's abort rejects with the caller's reason, and leaves no timer", async () => {
    server.use(() => {});
    const controller = new AbortController();
    const arrived = server.nextRequest();
    const pending = market('bybit').candles('BTC/USD', { interval: '1m', limit: 3, signal: controller.signal });
    await arrived;
    controller.abort(new Error('cycle cancelled'));
    await assert.rejects(pending, /cycle cancelled/);
    assert.equal(clock.pendingTimers, 0);
  });

  it('a refused connection is unavailable, naming the URL and the cause', async () => {
    const gone = await startServer();
    await gone.close();
    const error = await rejection(
      new HttpCandles({ preset: 'binance', clock, baseUrl: gone.url }).candles('BTC/USD', { interval: '1m', limit: 3 }),
      MarketDataError,
    );
    assert.equal(error.problem, 'unavailable');
    assert.match(error.message, /request to http:\/\/127\.0\.0\.1:\d+\/api\/v3\/klines\?.* failed: ECONNREFUSED$/);
  });

  it('refuses bad options, never echoing a password', () => {
    assert.throws(
      () => new HttpCandles({ preset: 'nasdaq' as 'binance', clock }),
      /preset: expected one of binance, coinbase, kraken, bybit, got "nasdaq"/,
    );
    assert.throws(
      () => new HttpCandles({ preset: 'binance', clock, baseUrl: 'ftp://x' }),
      /baseUrl: expected an http\(s\) URL/,
    );
    assert.throws(
      () => new HttpCandles({ preset: 'binance', clock, timeoutMs: 0 }),
      /timeoutMs: expected a number > 0, got 0/,
    );
    assert.throws(
      () => new HttpCandles({ preset: 'binance', clock, baseUrl: 'http://me:hunter2@127.0.0.1:1' }),
      (error: Error) => /without user:password/.test(error.message) && !error.message.includes('hunter2'),
    );
    assert.equal(new HttpCandles({ preset: 'kraken', clock }).description, 'kraken https://api.kraken.com');
  });
});
