import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { histogramQuantile } from './histogram-quantile.ts';

const INF = Number.POSITIVE_INFINITY;

describe('histogramQuantile (as PromQL histogram_quantile)', () => {
  it('interpolates inside the bucket that holds the rank, the first bucket starting at 0', () => {
    const buckets = new Map([
      [1, 10],
      [2, 20],
      [4, 40],
      [INF, 40],
    ]);
    assert.equal(histogramQuantile(0.5, buckets), 2);
    assert.equal(histogramQuantile(0.75, buckets), 3);
    assert.equal(histogramQuantile(0.1, buckets), 0.4);
  });

  it('answers the highest finite bound when the rank falls in +Inf', () => {
    assert.equal(
      histogramQuantile(
        0.95,
        new Map([
          [8, 90],
          [10, 90],
          [INF, 100],
        ]),
      ),
      10,
    );
  });

  it('is NaN without observations, without +Inf or with one bucket', () => {
    assert.ok(
      Number.isNaN(
        histogramQuantile(
          0.95,
          new Map([
            [1, 0],
            [INF, 0],
          ]),
        ),
      ),
    );
    assert.ok(
      Number.isNaN(
        histogramQuantile(
          0.95,
          new Map([
            [1, 3],
            [2, 5],
          ]),
        ),
      ),
    );
    assert.ok(Number.isNaN(histogramQuantile(0.95, new Map([[INF, 5]]))));
  });

  it('evens out a bucket below the one before it (rates of counters can jitter)', () => {
    const buckets = new Map([
      [1, 10],
      [2, 9],
      [INF, 10],
    ]);
    assert.equal(histogramQuantile(0.5, buckets), 0.5);
  });
});
