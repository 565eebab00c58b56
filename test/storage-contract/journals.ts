import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Store } from '../../src/storage/store.ts';

/** The JournalStore's promises (src/storage/store.ts). */
export function journalContract(get: () => Store): void {
  describe('journals', () => {
    const seqsOf = async (journal: string, options?: { after?: number; limit?: number }) =>
      (await get().journals.read(journal, options)).map((e) => e.seq);

    it('append numbers entries 1, 2, 3... per journal; read returns them as written, oldest first', async () => {
      const journals = get().journals;
      assert.deepEqual(await journals.append('audit', [{ d: 'scale-up' }, 'two'], 1000), [1, 2]);
      assert.deepEqual(await journals.append('audit', [], 1500), []);
      assert.deepEqual(await journals.append('audit', [[3], null], 2000), [3, 4]);
      assert.deepEqual(await journals.read('audit'), [
        { seq: 1, at: 1000, value: { d: 'scale-up' } },
        { seq: 2, at: 1000, value: 'two' },
        { seq: 3, at: 2000, value: [3] },
        { seq: 4, at: 2000, value: null },
      ]);
      assert.deepEqual(await journals.read('never-written'), []);
    });

    it('journals are separate: each has its own seqs and entries', async () => {
      const journals = get().journals;
      await journals.append('a', [1, 2, 3], 1);
      assert.deepEqual(await journals.append('b', ['x'], 1), [1]);
      assert.deepEqual(await journals.append('a:b', ['y'], 1), [1]);
      assert.deepEqual(await seqsOf('a'), [1, 2, 3]);
      assert.deepEqual(
        (await journals.read('b')).map((e) => e.value),
        ['x'],
      );
      assert.equal(await journals.trim('b', { keepLast: 0 }), 1);
      assert.deepEqual(await seqsOf('a'), [1, 2, 3]);
    });

    it('read returns entries after a seq, at most limit (1000 by default)', async () => {
      const journals = get().journals;
      await journals.append(
        'snapshots',
        Array.from({ length: 1005 }, (_, i) => ({ i })),
        1,
      );
      assert.deepEqual(await seqsOf('snapshots', { after: 2, limit: 3 }), [3, 4, 5]);
      assert.deepEqual(await seqsOf('snapshots', { after: 1003 }), [1004, 1005]);
      assert.deepEqual(await seqsOf('snapshots', { after: 1005 }), []);
      assert.deepEqual(await seqsOf('snapshots', { limit: 0 }), []);
      const all = await journals.read('snapshots');
      assert.equal(all.length, 1000);
      assert.deepEqual(all.at(-1), { seq: 1000, at: 1, value: { i: 999 } });
    });

    it('trim keepLast keeps the newest entries; seqs continue after it, never reused', async () => {
      const journals = get().journals;
      await journals.append('audit', [1, 2, 3, 4, 5], 1);
      assert.equal(await journals.trim('audit', { keepLast: 2 }), 3);
      assert.deepEqual(await seqsOf('audit'), [4, 5]);
      assert.equal(await journals.trim('audit', { keepLast: 2 }), 0);
      assert.equal(await journals.trim('audit', { keepLast: 0 }), 2);
      assert.deepEqual(await seqsOf('audit'), []);
      assert.deepEqual(await journals.append('audit', ['after'], 2), [6]);
      assert.deepEqual(await journals.read('audit'), [{ seq: 6, at: 2, value: 'after' }]);
    });

    it('trim before removes the oldest entries while their at is before it, and stops at the first that is not', async () => {
      const journals = get().journals;
      await journals.append('audit', ['a'], 1000);
      await journals.append('audit', ['b', 'c'], 2000);
      await journals.append('audit', ['late clock'], 1500); // a peer whose clock is behind
      await journals.append('audit', ['d'], 3000);
      assert.equal(await journals.trim('audit', { before: 2000 }), 1, 'stops at the first entry at 2000');
      assert.deepEqual(await seqsOf('audit'), [2, 3, 4, 5]);
      assert.equal(await journals.trim('audit', { before: 2500 }), 3, 'the late entry goes with those before it');
      assert.deepEqual(await seqsOf('audit'), [5]);
      assert.equal(await journals.trim('audit', { before: 0 }), 0);
      assert.equal(await journals.trim('audit', {}), 0, 'no rule removes nothing');
      assert.equal(await journals.trim('nothing-here', { before: 9999, keepLast: 0 }), 0);
    });

    it('trim with before and keepLast removes what either rule removes', async () => {
      const journals = get().journals;
      await journals.append('audit', [1, 2], 1000);
      await journals.append('audit', [3, 4, 5], 5000);
      assert.equal(await journals.trim('audit', { before: 2000, keepLast: 4 }), 2, 'the time rule goes further');
      assert.deepEqual(await seqsOf('audit'), [3, 4, 5]);
      assert.equal(await journals.trim('audit', { before: 2000, keepLast: 1 }), 2, 'the count rule goes further');
      assert.deepEqual(await seqsOf('audit'), [5]);
    });

    it('a reader resuming after trimmed entries sees the gap in the seqs', async () => {
      const journals = get().journals;
      await journals.append('audit', [1, 2, 3, 4], 1);
      const lastRead = 1;
      await journals.trim('audit', { keepLast: 2 });
      const [next] = await journals.read('audit', { after: lastRead });
      assert.equal(next?.seq, 3, 'seq 2 was trimmed before it was read');
    });

    it('rejects a value that is not JSON with a TypeError naming the entry, appending none of the batch', async () => {
      const journals = get().journals;
      await journals.append('audit', ['kept'], 1);
      await assert.rejects(journals.append('audit', ['fine', { when: new Date(0) }], 2), (error: unknown) => {
        assert.ok(error instanceof TypeError);
        assert.match(
          error.message,
          /journals\.append audit \(entry 1\): expected value\.when to be a JSON value, got a Date/,
        );
        return true;
      });
      await assert.rejects(journals.append('audit', [undefined], 2), TypeError);
      assert.deepEqual(await journals.append('audit', ['next'], 3), [2], 'no seq was spent on the refused batch');
      assert.deepEqual(
        (await journals.read('audit')).map((e) => e.value),
        ['kept', 'next'],
      );
    });

    it('rejects an empty name, a bad now, a bad after, before or keepLast', async () => {
      const journals = get().journals;
      await assert.rejects(journals.append('', [1], 1), /journals\.append: expected journal to be a non-empty string/);
      await assert.rejects(journals.append('j', [1], Number.NaN), RangeError);
      await assert.rejects(journals.read('j', { after: Number.NaN }), RangeError);
      await assert.rejects(journals.trim('j', { before: Number.POSITIVE_INFINITY }), RangeError);
      await assert.rejects(journals.trim('j', { keepLast: -1 }), /expected keepLast to be an integer >= 0, got -1/);
      assert.deepEqual(await journals.read('j'), []);
    });
  });
}
