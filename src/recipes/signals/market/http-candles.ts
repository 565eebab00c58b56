import { parseRetryAfter } from '../../../policies/parse-retry-after.ts';
import { type Clock, timeoutSignal } from '../../../time/clock.ts';
import { checkQuery, lastCandles } from './candle-checks.ts';
import { EXCHANGE_PRESETS, type ExchangePreset, type ExchangePresetName } from './exchange-presets.ts';
import type { Candle, CandleQuery, MarketData } from './market-data.ts';
import { MarketDataError, MarketDataRateLimitedError } from './market-data-error.ts';

export interface HttpCandlesOptions {
  /** Which endpoint shape: `binance`, `coinbase` (Exchange), `kraken` or `bybit` (v5 spot). */
  readonly preset: ExchangePresetName;
  /** Timers for the per-request timeout, and "now" for an HTTP-date `Retry-After`. */
  readonly clock: Clock;
  /** Default: the exchange's public API (`https://api.binance.com`, ...). Tests point it at a local server. */
  readonly baseUrl?: string;
  /** Symbol -> the exchange's id, over the preset's mapping (`{ 'MATIC/USD': 'POLUSDT' }`). */
  readonly symbols?: Readonly<Record<string, string>>;
  /** Per request, including reading the body. Default 10 s. */
  readonly timeoutMs?: number;
  /** The wait a 429 without a usable `Retry-After` asks for. Default 1 s. */
  readonly retryAfterDefaultMs?: number;
  /** Extra request headers (a `User-Agent`, say). Never shown in errors. */
  readonly headers?: Readonly<Record<string, string>>;
}

/** A response read whole. */
interface HttpAnswer {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
}

/** Characters of a response body quoted in an error. */
const BODY_EXCERPT = 200;

/**
 * Polls a public exchange REST endpoint for candles, one request per call,
 * with the global `fetch` (Node 20). Presets ({@link EXCHANGE_PRESETS}) know
 * each exchange's path, parameters, interval names, symbol ids and body
 * shape: `BTC/USD` is `BTCUSDT` on Binance and Bybit, `BTC-USD` on Coinbase,
 * `XBTUSD` on Kraken; `symbols` overrides any of them.
 *
 * Each request runs under its own timeout (on the injected clock) linked to
 * the caller's signal. Outcomes: candles oldest first (the last `limit`
 * that opened at or before `until`; Kraken and Coinbase are asked for
 * their latest when there is no `until`); HTTP 429 (and Binance's 418 ban)
 * -> {@link MarketDataRateLimitedError} carrying `Retry-After`; the
 * exchange saying it has no such symbol -> `unknown-symbol`; 5xx, 408 or a
 * network error -> `unavailable`; another 4xx -> `bad-query`; a 2xx body
 * that is not the preset's shape, or an error inside it (Kraken's `error`,
 * Bybit's `retCode`) -> `bad-data`; no answer in time -> `timeout`. Every
 * message names the preset and the URL and quotes the start of the body;
 * a base URL with `user:password` is refused up front (public endpoints
 * need none, and `fetch` would refuse it), so no secret reaches a message.
 *
 * @example
 * const market = new HttpCandles({ preset: 'binance', clock });
 * await market.candles('BTC/USD', { interval: '1m', limit: 100, signal }); // GET .../api/v3/klines?symbol=BTCUSDT&...
 */
export class HttpCandles implements MarketData {
  readonly description: string;
  readonly simulated = false;
  readonly #preset: ExchangePreset;
  readonly #clock: Clock;
  readonly #baseUrl: URL;
  readonly #symbols: Readonly<Record<string, string>>;
  readonly #timeoutMs: number;
  readonly #retryAfterDefaultMs: number;
  readonly #headers: Readonly<Record<string, string>>;

  constructor(options: HttpCandlesOptions) {
    const preset = EXCHANGE_PRESETS[options.preset];
    if (!preset) {
      const names = Object.keys(EXCHANGE_PRESETS).join(', ');
      throw new TypeError(`HttpCandles: preset: expected one of ${names}, got ${JSON.stringify(options.preset)}`);
    }
    const base = options.baseUrl ?? preset.defaultBaseUrl;
    if (!URL.canParse(base) || !/^https?:$/.test(new URL(base).protocol)) {
      throw new TypeError(`HttpCandles: baseUrl: expected an http(s) URL, got ${JSON.stringify(base)}`);
    }
    const baseUrl = new URL(base);
    if (baseUrl.username !== '' || baseUrl.password !== '') {
      // fetch refuses such URLs anyway; say why without echoing the secret.
      baseUrl.username = '';
      baseUrl.password = '';
      throw new TypeError(
        `HttpCandles: baseUrl: expected a URL without user:password (public candle endpoints need none; send any token in headers), got one for ${baseUrl.href}`,
      );
    }
    const timeoutMs = options.timeoutMs ?? 10_000;
    if (!(Number.isFinite(timeoutMs) && timeoutMs > 0)) {
      throw new RangeError(`HttpCandles: timeoutMs: expected a number > 0, got ${timeoutMs}`);
    }
    const retryAfterDefaultMs = options.retryAfterDefaultMs ?? 1000;
    if (!(Number.isFinite(retryAfterDefaultMs) && retryAfterDefaultMs >= 0)) {
      throw new RangeError(`HttpCandles: retryAfterDefaultMs: expected a number >= 0, got ${retryAfterDefaultMs}`);
    }
    this.#preset = preset;
    this.#clock = options.clock;
    this.#baseUrl = baseUrl;
    this.#symbols = options.symbols ?? {};
    this.#timeoutMs = timeoutMs;
    this.#retryAfterDefaultMs = retryAfterDefaultMs;
    this.#headers = options.headers ?? {};
    this.description = `${preset.name} ${baseUrl.href.replace(/\/$/, '')}`;
  }

