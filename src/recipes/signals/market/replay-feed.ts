import type { Stats } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { checkQuery, lastCandles } from './candle-checks.ts';
import type { Candle, CandleQuery, MarketData } from './market-data.ts';
import { MarketDataError } from './market-data-error.ts';
import { parseReplayFile, type ReplayFileResult, type ReplayFormat } from './replay-file.ts';

export interface ReplayFeedOptions {
  /** Directory with one file per symbol (see {@link replayFileBase}). */
  readonly dir: string;
  /**
   * Explicit files for some symbols, paths relative to `dir` (or absolute);
   * the extension (`.csv`/`.json`) picks the format. Other symbols use the
   * name mapping.
   */
  readonly files?: Readonly<Record<string, string>>;
}

/** A parsed file, remembered until its size or mtime changes. */
interface CachedFile {
  readonly mtimeMs: number;
  readonly size: number;
  readonly parsed: Promise<ReplayFileResult>;
}

const FORMATS: readonly ReplayFormat[] = ['csv', 'json'];

/**
 * The file name (without extension) a symbol's candles are read from: the
 * symbol with `/`, `\`, `:`, whitespace and other characters file systems
 * refuse turned into `-`. `BTC/USD` -> `BTC-USD`, `ETH:USDT` -> `ETH-USDT`,
 * `SOL USD` -> `SOL-USD`; case is kept (`btc/usd` -> `btc-usd` is a
 * different file on Linux).
 */
export function replayFileBase(symbol: string): string {
  return symbol.trim().replace(/[/\\:*?"<>|\s]+/g, '-');
}

/**
 * Replays recorded OHLCV candles from files: `<dir>/<base>.csv` or
 * `<dir>/<base>.json` per symbol, `<base>` from {@link replayFileBase}
 * (format: {@link parseReplayFile}). `until` selects the candles that
 * opened at or before it, so a replay advances with the clock that drives
 * the recipe (a VirtualClock in tests, the system clock in a demo).
 *
 * A file is parsed on first use and again only when its size or mtime
 * changes. The file's candles must be as wide as the query's `interval`
 * (checked against the smallest gap between two candles; gaps for missing
 * candles are fine). Errors: no file (or both a `.csv` and a `.json`) ->
 * `unknown-symbol`; a bad row -> `bad-data` naming file, line and column;
 * another interval -> `bad-query`.
 *
 * @example
 * const market = new ReplayFeed({ dir: './data' });            // ./data/BTC-USD.csv
 * await market.candles('BTC/USD', { interval: '1m', limit: 100, until: clock.now() });
 */
export class ReplayFeed implements MarketData {
  readonly description: string;
  readonly simulated = false;
  readonly #dir: string;
  readonly #files: Readonly<Record<string, string>>;
  readonly #cache = new Map<string, CachedFile>();

  constructor(options: ReplayFeedOptions) {
    if (typeof options.dir !== 'string' || options.dir === '') {
      throw new TypeError(`ReplayFeed: dir: expected a directory path, got ${JSON.stringify(options.dir)}`);
    }
    this.#dir = options.dir;
    this.#files = options.files ?? {};
    this.description = `replay ${options.dir}`;
  }

  async candles(symbol: string, query: CandleQuery): Promise<Candle[]> {
    const { intervalMs, limit, until } = checkQuery(this.description, symbol, query);
    query.signal?.throwIfAborted();
    const { path, stats } = await this.#locate(symbol);
    const name = basename(path);
    let result: ReplayFileResult;
    try {
      result = await this.#parsed(path, stats);
    } catch (error) {
      const detail = `${name}: could not read: ${(error as Error).message}`;
      throw new MarketDataError(this.description, symbol, 'unavailable', detail, { cause: error });
    }
    query.signal?.throwIfAborted();
    if (!result.ok) throw new MarketDataError(this.description, symbol, 'bad-data', `${name}: ${result.problem}`);
    if (result.spacingMs !== undefined && result.spacingMs !== intervalMs) {
      throw new MarketDataError(
        this.description,
        symbol,
        'bad-query',
        `interval: expected the width of ${name}'s candles (${result.spacingMs} ms apart), got ${query.interval} (${intervalMs} ms)`,
      );
    }
    return lastCandles(result.candles, limit, until);
  }

  async #locate(symbol: string): Promise<{ path: string; stats: Stats }> {
    const explicit = this.#files[symbol];
    if (explicit !== undefined) {
      const path = resolve(this.#dir, explicit);
      const stats = await statFile(path);
      if (stats) return { path, stats };
      throw new MarketDataError(
        this.description,
        symbol,
        'unknown-symbol',
        `no file ${path} (from files[${JSON.stringify(symbol)}])`,
      );
    }
    const base = replayFileBase(symbol);
    if (base === '' || base === '.' || base === '..') {
      throw new MarketDataError(
        this.description,
        symbol,
        'unknown-symbol',
        `symbol: expected a name like "BTC/USD", got ${JSON.stringify(symbol)}`,
      );
    }
    const found: { path: string; stats: Stats }[] = [];
    for (const format of FORMATS) {
      const path = join(this.#dir, `${base}.${format}`);
      const stats = await statFile(path);
      if (stats) found.push({ path, stats });
    }
    const only = found[0];
    if (found.length === 1 && only) return only;
    const names = `${base}.csv or ${base}.json`;
    const detail =
      found.length === 0
        ? `no file ${names} in ${this.#dir} (the symbol's "/" and spaces become "-"; or name it in files)`
        : `both ${base}.csv and ${base}.json in ${this.#dir}: expected one file per symbol`;
    throw new MarketDataError(this.description, symbol, 'unknown-symbol', detail);
  }

  /** Reads are shared by concurrent callers, so no caller's signal aborts one (the files are small). */
  #parsed(path: string, stats: Stats): Promise<ReplayFileResult> {
    const cached = this.#cache.get(path);
    if (cached && cached.mtimeMs === stats.mtimeMs && cached.size === stats.size) return cached.parsed;
    const format: ReplayFormat = path.toLowerCase().endsWith('.json') ? 'json' : 'csv';
    const parsed = readFile(path, 'utf8').then((text) => parseReplayFile(text, format));
    const entry: CachedFile = { mtimeMs: stats.mtimeMs, size: stats.size, parsed };
    // A read that failed is not remembered: the next call reads again.
    parsed.catch(() => {
      if (this.#cache.get(path) === entry) this.#cache.delete(path);
    });
    this.#cache.set(path, entry);
    return parsed;
  }
}

/** The file's stats, or undefined when there is no regular file at `path`. */
async function statFile(path: string): Promise<Stats | undefined> {
  try {
    const stats = await stat(path);
    return stats.isFile() ? stats : undefined;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT' || (error as NodeJS.ErrnoException).code === 'ENOTDIR') {
      return undefined;
    }
    throw error;
  }
}
