import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Store } from '../../src/storage/store.ts';

/**
 * The RateLimitStore's promises (src/storage/store.ts). Most cases use a
 * bucket of 10 per 1000 ms: one token refills every 100 ms.
 */
export function bucketContract(get: () => Store): void {
  describe('buckets', () => {
    const take = (now: number, name = 'llm') => get().buckets.take(name, 10, 1000, now);
    const granted = { granted: true, waitMs: 0 };

    /** Takes until refused at `now`; returns how many were granted. */
    async function drain(now: number, name = 'llm'): Promise<number> {
      let n = 0;
      while ((await take(now, name)).granted) n++;
      return n;
    }

    it('a new bucket is full: capacity takes are granted, then waitMs is the time until the next token', async () => {
      assert.equal(await drain(0), 10);
      assert.deepEqual(await take(0), { granted: false, waitMs: 100 });
      assert.deepEqual(await take(40), { granted: false, waitMs: 60 });
      assert.deepEqual(await take(100), granted);
      assert.deepEqual(await take(100), { granted: false, waitMs: 100 });
    });

    it('refills continuously at capacity / perMs, and a refused take spends nothing', async () => {
      await drain(0);
      for (let i = 0; i < 5; i++) await take(10); // refused, must not count
      assert.deepEqual(await take(250), granted); // 2.5 tokens
      assert.deepEqual(await take(250), granted);
      assert.deepEqual(await take(250), { granted: false, waitMs: 50 }); // 0.5 left
      assert.deepEqual(await take(300), granted);
    });

    it('refills up to capacity and no further', async () => {
      await drain(0);
      assert.equal(await drain(1_000_000), 10);
    });

    it('buckets are separate by name', async () => {
      await drain(0, 'a');
      assert.deepEqual(await take(0, 'b'), granted);
      assert.deepEqual(await get().buckets.take('c', 1, 60_000, 0), granted);
      assert.deepEqual(await get().buckets.take('c', 1, 60_000, 0), { granted: false, waitMs: 60_000 });
    });

    it('a caller that waits the waitMs it was told is granted, also at rates that do not divide evenly', async () => {
      for (const [capacity, perMs] of [
        [3, 1000],
        [7, 1000],
        [100, 60_000],
        [1, 333],
      ] as const) {
        const name = `odd-${capacity}-${perMs}`;
        let now = 0;
        let grants = 0;
        for (let step = 0; step < 60; step++) {
          const answer = await get().buckets.take(name, capacity, perMs, now);
          if (answer.granted) {
            grants++;
            continue;
          }
          assert.ok(answer.waitMs > 0 && answer.waitMs <= Math.ceil(perMs / capacity), `${name}: ${answer.waitMs}`);
          now += answer.waitMs;
          assert.deepEqual(await get().buckets.take(name, capacity, perMs, now), granted, `${name} at ${now}`);
          grants++;
        }
        // Never more than the bucket's capacity plus what refilled over the run.
        assert.ok(grants <= capacity + (now * capacity) / perMs + 1e-6, `${name}: ${grants} grants by ${now}`);
      }
    });

    it('a now behind the bucket last take refills nothing', async () => {
      await drain(1000);
      assert.deepEqual(await take(900), { granted: false, waitMs: 200 });
      assert.deepEqual(await take(1100), granted);
    });

    // A pause empties the bucket; refill restarts at the steady rate (1 token per 100 ms here) when it ends.
    it('pause grants nothing until untilMs, then refills from empty at the steady rate', async () => {
      const buckets = get().buckets;
      await take(0);
      await buckets.pause('llm', 5000);
      assert.deepEqual(await take(1000), { granted: false, waitMs: 4100 });
      assert.deepEqual(await take(5000), { granted: false, waitMs: 100 }, 'no burst when the pause ends');
      assert.deepEqual(await take(5100), granted);
      assert.deepEqual(await take(0, 'other'), granted, 'other buckets are not paused');
    });

    it('pause never shortens an existing pause, and a later one extends it', async () => {
      const buckets = get().buckets;
      await buckets.pause('llm', 5000);
      await buckets.pause('llm', 3000);
      assert.deepEqual(await take(3000), { granted: false, waitMs: 2100 });
      await buckets.pause('llm', 8000);
      assert.deepEqual(await take(5000), { granted: false, waitMs: 3100 });
      assert.deepEqual(await take(8100), granted);
    });

    it('a pause on an empty bucket delays its next token by the pause', async () => {
      const buckets = get().buckets;
      await drain(0);
      await buckets.pause('llm', 50);
      assert.deepEqual(await take(0), { granted: false, waitMs: 150 });
      await buckets.pause('llm', 500);
      assert.deepEqual(await take(0), { granted: false, waitMs: 600 });
      assert.deepEqual(await take(600), granted);
    });

    it('pause of a bucket nothing took from yet: empty when the pause ends, then refilling', async () => {
      const buckets = get().buckets;
      await buckets.pause('fresh', 1000);
      assert.deepEqual(await take(0, 'fresh'), { granted: false, waitMs: 1100 });
      assert.equal(await drain(1100, 'fresh'), 1);
      assert.equal(await drain(2100, 'fresh'), 10, 'full again one period later');
    });

    it('take rejects a capacity below 1 or a perMs that is not positive, naming the bucket', async () => {
      const buckets = get().buckets;
      await assert.rejects(buckets.take('llm', 0, 1000, 0), /rate bucket "llm": expected capacity/);
      await assert.rejects(buckets.take('llm', 10, 0, 0), /rate bucket "llm": expected perMs/);
      await assert.rejects(buckets.take('llm', Number.NaN, 1000, 0), RangeError);
    });
  });
}
