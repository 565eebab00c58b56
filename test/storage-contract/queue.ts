import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Store } from '../../src/storage/store.ts';
import { claim, item, result } from './fixtures.ts';

/** The WorkQueue's promises (src/storage/store.ts). */
export function queueContract(get: () => Store): void {
  describe('queue', () => {
    it('enqueue returns the added rows in the order given, pending when no claim', async () => {
      const items = [item('b', { priority: 1 }), item('a', { payload: [1, 'x', null] }), item('c')];
      const added = await get().queue.enqueue('alpha', 'c1', items, null, 1000);
      assert.equal(added.length, 3);
      added.forEach((row, i) => {
        const { id, ...rest } = row;
        assert.equal(typeof id, 'string');
        assert.deepEqual(rest, { ...items[i], loop: 'alpha', cycleId: 'c1', enqueuedAt: 1000, claim: null });
      });
      assert.equal(new Set(added.map((r) => r.id)).size, 3);
    });

    it('enqueue with a claim adds the rows already claimed', async () => {
      const added = await get().queue.enqueue('alpha', 'c1', [item('a')], claim('w1', 5000), 1000);
      assert.deepEqual(added[0]?.claim, { owner: 'w1', until: 5000 });
      assert.deepEqual((await get().queue.list())[0]?.claim, { owner: 'w1', until: 5000 });
    });

    it('enqueue skips items whose idempotency key is queued, and returns only the added rows', async () => {
      const q = get().queue;
      await q.enqueue('alpha', 'c1', [item('a'), item('b')], null, 1000);
      const added = await q.enqueue('alpha', 'c2', [item('b'), item('c'), item('c', { priority: 0 })], null, 2000);
      assert.deepEqual(
        added.map((r) => [r.key, r.cycleId, r.priority]),
        [['c', 'c2', 2]],
      );
      const listed = await q.list();
      assert.deepEqual(listed.map((r) => r.key).sort(), ['a', 'b', 'c']);
      assert.equal(listed.find((r) => r.key === 'b')?.cycleId, 'c1');
      const otherLoop = await q.enqueue('beta', 'c3', [item('a')], null, 3000);
      assert.deepEqual(otherLoop, [], 'the idempotency key is unique in the whole queue');
    });

    it('enqueue accepts an idempotency key again once its item completed', async () => {
      const q = get().queue;
      const [row] = await q.enqueue('alpha', 'c1', [item('a')], claim('w1'), 1000);
      assert.equal(await q.complete(row!.id, 'w1', result('c1', 'a')), true);
      assert.equal((await q.enqueue('alpha', 'c2', [item('a')], null, 2000)).length, 1);
    });

    it('items claimed at enqueue are not claimable until their claim expires', async () => {
      const q = get().queue;
      await q.enqueue('alpha', 'c1', [item('a')], claim('w1', 5000), 1000);
      assert.deepEqual(await q.claimStale('alpha', 'c2', claim('w2', 9000), 4999, 10), []);
      const taken = await q.claimStale('alpha', 'c2', claim('w2', 9000), 5000, 10);
      assert.deepEqual(
        taken.map((r) => [r.key, r.claim]),
        [['a', { owner: 'w2', until: 9000 }]],
      );
    });

    it('claimStale takes lowest priority number first, then oldest, up to limit', async () => {
      const q = get().queue;
      await q.enqueue('alpha', 'c1', [item('low', { priority: 3 }), item('crit-old', { priority: 0 })], null, 1000);
      await q.enqueue('alpha', 'c1', [item('med', { priority: 2 }), item('crit-new', { priority: 0 })], null, 2000);
      await q.enqueue('alpha', 'c1', [item('med-2', { priority: 2 })], null, 2000);
      const first = await q.claimStale('alpha', 'c2', claim('w'), 3000, 3);
      assert.deepEqual(
        first.map((r) => r.key),
        ['crit-old', 'crit-new', 'med'],
      );
      const rest = await q.claimStale('alpha', 'c2', claim('w'), 3000, 10);
      assert.deepEqual(
        rest.map((r) => r.key),
        ['med-2', 'low'],
      );
      assert.deepEqual(await q.claimStale('alpha', 'c2', claim('w'), 3000, 10), []);
    });

    it('claimStale takes pending and expired items of the loop, re-assigned to the cycle', async () => {
      const q = get().queue;
      await q.enqueue('alpha', 'c1', [item('pending')], null, 1000);
      await q.enqueue('alpha', 'c1', [item('expired')], claim('dead', 2000), 1000);
      await q.enqueue('alpha', 'c1', [item('held')], claim('alive', 9000), 1000);
      await q.enqueue('beta', 'c1', [item('other-loop')], null, 1000);
      const taken = await q.claimStale('alpha', 'c2', claim('w2', 8000), 3000, 10);
      assert.deepEqual(taken.map((r) => [r.key, r.cycleId, r.claim]).sort(), [
        ['expired', 'c2', { owner: 'w2', until: 8000 }],
        ['pending', 'c2', { owner: 'w2', until: 8000 }],
      ]);
      const listed = await q.list('alpha');
      for (const row of listed.filter((r) => r.key !== 'held')) {
        assert.equal(row.cycleId, 'c2');
        assert.deepEqual(row.claim, { owner: 'w2', until: 8000 });
      }
      assert.deepEqual(listed.find((r) => r.key === 'held')?.claim, { owner: 'alive', until: 9000 });
      assert.deepEqual(await q.claimStale('alpha', 'c3', claim('w3'), 3000, 0), []);
    });

    it('complete removes the item and stores its result when the owner holds the claim', async () => {
      const q = get().queue;
      const [row] = await q.enqueue('alpha', 'c1', [item('a')], claim('w1'), 1000);
      const res = result('c1', 'a', { output: 'done' });
      assert.equal(await q.complete(row!.id, 'w1', res), true);
      assert.deepEqual(await q.list(), []);
      assert.deepEqual(await get().cycles.items('c1'), [res]);
      assert.equal(await q.complete(row!.id, 'w1', res), false, 'a second complete finds nothing');
      assert.equal((await get().cycles.items('c1')).length, 1);
    });

    it('complete returns false and writes nothing when the caller does not hold the claim', async () => {
      const q = get().queue;
      const [held] = await q.enqueue('alpha', 'c1', [item('held')], claim('w1', 5000), 1000);
      const [pending] = await q.enqueue('alpha', 'c1', [item('pending')], null, 1000);
      assert.equal(await q.complete(held!.id, 'intruder', result('c1', 'held')), false);
      assert.equal(await q.complete(pending!.id, 'w1', result('c1', 'pending')), false);
      assert.equal(await q.complete('no-such-id', 'w1', result('c1', 'x')), false);
      // Its claim expired and another owner took it over: the first owner's result is refused.
      await q.claimStale('alpha', 'c2', claim('w2', 9000), 6000, 10);
      assert.equal(await q.complete(held!.id, 'w1', result('c1', 'held')), false);
      assert.deepEqual(await get().cycles.items('c1'), []);
      assert.equal((await q.list()).length, 2);
    });

    it('release moves the owner claimed items back to pending and counts them', async () => {
      const q = get().queue;
      const mine = await q.enqueue('alpha', 'c1', [item('a'), item('b')], claim('w1'), 1000);
      const [theirs] = await q.enqueue('alpha', 'c1', [item('c')], claim('w2'), 1000);
      const ids = [...mine.map((r) => r.id), theirs!.id, 'no-such-id'];
      assert.equal(await q.release(ids, 'w1'), 2);
      const claims = Object.fromEntries((await q.list()).map((r) => [r.key, r.claim]));
      assert.deepEqual(claims, { a: null, b: null, c: { owner: 'w2', until: 99_000 } });
      assert.equal(await q.release(ids, 'w1'), 0);
      const again = await q.claimStale('alpha', 'c2', claim('w3'), 1000, 10);
      assert.deepEqual(again.map((r) => r.key).sort(), ['a', 'b']);
    });

    it('depth counts items per loop and priority, pending and claimed together', async () => {
      const q = get().queue;
      assert.deepEqual(await q.depth(), []);
      await q.enqueue('beta', 'c1', [item('x', { priority: 1 })], null, 1000);
      await q.enqueue('alpha', 'c1', [item('a', { priority: 2 }), item('b', { priority: 0 })], claim('w'), 1000);
      await q.enqueue('alpha', 'c1', [item('c', { priority: 2 })], null, 1000);
      assert.deepEqual(await q.depth(), [
        { loop: 'alpha', priority: 0, count: 1 },
        { loop: 'alpha', priority: 2, count: 2 },
        { loop: 'beta', priority: 1, count: 1 },
      ]);
      assert.deepEqual(await q.depth('beta'), [{ loop: 'beta', priority: 1, count: 1 }]);
      assert.deepEqual(await q.depth('gamma'), []);
    });

    it('list returns items lowest priority number first, then oldest, by loop and up to limit', async () => {
      const q = get().queue;
      await q.enqueue('alpha', 'c1', [item('a3', { priority: 3 })], null, 1000);
      await q.enqueue('beta', 'c1', [item('b1', { priority: 1 })], null, 1500);
      await q.enqueue('alpha', 'c1', [item('a1-new', { priority: 1 })], claim('w'), 3000);
      await q.enqueue('alpha', 'c1', [item('a1-old', { priority: 1 })], null, 2000);
      assert.deepEqual(
        (await q.list()).map((r) => r.key),
        ['b1', 'a1-old', 'a1-new', 'a3'],
      );
      assert.deepEqual(
        (await q.list('alpha')).map((r) => r.key),
        ['a1-old', 'a1-new', 'a3'],
      );
      assert.deepEqual(
        (await q.list('alpha', { limit: 1 })).map((r) => r.key),
        ['a1-old'],
      );
      assert.deepEqual(await q.list('gamma'), []);
    });

    it('complete with a current fence removes the item and stores its result', async () => {
      const store = get();
      const lease = await store.leases.acquire('k', 'w1', 10_000, 1000);
      const [row] = await store.queue.enqueue('alpha', 'c1', [item('a')], claim('w1'), 1000);
      const res = result('c1', 'a');
      assert.equal(await store.queue.complete(row!.id, 'w1', res, { key: 'k', token: lease!.token }), true);
      assert.deepEqual(await store.queue.list(), []);
      assert.deepEqual(await store.cycles.items('c1'), [res]);
    });

    it('complete with a fence older than the key latest token returns false and writes nothing', async () => {
      const store = get();
      const first = await store.leases.acquire('k', 'w1', 1000, 1000);
      // w1 stalls past its lease; w2 takes the key over.
      const second = await store.leases.acquire('k', 'w2', 1000, 2500);
      assert.ok(first && second && second.token > first.token);
      const [row] = await store.queue.enqueue('alpha', 'c1', [item('a')], claim('w1'), 1000);
      assert.equal(
        await store.queue.complete(row!.id, 'w1', result('c1', 'a'), { key: 'k', token: first.token }),
        false,
      );
      assert.deepEqual(await store.cycles.items('c1'), []);
      assert.deepEqual(
        (await store.queue.list()).map((r) => [r.id, r.claim]),
        [[row!.id, { owner: 'w1', until: 99_000 }]],
        'the item is still queued and claimed',
      );
      // The fence is checked against the latest token, not against who holds the lease now.
      assert.equal(
        await store.queue.complete(row!.id, 'w1', result('c1', 'a'), { key: 'k', token: second.token }),
        true,
      );
    });

    it('a fence stays stale after the newer holder released the key', async () => {
      const store = get();
      const old = await store.leases.acquire('k', 'w1', 1000, 1000);
      const newer = await store.leases.acquire('k', 'w2', 1000, 3000);
      assert.equal(await store.leases.release('k', 'w2', newer!.token), true);
      const [row] = await store.queue.enqueue('alpha', 'c1', [item('a')], claim('w1'), 1000);
      assert.equal(
        await store.queue.complete(row!.id, 'w1', result('c1', 'a'), { key: 'k', token: old!.token }),
        false,
      );
      assert.deepEqual(await store.cycles.items('c1'), []);
    });

    it('complete accepts a fence not lower than the latest token, also for a key never leased', async () => {
      const q = get().queue;
      const rows = await q.enqueue('alpha', 'c1', [item('a'), item('b')], claim('w1'), 1000);
      const base = await get().leases.currentToken('never-leased');
      assert.equal(await q.complete(rows[0]!.id, 'w1', result('c1', 'a'), { key: 'never-leased', token: base }), true);
      const lease = await get().leases.acquire('k', 'w1', 1000, 1000);
      assert.equal(await q.complete(rows[1]!.id, 'w1', result('c1', 'b'), { key: 'k', token: lease!.token + 6 }), true);
    });

    it('complete with releaseLease frees the fence lease in the same call, whatever the outcome', async () => {
      const store = get();
      const a = await store.leases.acquire('ka', 'w1', 10_000, 1000);
      const b = await store.leases.acquire('kb', 'w1', 10_000, 1000);
      const rows = await store.queue.enqueue('alpha', 'c1', [item('a')], claim('w1'), 1000);
      const [theirs] = await store.queue.enqueue('alpha', 'c1', [item('b')], claim('w2'), 1000);
      const fenceA = { key: 'ka', token: a!.token };
      const release = { releaseLease: true };
      assert.equal(await store.queue.complete(rows[0]!.id, 'w1', result('c1', 'a'), fenceA, release), true);
      // Refused (w2 holds the claim), yet w1's lease on kb is freed all the same.
      assert.equal(
        await store.queue.complete(theirs!.id, 'w1', result('c1', 'b'), { key: 'kb', token: b!.token }, release),
        false,
      );
      assert.deepEqual(await store.leases.list(2000), []);
      assert.deepEqual(
        (await store.cycles.items('c1')).map((r) => r.key),
        ['a'],
      );
      // The token counter is kept: the next lease on ka gets a larger token.
      assert.ok((await store.leases.acquire('ka', 'w3', 10_000, 2000))!.token > a!.token);
    });

    it('complete with releaseLease leaves a lease held by another owner or token alone', async () => {
      const store = get();
      const mine = await store.leases.acquire('k', 'w1', 1000, 1000);
      const theirs = await store.leases.acquire('k', 'w2', 10_000, 2500); // took over after w1 expired
      const [row] = await store.queue.enqueue('alpha', 'c1', [item('a')], claim('w1'), 1000);
      const stale = { key: 'k', token: mine!.token };
      assert.equal(await store.queue.complete(row!.id, 'w1', result('c1', 'a'), stale, { releaseLease: true }), false);
      assert.deepEqual(
        (await store.leases.list(3000)).map((l) => [l.owner, l.token]),
        [['w2', theirs!.token]],
      );
      const [other] = await store.queue.enqueue('alpha', 'c1', [item('b')], claim('w1'), 1000);
      // Without a fence the option does nothing.
      assert.equal(
        await store.queue.complete(other!.id, 'w1', result('c1', 'b'), undefined, { releaseLease: true }),
        true,
      );
      assert.equal((await store.leases.list(3000)).length, 1);
    });

    it('complete with a current fence still needs the claim', async () => {
      const store = get();
      const lease = await store.leases.acquire('k', 'w1', 10_000, 1000);
      const [row] = await store.queue.enqueue('alpha', 'c1', [item('a')], claim('w2'), 1000);
      assert.equal(
        await store.queue.complete(row!.id, 'w1', result('c1', 'a'), { key: 'k', token: lease!.token }),
        false,
      );
      assert.equal((await store.queue.list()).length, 1);
    });

    it('complete without a fence ignores leases', async () => {
      const store = get();
      for (let t = 0; t < 3; t++) await store.leases.acquire('k', `w${t}`, 10, t * 100);
      const [row] = await store.queue.enqueue('alpha', 'c1', [item('a')], claim('w1'), 1000);
      assert.equal(await store.queue.complete(row!.id, 'w1', result('c1', 'a')), true);
    });

    it('completes issued together are each decided on their own claim and fence', async () => {
      const store = get();
      const old = await store.leases.acquire('k', 'w1', 1000, 1000);
      const current = await store.leases.acquire('k', 'w1', 1000, 5000);
      const rows = await store.queue.enqueue(
        'alpha',
        'c1',
        [item('a'), item('b'), item('c'), item('d')],
        claim('w1'),
        0,
      );
      const outcomes = await Promise.all([
        store.queue.complete(rows[0]!.id, 'w1', result('c1', 'a'), { key: 'k', token: old!.token }),
        store.queue.complete(rows[1]!.id, 'w1', result('c1', 'b'), { key: 'k', token: current!.token }),
        store.queue.complete(rows[2]!.id, 'w1', result('c1', 'c')),
        store.queue.complete(rows[3]!.id, 'w2', result('c1', 'd'), { key: 'k', token: current!.token }),
      ]);
      assert.deepEqual(outcomes, [false, true, true, false]);
      assert.deepEqual(
        (await store.cycles.items('c1')).map((r) => r.key),
        ['b', 'c'],
      );
      assert.deepEqual(
        (await store.queue.list()).map((r) => r.key),
        ['a', 'd'],
      );
    });

    it('extend moves the owner claims to until and returns the ids still held, in the order given', async () => {
      const q = get().queue;
      const mine = await q.enqueue('alpha', 'c1', [item('a'), item('b')], claim('w1', 5000), 1000);
      const [theirs] = await q.enqueue('alpha', 'c1', [item('c')], claim('w2', 5000), 1000);
      const [pending] = await q.enqueue('alpha', 'c1', [item('d')], null, 1000);
      const [a, b] = [mine[0]!.id, mine[1]!.id];
      const held = await q.extend([b, theirs!.id, pending!.id, 'no-such-id', a, b], 'w1', 8000);
      assert.deepEqual(held, [b, a]);
      const claims = Object.fromEntries((await q.list()).map((r) => [r.key, r.claim]));
      assert.deepEqual(claims, {
        a: { owner: 'w1', until: 8000 },
        b: { owner: 'w1', until: 8000 },
        c: { owner: 'w2', until: 5000 },
        d: null,
      });
      assert.deepEqual(await q.claimStale('alpha', 'c2', claim('w3'), 6000, 10).then((r) => r.map((x) => x.key)), [
        'c',
        'd',
      ]);
      assert.deepEqual(await q.extend([], 'w1', 9000), []);
    });

    it('extend leaves out claims that were taken over or released, and does not touch them', async () => {
      const q = get().queue;
      const [lost] = await q.enqueue('alpha', 'c1', [item('lost')], claim('w1', 2000), 1000);
      const [released] = await q.enqueue('alpha', 'c1', [item('released')], claim('w1', 9000), 1000);
      await q.claimStale('alpha', 'c2', claim('w2', 7000), 3000, 10);
      await q.release([released!.id], 'w1');
      assert.deepEqual(await q.extend([lost!.id, released!.id], 'w1', 20_000), []);
      const claims = Object.fromEntries((await q.list()).map((r) => [r.key, r.claim]));
      assert.deepEqual(claims, { lost: { owner: 'w2', until: 7000 }, released: null });
    });

    it('extend keeps a claim that expired but was not claimed by anyone else (complete would accept it too)', async () => {
      const q = get().queue;
      const [row] = await q.enqueue('alpha', 'c1', [item('a')], claim('w1', 2000), 1000);
      assert.deepEqual(await q.extend([row!.id], 'w1', 12_000), [row!.id]);
      assert.deepEqual(await q.claimStale('alpha', 'c2', claim('w2'), 5000, 10), []);
    });
  });
}
