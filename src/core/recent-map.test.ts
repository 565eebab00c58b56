import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RecentMap } from './recent-map.ts';

describe('RecentMap', () => {
  it('drops the least recently set entry past the limit and returns it', () => {
    const m = new RecentMap<string, number>(2);
    assert.equal(m.set('a', 1), undefined);
    assert.equal(m.set('b', 2), undefined);
    assert.equal(m.set('a', 3), undefined); // set again: now the most recent
    assert.deepEqual(m.set('c', 4), ['b', 2]);
    assert.deepEqual(
      [...m.entries()],
      [
        ['a', 3],
        ['c', 4],
      ],
    );
    assert.deepEqual(m.set('d', 5), ['a', 3]);
    assert.equal(m.size, 2);
  });

  it('a deleted key is not dropped later, and the next oldest goes instead', () => {
    const m = new RecentMap<string, number>(3);
    for (const [k, v] of [
      ['a', 1],
      ['b', 2],
      ['c', 3],
    ] as const)
      m.set(k, v);
    assert.deepEqual(m.set('d', 4), ['a', 1]);
    assert.equal(m.delete('b'), true);
    assert.equal(m.set('e', 5), undefined); // back at the limit: nothing to drop
    assert.deepEqual(m.set('f', 6), ['c', 3]);
    assert.deepEqual([...m.keys()], ['d', 'e', 'f']);
  });

  it('matches a plain map that drops its first key, over many mixed operations', () => {
    const limit = 50;
    const m = new RecentMap<number, number>(limit);
    const reference = new Map<number, number>();
    let x = 7;
    const next = () => {
      x = (x * 1_103_515_245 + 12_345) % 2_147_483_648; // a fixed sequence: the test is the same every run
      return x;
    };
    for (let i = 0; i < 20_000; i++) {
      const key = next() % 120;
      if (next() % 5 === 0) {
        assert.equal(m.delete(key), reference.delete(key));
        continue;
      }
      reference.delete(key);
      reference.set(key, i);
      let expected: [number, number] | undefined;
      if (reference.size > limit) {
        expected = reference.entries().next().value as [number, number];
        reference.delete(expected[0]);
      }
      assert.deepEqual(m.set(key, i), expected, `operation ${i}`);
    }
    assert.deepEqual([...m.entries()], [...reference.entries()]);
  });

  it('refuses a limit that is not a positive integer', () => {
    assert.throws(() => new RecentMap(0), /limit must be an integer >= 1, got 0/);
    assert.throws(() => new RecentMap(1.5), /got 1\.5/);
  });
});
