import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SeriesWindows } from './series-windows.ts';

describe('SeriesWindows', () => {
  it('needs two samples for a rate', () => {
    const w = new SeriesWindows();
    w.record('a', 0, 5);
    assert.equal(w.rate('a', 0, 60_000), undefined);
    assert.equal(w.rate('missing', 0, 60_000), undefined);
  });

  it('computes the increase over the window from its left edge, and the rate per second', () => {
    const w = new SeriesWindows();
    for (let i = 0; i <= 8; i++) w.record('a', i * 15_000, i * 3); // +3 every 15 s
    // window 60 s at t=120 s: edge sample at t=60 s (value 12), last at 120 s (24)
    assert.deepEqual(w.increase('a', 120_000, 60_000), { increase: 12, spanMs: 60_000 });
    assert.equal(w.rate('a', 120_000, 60_000), 0.2);
  });

  it('treats a counter going down as a reset from 0', () => {
    const w = new SeriesWindows();
    w.record('a', 0, 10);
    w.record('a', 15_000, 12);
    w.record('a', 30_000, 3); // restarted, then 3 more
    assert.equal(w.increase('a', 30_000, 60_000)?.increase, 5);
  });

  it('prunes samples no window needs and series that stopped', () => {
    const w = new SeriesWindows();
    for (let i = 0; i <= 10; i++) w.record('a', i * 10_000, i);
    w.record('gone', 0, 1);
    w.prune(100_000, 30_000);
    assert.equal(w.has('gone'), false);
    // the edge (t=70 s) is kept, so the 30 s window is still fully covered
    assert.deepEqual(w.increase('a', 100_000, 30_000), { increase: 3, spanMs: 30_000 });
    assert.equal(w.size, 1);
  });
});
