import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defineLoop } from '../src/config/define-loop.ts';
import type { ItemOrder } from '../src/core/loop.ts';
import { DURATIONS_NAMESPACE } from '../src/execution/item-durations.ts';
import { MemoryStore } from '../src/storage/memory/memory-store.ts';
import type { Store } from '../src/storage/store.ts';
import { createLoopHarness } from '../src/testing/loop-harness.ts';

// Four 100 ms items planned before one of 400 ms, two at a time. In plan order the long one starts when
// the short ones are done: 200 + 400 = 600 ms. Longest first: 400 ms, the ideal bound (max(800 / 2, 400)).
const MS: Record<string, number> = { a: 100, b: 100, c: 100, d: 100, long: 400 };
const IDEAL_MS = 400;

function fanOut(order?: ItemOrder) {
  return defineLoop({
    name: 'fan',
    trigger: { manual: true },
    observe: () => Object.keys(MS),
    policies: { concurrency: 2, ...(order && { order }) },
    act: (item, { clock, signal }) => clock.sleep(MS[item.key] as number, signal),
  });
}

async function cycles(order: ItemOrder | undefined, store: Store, runs: number, seed = 1) {
  // Two processes on one store: each its own seed, so their cycle ids differ.
  const h = await createLoopHarness([fanOut(order)], { store, seed });
  const out: Array<{ ms: number; started: string[] }> = [];
  for (let n = 0; n < runs; n++) {
    const from = h.events.length;
    const record = await h.runCycle('fan');
    assert.equal(record.counts.succeeded, 5);
    const started = h.events.slice(from).flatMap((e) => (e.type === 'item.started' ? [e.data.key] : []));
    out.push({ ms: (record.finishedAt as number) - record.startedAt, started });
  }
  await h.stop();
  return out;
}

describe('longest expected first, from the history of earlier cycles (policies.order)', () => {
  it('the first cycle runs in plan order; the second starts the longest first and meets the ideal bound', async () => {
    const [first, second] = await cycles(undefined, new MemoryStore(), 2);
    assert.deepEqual(first?.started, ['a', 'b', 'c', 'd', 'long']);
    assert.equal(first?.ms, 600); // 1.5x the ideal bound
    assert.equal(second?.started[0], 'long');
    assert.equal(second?.ms, IDEAL_MS);
  });

  it('the history is in the store: a new process on it orders its first cycle longest first', async () => {
    const store = new MemoryStore();
    await cycles(undefined, store, 1);
    const doc = await store.documents.get(DURATIONS_NAMESPACE, 'fan');
    assert.deepEqual(doc?.value, {
      recent: [
        ['a', 100],
        ['b', 100],
        ['c', 100],
        ['d', 100],
        ['long', 400],
      ],
    });
    const [restarted] = await cycles(undefined, store, 1, 2);
    assert.equal(restarted?.started[0], 'long');
    assert.equal(restarted?.ms, IDEAL_MS);
  });

  it('order: plan keeps plan order in every cycle and keeps no history', async () => {
    const store = new MemoryStore();
    const runs = await cycles('plan', store, 2);
    for (const run of runs) {
      assert.deepEqual(run.started, ['a', 'b', 'c', 'd', 'long']);
      assert.equal(run.ms, 600);
    }
    assert.equal(await store.documents.get(DURATIONS_NAMESPACE, 'fan'), undefined);
  });
});
