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
