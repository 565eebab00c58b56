import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LatencyTracker } from './latency-tracker.ts';

describe('LatencyTracker', () => {
  it('reads 0 with an empty window', () => {
    const tracker = new LatencyTracker();
    assert.deepEqual(tracker.snapshot(), { count: 0, window: 10, p50: 0, p95: 0, p99: 0, errorRate: 0 });
    assert.equal(tracker.full, false);
  });

  it('computes nearest-rank percentiles', () => {
    const tracker = new LatencyTracker({ window: 100 });
    for (let ms = 100; ms >= 1; ms--) tracker.record(ms);
    assert.equal(tracker.p50, 50);
    assert.equal(tracker.p95, 95);
    assert.equal(tracker.p99, 99);
    assert.equal(tracker.percentile(100), 100);
    assert.equal(tracker.percentile(0.5), 1);

    const ten = new LatencyTracker();
    for (const ms of [5, 1, 4, 2, 3, 10, 9, 8, 7, 6]) ten.record(ms);
    assert.deepEqual([ten.p50, ten.p95, ten.p99], [5, 10, 10], 'over 10 samples p95 and p99 are the slowest');
  });

  it('keeps only the last `window` samples, with their error rate', () => {
    const tracker = new LatencyTracker({ window: 4 });
    tracker.record(9_000, false);
    tracker.record(9_000, false);
    for (const ms of [10, 20, 30]) tracker.record(ms);
    assert.equal(tracker.count, 4);
    assert.equal(tracker.full, true);
    assert.equal(tracker.errorRate, 0.25);
    assert.equal(tracker.p99, 9_000);
    tracker.record(40);
    assert.deepEqual(tracker.snapshot(), { count: 4, window: 4, p50: 20, p95: 40, p99: 40, errorRate: 0 });
  });

  it('reset forgets everything', () => {
    const tracker = new LatencyTracker({ window: 2 });
    tracker.record(1, false);
    tracker.reset();
    assert.equal(tracker.count, 0);
    assert.equal(tracker.errorRate, 0);
    tracker.record(7);
    tracker.record(8);
    tracker.record(9);
    assert.equal(tracker.p50, 8);
  });

  it('rejects bad input with the message template', () => {
    assert.throws(
      () => new LatencyTracker({ window: 0 }),
      /Expected `window` to be an integer >= 1, got `0` \(number\)/,
    );
    const tracker = new LatencyTracker();
    assert.throws(() => tracker.record(-1), /Expected `latencyMs` to be a finite number >= 0, got `-1` \(number\)/);
    assert.throws(() => tracker.percentile(0), /Expected `p` to be a finite number > 0 and <= 100, got `0` \(number\)/);
  });
});
