import assert from 'node:assert/strict';
import { mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { MarketDataError } from './market-data-error.ts';
import { ReplayFeed, replayFileBase } from './replay-feed.ts';

const FIXTURES = join(import.meta.dirname, '../../../../test/fixtures/market');
const T0 = Date.UTC(2024, 0, 1);
const MINUTE = 60_000;

async function rejection(promise: Promise<unknown>): Promise<MarketDataError> {
  const error = await promise.then(
    () => assert.fail('expected a rejection'),
    (caught: unknown) => caught,
  );
  assert.ok(error instanceof MarketDataError, `expected a MarketDataError, got ${String(error)}`);
  return error;
}

describe('replayFileBase', () => {
  it('maps symbols to file names', () => {
    assert.equal(replayFileBase('BTC/USD'), 'BTC-USD');
    assert.equal(replayFileBase('ETH:USDT'), 'ETH-USDT');
    assert.equal(replayFileBase(' SOL USD '), 'SOL-USD');
    assert.equal(replayFileBase('a\\b*c'), 'a-b-c');
  });
});

describe('ReplayFeed', () => {
  const feed = new ReplayFeed({ dir: FIXTURES, files: { 'SOL/USD 5m': 'SOL-USD.json' } });

  it('replays a CSV file up to `until`, the last `limit` candles, oldest first', async () => {
    const candles = await feed.candles('BTC/USD', { interval: '1m', limit: 5, until: T0 + 10 * MINUTE + 30_000 });
    assert.deepEqual(
      candles.map((c) => c.openTime),
      [6, 7, 8, 9, 10].map((i) => T0 + i * MINUTE),
    );
    assert.equal(feed.simulated, false);
    assert.equal(feed.description, `replay ${FIXTURES}`);
  });

  it('advances with the clock: a later `until` shows later candles, never past the file', async () => {
    const early = await feed.candles('BTC/USD', { interval: '1m', limit: 100, until: T0 + 2 * MINUTE });
    assert.equal(early.length, 3);
    const all = await feed.candles('BTC/USD', { interval: '1m', limit: 100 });
    assert.equal(all.length, 30);
    const later = await feed.candles('BTC/USD', { interval: '1m', limit: 100, until: T0 + 365 * 86_400_000 });
    assert.deepEqual(later, all);
    assert.deepEqual(await feed.candles('BTC/USD', { interval: '1m', limit: 10, until: T0 - 1 }), []);
  });

  it('reads a newest-first JSON file of arrays with epoch seconds', async () => {
    const candles = await feed.candles('ETH/USD', { interval: '1m', limit: 3 });
    assert.deepEqual(
      candles.map((c) => c.openTime),
      [27, 28, 29].map((i) => T0 + i * MINUTE),
    );
    assert.equal(typeof candles[0]?.close, 'number');
  });

  it('uses an explicit file, and refuses an interval the file does not hold', async () => {
    const candles = await feed.candles('SOL/USD 5m', { interval: '5m', limit: 2, until: T0 + 5 * MINUTE });
    assert.deepEqual(candles[1], {
      openTime: T0 + 5 * MINUTE,
      open: 101,
      high: 102,
      low: 100,
      close: 101.5,
      volume: 5,
    });
    const error = await rejection(feed.candles('SOL/USD', { interval: '1m', limit: 2 }));
    assert.equal(error.problem, 'bad-query');
    assert.match(
      error.message,
      /SOL\/USD: interval: expected the width of SOL-USD\.json's candles \(300000 ms apart\), got 1m/,
    );
  });

  it('names file, line and column for a bad row', async () => {
    const bad = new ReplayFeed({ dir: join(FIXTURES, 'bad') });
    const error = await rejection(bad.candles('BAD/USD', { interval: '1m', limit: 10 }));
    assert.equal(error.problem, 'bad-data');
    assert.equal(error.retryable, false);
    assert.equal(
      error.message,
      `replay ${join(FIXTURES, 'bad')}: BAD/USD: BAD-USD.csv: line 4: close (column 5): expected a number, got "abc"`,
    );
  });

  it('an unknown symbol names the files it looked for', async () => {
    const error = await rejection(feed.candles('DOGE/USD', { interval: '1m', limit: 10 }));
    assert.equal(error.problem, 'unknown-symbol');
    assert.equal(error.symbol, 'DOGE/USD');
    assert.match(error.message, /no file DOGE-USD\.csv or DOGE-USD\.json in /);
  });

  it('refuses a bad query before touching files', async () => {
    const error = await rejection(feed.candles('BTC/USD', { interval: '1 minute', limit: 10 }));
    assert.equal(error.problem, 'bad-query');
    assert.match(error.message, /interval: expected a candle width like "1m".*got "1 minute"/);
    const limit = await rejection(feed.candles('BTC/USD', { interval: '1m', limit: 0 }));
    assert.match(limit.message, /limit: expected an integer >= 1, got 0/);
  });

  it('rejects with the signal reason when aborted', async () => {
    const controller = new AbortController();
    controller.abort(new Error('cycle ended'));
    await assert.rejects(
      feed.candles('BTC/USD', { interval: '1m', limit: 5, signal: controller.signal }),
      /cycle ended/,
    );
  });

  describe('in a directory that changes', () => {
    let dir = '';
    before(async () => {
      dir = await mkdtemp(join(tmpdir(), 'autoloop-replay-'));
    });
    after(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    it('reads a file again when it changes', async () => {
      const path = join(dir, 'X-USD.csv');
      await writeFile(path, 'time,open,high,low,close,volume\n0,1,1,1,1,0\n');
      const changing = new ReplayFeed({ dir });
      assert.equal((await changing.candles('X/USD', { interval: '1m', limit: 10 })).length, 1);
      await writeFile(path, 'time,open,high,low,close,volume\n0,1,1,1,1,0\n60,1,1,1,1,0\n');
      await utimes(path, new Date(T0), new Date(T0 + 1000));
      assert.equal((await changing.candles('X/USD', { interval: '1m', limit: 10 })).length, 2);
    });

    it('refuses two files for one symbol', async () => {
      await writeFile(join(dir, 'Y-USD.csv'), 'time,open,high,low,close,volume\n');
      await writeFile(join(dir, 'Y-USD.json'), '[]');
      const error = await rejection(new ReplayFeed({ dir }).candles('Y/USD', { interval: '1m', limit: 1 }));
      assert.match(error.message, /both Y-USD\.csv and Y-USD\.json in .*: expected one file per symbol/);
    });
  });
});
