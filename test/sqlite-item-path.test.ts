import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { defineLoop } from '../src/config/define-loop.ts';
import { createRuntime } from '../src/runtime/runtime.ts';
import { SqliteStore } from '../src/storage/sqlite/sqlite-store.ts';

/**
 * The item path's cost in transactions on a real SQLite file: at concurrency
 * 1 with a lease per item, the transaction that stores an item's fenced
 * result (freeing its lease) also takes the next item's lease, so each item
 * costs one commit, not two; without a lease, results are committed many
 * items at a time. Counted with the store's own count of item-path
 * transactions, as the difference between a run of SMALL and one of LARGE
 * items: the per-item cost without the cycle's fixed writes.
 */

const SMALL = 50;
const LARGE = 250;

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'autoloop-item-path-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** Runs one cycle of `items` no-op items on a fresh file and returns the item-path transactions it made. */
async function commitsForCycle(items: number, concurrency: number, lease: boolean): Promise<number> {
  const store = SqliteStore.open(join(dir, `path-${items}-${concurrency}-${lease}.db`));
  const loop = defineLoop({
    name: 'path',
    trigger: { manual: true },
    observe: () => Array.from({ length: items }, (_, i) => `item-${i}`),
    act: () => null,
    policies: { concurrency, lease },
  });
  const runtime = createRuntime({ loops: [loop], store });
  try {
    await runtime.start({ schedule: false });
    const before = store.itemWriteCommits;
    const record = await runtime.run('path');
    const commits = store.itemWriteCommits - before;
    assert.equal(record.counts.succeeded, items, JSON.stringify(record.outcome));
    return commits;
  } finally {
    await runtime.stop();
    await store.close();
  }
}

async function commitsPerItem(concurrency: number, lease: boolean): Promise<number> {
  const small = await commitsForCycle(SMALL, concurrency, lease);
  const large = await commitsForCycle(LARGE, concurrency, lease);
  return (large - small) / (LARGE - SMALL);
}

describe('SQLite item path', () => {
  it('costs one commit per item at concurrency 1 with a lease: the last result and the next lease share it', async () => {
    const perItem = await commitsPerItem(1, true);
    // A result and the next lease in two transactions would give 2.0. Batches form per turn of the
    // event loop, not per unit of time, so a slow machine does not change the count.
    assert.ok(perItem >= 0.95 && perItem <= 1.05, `expected 1 commit per item, got ${perItem.toFixed(3)}`);
  });

  it('at concurrency 10 with a lease, the results and next leases of a round of items share a commit', async () => {
    const perItem = await commitsPerItem(10, true);
    assert.ok(perItem <= 0.15, `expected about 1 commit per 10 items, got ${perItem.toFixed(3)}`);
  });

  it('without a lease, an item does not wait for a commit: results are committed many at a time', async () => {
    const perItem = await commitsPerItem(1, false);
    assert.ok(perItem <= 0.05, `expected results committed in batches, got ${perItem.toFixed(3)} commits per item`);
  });
});
