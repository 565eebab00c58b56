import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { defineLoop } from '../src/config/define-loop.ts';
import { createRuntime } from '../src/runtime/runtime.ts';
import { RedisStore } from '../src/storage/redis/redis-store.ts';
import { type OwnedRedis, startOwnRedis } from './support/redis-server.ts';

/**
 * The item path's cost in round trips on a real redis-server: at concurrency
 * 1 the write that finishes an item (its fenced result, freeing its lease)
 * and the lease of the next item go out as one script call, so each item
 * costs one call, not two. Counted with the server's own command statistics
 * (a server of this test's own, so no other client is counted), as the
 * difference between a run of SMALL and one of LARGE items: the per-item
 * cost without the cycle's fixed writes (record, enqueue, events).
 */

const SMALL = 50;
const LARGE = 250;

let redis: OwnedRedis;
let admin: Redis;
before(async () => {
  redis = await startOwnRedis();
  admin = new Redis(redis.url);
});
after(async () => {
  admin.disconnect();
  await redis.stop();
});

/** Script calls (EVAL and EVALSHA) the server has answered so far. */
async function scriptCalls(): Promise<number> {
  const info = await admin.info('commandstats');
  let calls = 0;
  for (const match of info.matchAll(/cmdstat_(evalsha|eval):calls=(\d+)/g)) calls += Number(match[2]);
  return calls;
}

/** Runs one cycle of `items` no-op items (a lease per item, the default) and returns the script calls it made. */
async function callsForCycle(items: number, concurrency: number, prefix: string): Promise<number> {
  const store = await RedisStore.open(redis.url, { prefix, commandTimeoutMs: 15_000 });
  const loop = defineLoop({
    name: 'path',
    trigger: { manual: true },
    observe: () => Array.from({ length: items }, (_, i) => `item-${i}`),
    act: () => null,
    policies: { concurrency },
  });
  const runtime = createRuntime({ loops: [loop], store });
  try {
    await runtime.start({ schedule: false });
    const before = await scriptCalls();
    const record = await runtime.run('path');
    const calls = (await scriptCalls()) - before;
    assert.equal(record.counts.succeeded, items, JSON.stringify(record.outcome));
    return calls;
  } finally {
    await runtime.stop();
    await store.close();
  }
}

describe('Redis item path', () => {
  it('costs one script call per item at concurrency 1: the last result and the next lease share it', async () => {
    const small = await callsForCycle(SMALL, 1, 'path-small:');
    const large = await callsForCycle(LARGE, 1, 'path-large:');
    const perItem = (large - small) / (LARGE - SMALL);
    // Two calls per item (result, then the next lease) would give 2.0; the event log's flushes every
    // 250 ms add a few calls more to the longer run on a slow machine.
    assert.ok(perItem >= 0.95 && perItem < 1.3, `expected about 1 script call per item, got ${perItem.toFixed(3)}`);
  });
});