  async candles(symbol: string, query: CandleQuery): Promise<Candle[]> {
    const { intervalMs, limit, until } = checkQuery(this.description, symbol, query);
    const url = this.#url(symbol, query.interval, intervalMs, limit, until);
    query.signal?.throwIfAborted();
    const response = await this.#fetch(symbol, url, query.signal);
    return lastCandles(this.#read(symbol, url.href, response), limit, until);
  }

  /** The request's URL; a query or symbol the preset cannot ask for fails here, before any request. */
  #url(symbol: string, name: string, intervalMs: number, limit: number, until: number | undefined): URL {
    const preset = this.#preset;
    const interval = preset.intervals[name];
    if (interval === undefined) {
      const offered = Object.keys(preset.intervals).join(', ');
      this.#fail(symbol, 'bad-query', `interval: expected one of ${preset.name}'s ${offered}, got "${name}"`);
    }
    if (limit > preset.maxLimit) {
      const detail = `limit: expected at most ${preset.maxLimit} (one ${preset.name} request), got ${limit}`;
      this.#fail(symbol, 'bad-query', detail);
    }
    const id = this.#symbols[symbol] ?? preset.symbolId(symbol);
    if (id === undefined) {
      const detail = `symbol: expected BASE/QUOTE like "BTC/USD", or an entry in symbols, got ${JSON.stringify(symbol)}`;
      this.#fail(symbol, 'unknown-symbol', detail);
    }
    const request = preset.request(id, interval, intervalMs, limit, until);
    const url = new URL(this.#baseUrl);
    url.pathname = `${url.pathname.replace(/\/$/, '')}${request.path}`;
    for (const [key, value] of Object.entries(request.params)) url.searchParams.set(key, value);
    return url;
  }

  /** The response's candles, oldest first, or the error its status or body means. */
  #read(symbol: string, shown: string, { status, headers, text }: HttpAnswer): Candle[] {
    const preset = this.#preset;
    if (status === 429 || status === 418) throw this.#rateLimited(symbol, shown, headers.get('retry-after'));
    const body = parseJson(text);
    if (status < 200 || status > 299) {
      const unknown = preset.unknownSymbol(status, body.ok ? body.value : text);
      const problem = unknown ? 'unknown-symbol' : status >= 500 || status === 408 ? 'unavailable' : 'bad-query';
      this.#fail(symbol, problem, `HTTP ${status} from ${shown}: ${excerpt(text)}`);
    }
    if (!body.ok)
      this.#fail(symbol, 'bad-data', `${shown}: expected a JSON body, got ${excerpt(text)} (${body.error})`);
    const parsed = preset.parse(body.value);
    if (!parsed.ok) {
      if (parsed.kind === 'rate-limited') throw this.#rateLimited(symbol, shown, headers.get('retry-after'));
      this.#fail(symbol, parsed.kind, `${shown}: ${parsed.problem}`);
    }
    return this.#sorted(symbol, shown, parsed.candles);
  }

  /** One request and its body under the per-request timeout; errors become MarketDataErrors, except the caller's abort. */
  async #fetch(symbol: string, url: URL, signal: AbortSignal | undefined): Promise<HttpAnswer> {
    const shown = url.href;
    const timeout = timeoutSignal(
      this.#clock,
      this.#timeoutMs,
      signal,
      () =>
        new MarketDataError(
          this.description,
          symbol,
          'timeout',
          `no answer within ${this.#timeoutMs} ms from ${shown}`,
        ),
    );
    try {
      const response = await fetch(url, {
        signal: timeout.signal,
        headers: { accept: 'application/json', ...this.#headers },
      });
      const text = await response.text();
      return { status: response.status, headers: response.headers, text };
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      if (timeout.signal.aborted) throw timeout.signal.reason;
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      const why = cause?.code ?? cause?.message ?? (error as Error).message;
      throw new MarketDataError(this.description, symbol, 'unavailable', `request to ${shown} failed: ${why}`, {
        cause: error,
      });
    } finally {
      timeout.dispose();
    }
  }

  #rateLimited(symbol: string, shown: string, retryAfter: string | null): MarketDataRateLimitedError {
    const now = this.#clock.now();
    const at = parseRetryAfter(retryAfter, now);
    const fromHeader = at !== undefined;
    return new MarketDataRateLimitedError(
      this.description,
      symbol,
      shown,
      fromHeader ? at - now : this.#retryAfterDefaultMs,
      fromHeader,
    );
  }

  /** Oldest first, strictly increasing: Coinbase and Bybit answer newest first. */
  #sorted(symbol: string, shown: string, candles: Candle[]): Candle[] {
    candles.sort((a, b) => a.openTime - b.openTime);
    for (let i = 1; i < candles.length; i++) {
      const time = (candles[i] as Candle).openTime;
      if (time === (candles[i - 1] as Candle).openTime) {
        this.#fail(
          symbol,
          'bad-data',
          `${shown}: expected one candle per time, got two at ${new Date(time).toISOString()}`,
        );
      }
    }
    return candles;
  }

  #fail(symbol: string, problem: MarketDataError['problem'], detail: string): never {
    throw new MarketDataError(this.description, symbol, problem, detail);
  }
}

function parseJson(text: string): { ok: true; value: unknown } | { ok: false; error: string } {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (error) {
    return { ok: false, error: (error as Error).message };
  }
}

function excerpt(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  if (flat === '') return 'an empty body';
  return JSON.stringify(flat.length > BODY_EXCERPT ? `${flat.slice(0, BODY_EXCERPT)}...` : flat);
}
