import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ItemResult } from '../core/cycle-record.ts';
import { historyPoint, peakOverlap, percentile } from './cycle-history.ts';
import { fakeCycleRecord } from './fake-http-source.ts';

function result(key: string, startedAt: number, finishedAt: number, status: ItemResult['status'] = 'succeeded') {
  return {
    cycleId: 'c',
    loop: 'prices',
    key,
    idempotencyKey: key,
    priority: 2,
    status,
    attempts: 1,
    startedAt,
    finishedAt,
    durationMs: finishedAt - startedAt,
  } satisfies ItemResult;
}

describe('cycle history points', () => {
  it('percentile is nearest-rank and null for no values', () => {
    assert.equal(percentile([], 0.95), null);
    assert.equal(percentile([7], 0.5), 7);
    const values = Array.from({ length: 20 }, (_, i) => i + 1);
    assert.equal(percentile(values, 0.5), 10);
    assert.equal(percentile(values, 0.95), 19);
  });

  it('peakOverlap counts items running at the same moment; back-to-back items do not overlap', () => {
    assert.equal(peakOverlap([]), 0);
    assert.equal(peakOverlap([result('a', 0, 10), result('b', 10, 20)]), 1);
    assert.equal(peakOverlap([result('a', 0, 10), result('b', 5, 20), result('c', 6, 7), result('d', 15, 30)]), 3);
  });

  it('a finished cycle gives one point from its items; skipped items did no work; a running cycle gives none', () => {
    const record = fakeCycleRecord('prices', 1);
    const items = [result('a', 0, 100), result('b', 0, 300), result('c', 50, 50, 'skipped')];
    assert.deepEqual(historyPoint(record, items), {
      cycleId: record.id,
      at: record.finishedAt,
      outcome: 'partial',
      items: 2,
      p50Ms: 100,
      p95Ms: 300,
      peakInFlight: 2,
    });
    assert.equal(historyPoint({ ...record, finishedAt: null, outcome: { kind: 'running' } }, items), undefined);
    assert.deepEqual(historyPoint(record, [])?.p95Ms, null);
  });
});
