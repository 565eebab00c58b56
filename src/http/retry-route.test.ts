import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fakeCycleRecord, fakeItemResults } from './fake-http-source.ts';
import { retryItem } from './retry-route.ts';

describe('retryItem', () => {
  const [failed] = fakeItemResults(
    fakeCycleRecord('prices', 1, { counts: { planned: 1, succeeded: 0, failed: 1, skipped: 0 } }),
  );

  it('keeps the key, priority and payload; one retry key per item, also when a retry is retried', () => {
    assert.ok(failed);
    const item = retryItem(failed);
    assert.deepEqual(item, {
      key: failed.key,
      priority: failed.priority,
      payload: failed.payload,
      idempotencyKey: `${failed.idempotencyKey}#retry`,
    });
    const again = retryItem({ ...failed, idempotencyKey: item.idempotencyKey });
    assert.equal(again.idempotencyKey, item.idempotencyKey, 'no #retry#retry: a second retry dedups in the queue');
  });
});
