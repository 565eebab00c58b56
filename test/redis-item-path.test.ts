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

describe('Redis item path at shutdown', () => {
  it('at concurrency 1, a stop that begins while the next item lease is in flight (sent with the last result) releases that lease at once and returns its item to the queue', async () => {
    const ITEMS = 6;
    const NEXT = 'item-3'; // its lease goes out in the same script call as item-2's result
    const store = await RedisStore.open(redis.url, { prefix: 'path-stop:', commandTimeoutMs: 15_000 });
    const acted: string[] = [];
    let stopping: Promise<unknown> | undefined;
    const loop = defineLoop({
      name: 'path',
      trigger: { manual: true },
      observe: () => Array.from({ length: ITEMS }, (_, i) => `item-${i}`),
      act: ({ key }) => {
        acted.push(key);
        return null;
      },
      policies: { concurrency: 1 },
    });
    const leases = store.leases;
    // The lease of NEXT is granted by Redis; before the runtime sees it, shutdown begins.
    const slowed: typeof store = new Proxy(store, {
      get: (target, prop) => {
        if (prop === 'leases') {
          return {
            ...leases,
            acquire: async (...args: Parameters<typeof leases.acquire>) => {
              const lease = await leases.acquire(...args);
              if (args[0] === `path/${NEXT}`) {
                stopping = runtime.stop();
                // The runner closes a few turns into stop(); the lease reaches the runtime after that.
                for (let i = 0; i < 50; i++) await new Promise((resolve) => setImmediate(resolve));
              }
              return lease;
            },
          };
        }
        const value = Reflect.get(target, prop, target);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const runtime = createRuntime({ loops: [loop], store: slowed });
    const check = await RedisStore.open(redis.url, { prefix: 'path-stop:' });
    try {
      await runtime.start({ schedule: false });
      const record = await runtime.run('path');
      await stopping;
      assert.ok(stopping, 'the lease of the next item was never asked for');
      assert.deepEqual(acted, ['item-0', 'item-1', 'item-2'], 'no item starts once shutdown began');
      assert.equal(record.counts.succeeded, 3);
      assert.match(record.outcome.kind === 'failed' ? record.outcome.error.message : '', /interrupted by shutdown/);
      // Released, not left to expire: the item frees the lease when it sees the stop (the lease manager's
      // release of every held lease at stop is the second line), so none is left in Redis, long before its
      // 10 s TTL. With neither, this fails with path/item-3 still leased.
      assert.deepEqual(await check.leases.list(Date.now(), { prefix: 'path/' }), []);
      // NEXT and the items after it are back in the queue, unclaimed: the next cycle (or a peer) runs them now.
      const queued = await check.queue.list('path');
      assert.deepEqual(
        queued.map((item) => [item.key, item.claim]),
        ['item-3', 'item-4', 'item-5'].map((key) => [key, null]),
      );
    } finally {
      await runtime.stop();
      await check.close();
      await store.close();
    }
  });
});
