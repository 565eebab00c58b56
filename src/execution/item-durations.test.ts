import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemoryStore } from '../storage/memory/memory-store.ts';
import { DURATIONS_NAMESPACE, ItemDurations, MAX_KEYS } from './item-durations.ts';

const items = (...specs: Array<[string, number]>) => specs.map(([key, priority]) => ({ key, priority }));
const keysOf = (list: ReadonlyArray<{ key: string }>) => list.map((i) => i.key);

describe('ItemDurations', () => {
  it('without history: by priority only, ties in their given order', () => {
    const d = new ItemDurations('l');
    assert.deepEqual(keysOf(d.order(items(['a', 2], ['b', 0], ['c', 2], ['d', 0]))), ['b', 'd', 'a', 'c']);
  });

  it('within a priority the longest expected first; priority still comes first', () => {
    const d = new ItemDurations('l');
    d.record('short', 100);
    d.record('long', 900);
    d.record('mid', 500);
    d.record('urgent-short', 10);
    const ordered = d.order(items(['short', 1], ['mid', 1], ['long', 1], ['urgent-short', 0]));
    assert.deepEqual(keysOf(ordered), ['urgent-short', 'long', 'mid', 'short']);
  });

  it('a key never run takes the mean of the known ones; the last attempt of a key replaces the earlier', () => {
    const d = new ItemDurations('l');
    d.record('a', 100);
    d.record('b', 700);
    d.record('a', 300); // mean now (300 + 700) / 2 = 500
    assert.equal(d.expected('a'), 300);
    assert.equal(d.expected('new'), 500);
    assert.deepEqual(keysOf(d.order(items(['a', 2], ['new', 2], ['b', 2]))), ['b', 'new', 'a']);
  });

  it('ignores durations that are not finite non-negative numbers', () => {
    const d = new ItemDurations('l');
    d.record('a', Number.NaN);
    d.record('b', -1);
    assert.equal(d.expected('a'), undefined);
    assert.equal(d.expected('b'), undefined);
  });

  it('keeps at most MAX_KEYS keys, dropping the least recently run', () => {
    const d = new ItemDurations('l');
    for (let i = 0; i <= MAX_KEYS; i++) d.record(`k${i}`, i);
    assert.notEqual(d.expected('k0'), 0); // k0 fell out: it takes the mean now
    assert.equal(d.expected('k1'), 1);
    assert.equal(d.expected(`k${MAX_KEYS}`), MAX_KEYS);
  });

  it('saves to the store only after something was recorded, and a new instance reads it back', async () => {
    const store = new MemoryStore();
    const d = new ItemDurations('collect');
    assert.equal(await d.save(store, 1), false);
    assert.equal(await store.documents.get(DURATIONS_NAMESPACE, 'collect'), undefined);
    d.record('x', 1234);
    assert.equal(await d.save(store, 2), true);
    assert.equal(await d.save(store, 3), false);
    const again = new ItemDurations('collect');
    await again.load(store);
    assert.equal(again.expected('x'), 1234);
    const other = new ItemDurations('other');
    await other.load(store);
    assert.equal(other.expected('x'), undefined);
  });

  it("a reload keeps which keys ran least recently, integer-like keys too, and reads an older version's object", async () => {
    const store = new MemoryStore();
    const d = new ItemDurations('l');
    d.record('b', 10);
    d.record('2', 20); // an object would list "2" and "1" before "b"
    d.record('1', 30);
    await d.save(store, 1);
    const again = new ItemDurations('l');
    await again.load(store);
    // MAX_KEYS - 2 new keys push out exactly one key, the least recently run: "b".
    for (let i = 0; i < MAX_KEYS - 2; i++) again.record(`new-${i}`, 1);
    assert.notEqual(again.expected('b'), 10);
    assert.equal(again.expected('2'), 20);
    assert.equal(again.expected('1'), 30);
    await store.documents.put(DURATIONS_NAMESPACE, 'old', { keys: { x: 5, '7': 6 } }, { now: 1 });
    const old = new ItemDurations('old');
    await old.load(store);
    assert.equal(old.expected('x'), 5);
    assert.equal(old.expected('7'), 6);
  });

  it('a malformed stored document starts empty; a value recorded before the load resolved is kept', async () => {
    const store = new MemoryStore();
    await store.documents.put(DURATIONS_NAMESPACE, 'l', { keys: { a: 'slow', b: 50, c: 400 } }, { now: 1 });
    const d = new ItemDurations('l');
    d.record('c', 10);
    await d.load(store);
    assert.equal(d.expected('b'), 50);
    assert.equal(d.expected('c'), 10);
    assert.equal(d.expected('a'), 30); // not a number: unknown, takes the mean of b and c
    await store.documents.put(DURATIONS_NAMESPACE, 'p', { recent: [['a', 1], 'junk', [2, 3], ['b']] }, { now: 1 });
    const p = new ItemDurations('p');
    await p.load(store);
    assert.equal(p.expected('a'), 1);
    assert.equal(p.expected('b'), 1); // only "a" was a pair: "b" takes the mean
    await store.documents.put(DURATIONS_NAMESPACE, 'm', 'not an object', { now: 1 });
    const m = new ItemDurations('m');
    await m.load(store);
    assert.equal(m.expected('anything'), undefined);
  });
});
