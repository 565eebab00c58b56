import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { maxInAnyWindow } from '../../src/policies/window-log.ts';
import type { Store } from '../../src/storage/store.ts';

/**
 * The RateLimitStore's promises (src/storage/store.ts): at most `limit`
 * grants in any window of `windowMs`. Most cases use 10 per 1000 ms (after a
 * pause: one more slot every 100 ms).
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

    it('a new bucket grants `limit` at once, then waitMs is the time until the oldest grant leaves the window', async () => {
      assert.equal(await drain(0), 10);
      assert.deepEqual(await take(0), { granted: false, waitMs: 1000 });
      assert.deepEqual(await take(400), { granted: false, waitMs: 600 });
      assert.equal(await drain(1000), 10, 'the whole first burst left the window together');
      assert.deepEqual(await take(1999), { granted: false, waitMs: 1 });
    });

    it('grants spread over the window leave it one by one, and a refused take spends nothing', async () => {
      for (let i = 0; i < 10; i++) assert.deepEqual(await take(i * 100), granted);
      for (let i = 0; i < 5; i++) assert.deepEqual(await take(950), { granted: false, waitMs: 50 }); // must not count
      assert.deepEqual(await take(1000), granted);
      assert.deepEqual(await take(1000), { granted: false, waitMs: 100 });
      assert.deepEqual(await take(1100), granted);
    });

    it('an idle bucket grants `limit` again, no more', async () => {
      await drain(0);
      assert.equal(await drain(1_000_000), 10);
    });

    it('buckets are separate by name', async () => {
      await drain(0, 'a');
      assert.deepEqual(await take(0, 'b'), granted);
      assert.deepEqual(await get().buckets.take('c', 1, 60_000, 0), granted);
      assert.deepEqual(await get().buckets.take('c', 1, 60_000, 0), { granted: false, waitMs: 60_000 });
    });

    it('greedy takers at odd limits: a caller that waits waitMs is granted, and no window holds more than limit', async () => {
      for (const [limit, windowMs] of [
        [3, 1000],
        [7, 1050],
        [100, 61_000],
        [1, 333],
      ] as const) {
        const name = `odd-${limit}-${windowMs}`;
        let now = 0;
        const grants: number[] = [];
        for (let step = 0; step < 3 * limit + 20; step++) {
          const answer = await get().buckets.take(name, limit, windowMs, now);
          if (!answer.granted) {
            assert.ok(answer.waitMs > 0 && answer.waitMs <= windowMs, `${name}: ${answer.waitMs}`);
            now += answer.waitMs;
            assert.deepEqual(await get().buckets.take(name, limit, windowMs, now), granted, `${name} at ${now}`);
          }
          grants.push(now);
          now += step % 3; // a little time between some takes
        }
        assert.ok(maxInAnyWindow(grants, windowMs - 1) <= limit, `${name}: ${maxInAnyWindow(grants, windowMs - 1)}`);
        const windows = now / windowMs;
        assert.ok(
          grants.length >= Math.floor(windows) * limit,
          `${name}: ${grants.length} grants in ${windows} windows`,
        );
      }
    });

    it('a now behind the newest grant still counts it', async () => {
      await drain(1000);
      assert.deepEqual(await take(900), { granted: false, waitMs: 1100 });
      assert.deepEqual(await take(2000), granted);
    });

    it('pause grants nothing until untilMs, then restarts at the steady rate (limit per window)', async () => {
      const buckets = get().buckets;
      await take(0);
      await buckets.pause('llm', 5000);
      assert.deepEqual(await take(1000), { granted: false, waitMs: 4000 });
      assert.deepEqual(await take(5000), granted);
      assert.deepEqual(await take(5000), { granted: false, waitMs: 100 }, 'no burst when the pause ends');
      assert.deepEqual(await take(5100), granted);
      assert.deepEqual(await take(0, 'other'), granted, 'other buckets are not paused');
    });

    it('pause never shortens an existing pause, and a later one extends it', async () => {
      const buckets = get().buckets;
      await buckets.pause('llm', 5000);
      await buckets.pause('llm', 3000);
      assert.deepEqual(await take(3000), { granted: false, waitMs: 2000 });
      await buckets.pause('llm', 8000);
      assert.deepEqual(await take(5000), { granted: false, waitMs: 3000 });
      assert.deepEqual(await take(8000), granted);
    });

    it('a pause counts on top of the grants still in the window', async () => {
      const buckets = get().buckets;
      await drain(0);
      await buckets.pause('llm', 50);
      assert.deepEqual(await take(0), { granted: false, waitMs: 1000 }, 'the window, longer than the pause, decides');
      await buckets.pause('llm', 1500);
      assert.deepEqual(await take(1000), { granted: false, waitMs: 500 });
      assert.deepEqual(await take(1500), granted);
      assert.deepEqual(await take(1500), { granted: false, waitMs: 100 });
    });

    it('pause of a bucket nothing took from yet: one call when it ends, all of them a window later', async () => {
      const buckets = get().buckets;
      await buckets.pause('fresh', 1000);
      assert.deepEqual(await take(0, 'fresh'), { granted: false, waitMs: 1000 });
      assert.equal(await drain(1000, 'fresh'), 1);
      assert.equal(
        await drain(1999, 'fresh'),
        9,
        'the ramp has opened every slot; the first grant is still in the window',
      );
      assert.equal(await drain(2000, 'fresh'), 1);
    });

    it('take rejects a limit below 1 or not whole, or a windowMs that is not positive, naming the bucket', async () => {
      const buckets = get().buckets;
      await assert.rejects(buckets.take('llm', 0, 1000, 0), /rate bucket "llm": expected limit/);
      await assert.rejects(buckets.take('llm', 1.5, 1000, 0), /rate bucket "llm": expected limit/);
      await assert.rejects(buckets.take('llm', 10, 0, 0), /rate bucket "llm": expected windowMs/);
      await assert.rejects(buckets.take('llm', Number.NaN, 1000, 0), RangeError);
    });
  });
}
