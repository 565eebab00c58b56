import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseCandleInterval } from './candle-interval.ts';
import { parseCandleTime } from './candle-time.ts';
import { parseReplayFile } from './replay-file.ts';

const T0 = Date.UTC(2024, 0, 1);

function problem(text: string, format: 'csv' | 'json'): string {
  const result = parseReplayFile(text, format);
  assert.equal(result.ok, false, 'expected a problem');
  return result.ok ? '' : result.problem;
}

describe('parseCandleTime', () => {
  it('reads epoch seconds, epoch ms and ISO 8601 with a zone', () => {
    assert.equal(parseCandleTime(1704067200), T0);
    assert.equal(parseCandleTime('1704067200'), T0);
    assert.equal(parseCandleTime(1704067200000), T0);
    assert.equal(parseCandleTime(' 1704067200000 '), T0);
    assert.equal(parseCandleTime(1704067200.5), T0 + 500);
    assert.equal(parseCandleTime('2024-01-01'), T0);
    assert.equal(parseCandleTime('2024-01-01T00:00:00Z'), T0);
    assert.equal(parseCandleTime('2024-01-01 01:00+01:00'), T0);
    assert.equal(parseCandleTime('2023-12-31T19:00:00.250-0500'), T0 + 250);
  });

  it('refuses local times, impossible dates and anything else', () => {
    for (const bad of [
      '2024-01-01T00:00:00',
      '2024-02-30',
      '2024-01-01T24:00Z',
      '2024-13-01',
      'yesterday',
      '',
      -5,
      NaN,
      null,
      {},
    ]) {
      assert.equal(parseCandleTime(bad), undefined, JSON.stringify(bad));
    }
  });
});

describe('parseCandleInterval', () => {
  it('reads minutes, hours, days and weeks', () => {
    assert.equal(parseCandleInterval('1m'), 60_000);
    assert.equal(parseCandleInterval('15m'), 900_000);
    assert.equal(parseCandleInterval('4h'), 14_400_000);
    assert.equal(parseCandleInterval('1d'), 86_400_000);
    assert.equal(parseCandleInterval('1w'), 604_800_000);
    for (const bad of ['1M', '0m', '1', 'm', '1.5h', '1s', ' 1m'])
      assert.equal(parseCandleInterval(bad), undefined, bad);
  });
});

