/** Builders shared by the storage contract's parts: records, items, claims, results, events. */
import assert from 'node:assert/strict';
import type { CycleRecord, ItemResult } from '../../src/core/cycle-record.ts';
import type { WorkItem } from '../../src/core/work-item.ts';
import type { Claim, Store } from '../../src/storage/store.ts';

let serial = 0;

export function cycle(overrides: Partial<CycleRecord> = {}): CycleRecord {
  serial++;
  return {
    id: `cycle-${serial}`,
    loop: 'alpha',
    tickId: `alpha@${serial}`,
    trigger: 'interval',
    scheduledAt: 1000,
    startedAt: 1000,
    finishedAt: null,
    steps: {},
    counts: { planned: 0, succeeded: 0, failed: 0, skipped: 0 },
    outcome: { kind: 'running' },
    owner: 'host:1:abc',
    ...overrides,
  };
}

export function item(key: string, overrides: Partial<WorkItem> = {}): WorkItem {
  return { key, priority: 2, payload: { key }, idempotencyKey: `alpha:${key}`, ...overrides };
}

export function claim(owner: string, until = 99_000): Claim {
  return { owner, until };
}

export function result(cycleId: string, key: string, overrides: Partial<ItemResult> = {}): ItemResult {
  return {
    cycleId,
    loop: 'alpha',
    key,
    idempotencyKey: `alpha:${key}`,
    priority: 2,
    status: 'succeeded',
    attempts: 1,
    startedAt: 1000,
    finishedAt: 2000,
    durationMs: 1000,
    ...overrides,
  };
}

export function event(type: string, overrides: { at?: number; loop?: string | null; data?: unknown } = {}) {
  return { at: 1000, type, loop: 'alpha' as string | null, data: { type }, ...overrides };
}

/** Writes an item result the only way the port allows: enqueue claimed, then complete. */
export async function completeWith(store: Store, res: ItemResult): Promise<void> {
  const key = `${res.cycleId}/${res.key}/${serial++}`;
  const [row] = await store.queue.enqueue(res.loop, res.cycleId, [item(key, { idempotencyKey: key })], claim('w'), 0);
  assert.equal(await store.queue.complete(row!.id, 'w', res), true);
}

export async function completeNew(
  store: Store,
  cycleId: string,
  key: string,
  overrides: Partial<ItemResult> = {},
): Promise<void> {
  await completeWith(store, result(cycleId, key, overrides));
}
