import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatLogLine } from './log-line.ts';
import { palette } from './output.ts';

const plain = palette({ out() {}, err() {}, isTTY: false });

describe('formatLogLine', () => {
  it('shows a pino line as `time level msg k=v`, without pid and hostname', () => {
    const line = JSON.stringify({
      level: 40,
      time: '2025-10-22T20:30:15.000Z',
      pid: 7,
      hostname: 'h',
      loop: 'prices',
      key: 'BTC/USD',
      attempts: 3,
      error: { name: 'TimeoutError' },
      note: 'two words',
      msg: 'item failed',
    });
    assert.equal(
      formatLogLine(line, plain),
      '2025-10-22T20:30:15.000Z WARN  item failed loop=prices key=BTC/USD attempts=3 error={"name":"TimeoutError"} note="two words"',
    );
  });

  it('accepts epoch-ms times and leaves lines that are not JSON objects alone', () => {
    assert.match(formatLogLine('{"level":30,"time":0,"msg":"hi"}', plain), /^1970-01-01T00:00:00\.000Z INFO {2}hi$/);
    for (const raw of ['    at main (file.ts:1:2)', '{not json', '[1,2]', ''])
      assert.equal(formatLogLine(raw, plain), raw);
  });

  it('colours the level only when the palette allows it', () => {
    const colour = palette({ out() {}, err() {}, isTTY: true }, {});
    assert.ok(formatLogLine('{"level":50,"time":0,"msg":"x"}', colour).includes('\u001b[31mERROR\u001b[39m'));
    const noColor = palette({ out() {}, err() {}, isTTY: true }, { NO_COLOR: '1' });
    assert.equal(noColor.enabled, false);
  });
});
