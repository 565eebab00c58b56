import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Palette } from './output.ts';
import { ProgressLine } from './progress-line.ts';

const plain: Palette = {
  enabled: false,
  red: (t) => t,
  green: (t) => t,
  yellow: (t) => t,
  dim: (t) => t,
  bold: (t) => t,
};

describe('ProgressLine', () => {
  it('counts finished (ok, failed, skipped) of planned, not started ones, rewriting one line with \\r', () => {
    let screen = '';
    const line = new ProgressLine((text) => {
      screen += text;
    }, plain);
    line.planned(20);
    for (let i = 0; i < 12; i++) line.started(`k${i}`);
    for (let i = 0; i < 9; i++) line.finished(`k${i}`, 'ok');
    line.finished('k9', 'failed');
    assert.equal(line.text(), '[10/20] 9 ok 1 failed 2 running');
    assert.ok(screen.endsWith('\r\u001b[K[10/20] 9 ok 1 failed 2 running'));
    line.finished('k10', 'skipped');
    assert.equal(line.text(), '[11/20] 9 ok 1 failed 1 skipped 1 running');
    assert.doesNotMatch(screen, /\n/, 'the progress line never scrolls');
  });

  it('prints item lines above itself and clears itself before the summary', () => {
    const writes: string[] = [];
    const line = new ProgressLine((text) => writes.push(text), plain);
    line.planned(2);
    line.started('a');
    line.above(() => writes.push('  ok   a\n'));
    assert.deepEqual(writes.slice(-3), ['\r\u001b[K', '  ok   a\n', '\r\u001b[K[0/2] 0 ok 0 failed 1 running']);
    line.clear();
    assert.equal(writes.at(-1), '\r\u001b[K');
    line.clear();
    assert.equal(writes.length, 6, 'clearing twice writes nothing more');
  });

  it('never shows fewer planned than seen (items adopted after the count)', () => {
    const line = new ProgressLine(() => {}, plain);
    line.started('x');
    assert.equal(line.text(), '[0/1] 0 ok 0 failed 1 running');
    line.finished('x', 'skipped');
    assert.equal(line.text(), '[1/1] 0 ok 0 failed 1 skipped 0 running');
  });
});
