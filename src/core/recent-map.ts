/**
 * A map that keeps at most `limit` entries: setting a key makes it the most
 * recent, and past the limit the least recently set entry is dropped.
 *
 * Why not `map.delete(map.keys().next().value)`: a Map keeps deleted
 * entries as holes until it rehashes, and a fresh iterator walks the holes
 * at its front every time, so dropping the oldest that way costs up to the
 * limit per call (~10 µs at 10,000 keys on this project's bench machine,
 * more than the rest of an item's engine work). Here one iterator lives as
 * long as the map and only moves forward: every entry behind it was dropped
 * or deleted (entries are only ever added at the end, a key set again is
 * moved there), so its next entry is the oldest one, and each hole is
 * walked once.
 *
 * @example
 * const last = new RecentMap<string, number>(2);
 * last.set('a', 1); last.set('b', 2); last.set('a', 3);
 * last.set('c', 4); // returns ['b', 2]: 'a' was set again after 'b'
 */
export class RecentMap<K, V> {
  readonly limit: number;
  readonly #map = new Map<K, V>();
  /** From the oldest entry forward; made at the first drop. */
  #oldest: Iterator<[K, V]> | null = null;

  constructor(limit: number) {
    if (!Number.isInteger(limit) || limit < 1)
      throw new RangeError(`RecentMap: limit must be an integer >= 1, got ${limit}`);
    this.limit = limit;
  }

  get size(): number {
    return this.#map.size;
  }

  get(key: K): V | undefined {
    return this.#map.get(key);
  }

  has(key: K): boolean {
    return this.#map.has(key);
  }

  /** Sets `key` as the most recent entry; returns the entry dropped to stay within the limit, if one was. */
  set(key: K, value: V): [K, V] | undefined {
    this.#map.delete(key);
    this.#map.set(key, value);
    if (this.#map.size <= this.limit) return undefined;
    this.#oldest ??= this.#map.entries();
    const dropped = this.#oldest.next().value as [K, V];
    this.#map.delete(dropped[0]);
    return dropped;
  }

  delete(key: K): boolean {
    return this.#map.delete(key);
  }

  /** Oldest first. */
  entries(): IterableIterator<[K, V]> {
    return this.#map.entries();
  }

  /** Oldest first. */
  keys(): IterableIterator<K> {
    return this.#map.keys();
  }
}

/**
 * The [key, value] pairs of a RecentMap as stored in a JSON document,
 * oldest first, for a `RecentMap`'s `entries()` written as an array of
 * pairs, not as an object: JSON objects put integer-like keys ("42") first
 * whatever order they were set in, so a reload would take the most recently
 * set numeric keys for the oldest. `value` is the stored array; an object
 * of an older document is read too (its order as JSON gives it). Pairs whose
 * key is not a string or whose value is not a finite number are skipped.
 */
export function storedRecentPairs(value: unknown): Array<[string, number]> {
  let pairs: unknown[];
  if (Array.isArray(value)) pairs = value;
  else if (value !== null && typeof value === 'object') pairs = Object.entries(value);
  else return [];
  return pairs.filter(
    (pair): pair is [string, number] =>
      Array.isArray(pair) && typeof pair[0] === 'string' && typeof pair[1] === 'number' && Number.isFinite(pair[1]),
  );
}
