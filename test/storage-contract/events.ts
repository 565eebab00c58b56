import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Store } from '../../src/storage/store.ts';
import { event } from './fixtures.ts';

/** The EventLog's promises (src/storage/store.ts). */
export function eventContract(get: () => Store): void {
  describe('events', () => {
    it('append keeps events in order with increasing seq, as written', async () => {
      const log = get().events;
      await log.append([event('one', { data: { n: 1 } }), event('two', { loop: null, data: [1, 2] })]);
      await log.append([]);
      await log.append([event('three', { data: 'x' })]);
      const all = await log.after(0);
      assert.deepEqual(
        all.map(({ seq: _, ...e }) => e),
        [event('one', { data: { n: 1 } }), event('two', { loop: null, data: [1, 2] }), event('three', { data: 'x' })],
      );
      const seqs = all.map((e) => e.seq);
      assert.deepEqual(
        seqs,
        [...seqs].sort((a, b) => a - b),
      );
      assert.equal(new Set(seqs).size, 3);
    });

    it('after returns events with a greater seq, oldest first, by loop, at most limit', async () => {
      const log = get().events;
      await log.append([
        event('a1'),
        event('b1', { loop: 'beta' }),
        event('a2'),
        event('g', { loop: null }),
        event('a3'),
      ]);
      const all = await log.after(0);
      assert.deepEqual(
        (await log.after(all[1]!.seq)).map((e) => e.type),
        ['a2', 'g', 'a3'],
      );
      assert.deepEqual(
        (await log.after(0, { loop: 'alpha' })).map((e) => e.type),
        ['a1', 'a2', 'a3'],
      );
      assert.deepEqual(
        (await log.after(all[0]!.seq, { loop: 'alpha', limit: 1 })).map((e) => e.type),
        ['a2'],
      );
      assert.deepEqual(await log.after(all[4]!.seq), []);
    });

    it('after and latest return at most 1000 events by default', async () => {
      const log = get().events;
      await log.append(Array.from({ length: 1001 }, (_, i) => event(`e${i}`)));
      const after = await log.after(0);
      assert.equal(after.length, 1000);
      assert.equal(after[0]?.type, 'e0');
      const latest = await log.latest();
      assert.equal(latest.length, 1000);
      assert.equal(latest[0]?.type, 'e1');
      assert.equal(latest[999]?.type, 'e1000');
    });

    it('large appends read back whole: after from any seq, latest, by loop, across appends of 2,500 and 3', async () => {
      const log = get().events;
      const loopOf = (i: number) => (i % 5 === 0 ? null : i % 2 === 0 ? 'alpha' : 'beta');
      const big = Array.from({ length: 2500 }, (_, i) => event(`e${i}`, { at: 1000 + i, loop: loopOf(i) }));
      await log.append(big);
      await log.append([event('t0', { at: 9000 }), event('t1', { at: 9001, loop: 'beta' }), event('t2', { at: 9002 })]);
      const types = (events: Array<{ type: string }>) => events.map((e) => e.type);
      const expected = [...big.map((e) => e.type), 't0', 't1', 't2'];
      const all: string[] = [];
      for (let after = 0, page = await log.after(0); page.length > 0; page = await log.after(after)) {
        all.push(...types(page));
        after = page.at(-1)!.seq;
      }
      assert.deepEqual(all, expected);
      const seqs = (await log.after(0, { limit: 3000 })).map((e) => e.seq);
      assert.equal(seqs.length, 2503);
      assert.deepEqual(types(await log.after(seqs[1499]!, { limit: 3 })), ['e1500', 'e1501', 'e1502']);
      assert.deepEqual(types(await log.after(seqs[999]!, { limit: 2, loop: 'alpha' })), ['e1002', 'e1004']);
      assert.deepEqual(types(await log.latest({ limit: 4 })), ['e2499', 't0', 't1', 't2']);
      assert.deepEqual(types(await log.latest({ limit: 3, loop: 'beta' })), ['e2497', 'e2499', 't1']);
      const alpha = big.filter((e) => e.loop === 'alpha').map((e) => e.type);
      assert.deepEqual(types(await log.latest({ limit: 5000, loop: 'alpha' })), [...alpha, 't0', 't2']);
    });

    it('prune takes events before the cutoff out of every view, also from the middle of a large append', async () => {
      const store = get();
      const loopOf = (i: number) => (i % 3 === 0 ? null : i % 2 === 0 ? 'alpha' : 'beta');
      // `at` not in seq order: events are stamped by the process that emitted them.
      const atOf = (i: number) => 10_000 + ((i * 7919) % 2500);
      const big = Array.from({ length: 2500 }, (_, i) => event(`e${i}`, { at: atOf(i), loop: loopOf(i) }));
      await store.events.append(big);
      const cutoff = 10_000 + 1234;
      const kept = big.filter((e) => e.at >= cutoff);
      assert.deepEqual(await store.prune(cutoff), { cycles: 0, events: 2500 - kept.length });
      const types = (events: Array<{ type: string }>) => events.map((e) => e.type);
      assert.deepEqual(types(await store.events.after(0, { limit: 5000 })), types(kept));
      for (const loop of ['alpha', 'beta']) {
        const mine = types(kept.filter((e) => e.loop === loop));
        assert.deepEqual(types(await store.events.after(0, { limit: 5000, loop })), mine, loop);
        assert.deepEqual(types(await store.events.latest({ limit: 5000, loop })), mine, loop);
      }
      assert.deepEqual(await store.prune(cutoff), { cycles: 0, events: 0 });
      assert.deepEqual(await store.prune(20_000), { cycles: 0, events: kept.length });
      assert.deepEqual(await store.events.latest({ limit: 5000 }), []);
      assert.deepEqual(await store.events.after(0, { loop: 'alpha' }), []);
    });

    it('latest returns the newest events, oldest first, by loop, at most limit', async () => {
      const log = get().events;
      assert.deepEqual(await log.latest(), []);
      await log.append([
        event('a1'),
        event('b1', { loop: 'beta' }),
        event('a2'),
        event('a3'),
        event('b2', { loop: 'beta' }),
      ]);
      assert.deepEqual(
        (await log.latest({ limit: 2 })).map((e) => e.type),
        ['a3', 'b2'],
      );
      assert.deepEqual(
        (await log.latest({ loop: 'alpha', limit: 2 })).map((e) => e.type),
        ['a2', 'a3'],
      );
      assert.deepEqual(
        (await log.latest({ loop: 'beta' })).map((e) => e.type),
        ['b1', 'b2'],
      );
    });
  });
}