describe('parseReplayFile: CSV', () => {
  it('reads a header in any order with aliases, quotes, comments and blank lines', () => {
    const text = [
      '\uFEFF# exported 2024-01-01',
      'Volume,Close,extra,Low,High,Open,Timestamp',
      '1,"10.5",x,9,11,10,2024-01-01T00:00:00Z',
      '',
      '2,10.8,"a, b",10,11,10.5,1704067260',
    ].join('\r\n');
    const result = parseReplayFile(text, 'csv');
    assert.deepEqual(result, {
      ok: true,
      spacingMs: 60_000,
      candles: [
        { openTime: T0, open: 10, high: 11, low: 9, close: 10.5, volume: 1 },
        { openTime: T0 + 60_000, open: 10.5, high: 11, low: 10, close: 10.8, volume: 2 },
      ],
    });
  });

  it('names the line and column of a bad cell', () => {
    const text = 'time,open,high,low,close,volume\n1704067200,10,11,9,10.5,1\n1704067260,10,11,9,abc,1\n';
    assert.equal(problem(text, 'csv'), 'line 3: close (column 5): expected a number, got "abc"');
  });

  it('names a bad time and a short row', () => {
    assert.match(
      problem('time,open,high,low,close,volume\n2024-01-01 00:00,10,11,9,10.5,1\n', 'csv'),
      /^line 2: time \(column 1\): expected a time as epoch ms, epoch s or ISO 8601 with a zone .*, got "2024-01-01 00:00"$/,
    );
    assert.equal(
      problem('time,open,high,low,close,volume\n1704067200,10,11,9\n', 'csv'),
      'line 2: close (column 5): expected a value, got a row of 4 columns',
    );
  });

  it('refuses a header without the needed columns, naming the missing ones', () => {
    assert.match(
      problem('time,open,high,low\n1,2,3,4\n', 'csv'),
      /^line 1: header: .*missing close, volume, got "time,open,high,low"$/,
    );
    assert.match(problem('', 'csv'), /expected a header row/);
  });

  it('refuses inconsistent candles, naming the field', () => {
    assert.equal(
      problem('time,open,high,low,close,volume\n1704067200,10,10.2,9,10.5,1\n', 'csv'),
      'line 2: high: expected >= max(open, close) = 10.5, got 10.2',
    );
    assert.equal(
      problem('time,open,high,low,close,volume\n1704067200,10,11,9,10.5,-1\n', 'csv'),
      'line 2: volume: expected a number >= 0, got -1',
    );
  });

  it('reverses a newest-first file and refuses other disorder and repeats', () => {
    const newestFirst = parseReplayFile(
      'time,open,high,low,close,volume\n120,1,1,1,1,0\n60,1,1,1,1,0\n0,1,1,1,1,0\n',
      'csv',
    );
    assert.deepEqual(newestFirst.ok && newestFirst.candles.map((c) => c.openTime), [0, 60_000, 120_000]);
    assert.match(
      problem('time,open,high,low,close,volume\n0,1,1,1,1,0\n120,1,1,1,1,0\n60,1,1,1,1,0\n180,1,1,1,1,0\n', 'csv'),
      /^line 4: time: expected rows in time order \(line 3 has 1970-01-01T00:02:00.000Z\), got 1970-01-01T00:01:00.000Z$/,
    );
    assert.match(
      problem('time,open,high,low,close,volume\n0,1,1,1,1,0\n0,1,1,1,1,0\n60,1,1,1,1,0\n', 'csv'),
      /^line 3: time: expected a time not already used \(line 2 has /,
    );
  });

  it('takes semicolons when the header has no comma, and reports the smallest gap', () => {
    const result = parseReplayFile('t;o;h;l;c;v\n0;1;2;1;2;5\n300;2;2;1;1;5\n600;1;1;1;1;5\n1200;1;1;1;1;5\n', 'csv');
    assert.equal(result.ok && result.spacingMs, 300_000);
  });
});

describe('parseReplayFile: JSON', () => {
  it('reads arrays of arrays with string numbers, and arrays of objects', () => {
    const arrays = parseReplayFile(JSON.stringify([[1704067200, '10', '11', '9', '10.5', '1', 'ignored']]), 'json');
    assert.deepEqual(arrays.ok && arrays.candles, [
      { openTime: T0, open: 10, high: 11, low: 9, close: 10.5, volume: 1 },
    ]);
    const objects = parseReplayFile(
      JSON.stringify([{ openTime: '2024-01-01T00:00:00Z', o: 10, h: 11, l: 9, c: 10.5, v: 1 }]),
      'json',
    );
    assert.deepEqual(objects.ok && objects.candles, [
      { openTime: T0, open: 10, high: 11, low: 9, close: 10.5, volume: 1 },
    ]);
    assert.deepEqual(parseReplayFile('[]', 'json'), { ok: true, candles: [], spacingMs: undefined });
  });

  it('names the element and field of a bad value', () => {
    const rows = [
      [1704067200, 10, 11, 9, 10.5, 1],
      [1704067260, 10, 11, 9, 'x', 1],
    ];
    assert.equal(problem(JSON.stringify(rows), 'json'), '[1][4] (close): expected a number, got "x"');
    assert.equal(
      problem(JSON.stringify([{ time: 0, open: 1, high: 1, low: 1, close: 1 }]), 'json'),
      '[0].volume: expected a number, got no such key',
    );
    assert.equal(
      problem(JSON.stringify([{ time: 0, open: 1, high: 1, low: 2, close: 1, volume: 0 }]), 'json'),
      '[0].low: expected <= min(open, close) = 1, got 2',
    );
    assert.equal(
      problem('[5]', 'json'),
      '[0]: expected an object or an array [time, open, high, low, close, volume], got a number',
    );
  });

  it('names a syntax error and a top level that is not an array', () => {
    assert.match(problem('[[1,2', 'json'), /^expected JSON, got a syntax error: /);
    assert.match(problem('{"candles": []}', 'json'), /^expected a JSON array of candles .*, got an object$/);
  });
});
