/**
 * How long each item key of a loop took last time, and the order that
 * follows from it: among items of equal priority, the longest expected
 * first.
 *
 * Why: a cycle ends when its last item ends. Started in plan order, a long
 * item planned late starts when the others are done and runs alone at the
 * end (bench (c): 20 items of 0.2-1.0 s at concurrency 10 took 1.21x the
 * ideal bound). Longest-first is the classic LPT rule: within 4/3 of the
 * optimum, and near it when the durations repeat from cycle to cycle.
 *
 * What is remembered: per key, the duration of its last attempt that ran
 * (`item.attempted`: from entering the act to its end; attempts cut short by
 * shutdown or a lost lease say nothing and are not counted, a timed-out one
 * is: it held its slot that long). Keys never seen take the mean of the
 * known ones, so a new key is neither first nor last by default. The
 * history lives in `store.documents` (namespace `durations`, key = the
 * loop's name), at most {@link MAX_KEYS} keys (the least recently run go
 * first), so a restarted process and its peers order the same way.
 */
import { RecentMap, storedRecentPairs } from '../core/recent-map.ts';
import type { Store } from '../storage/store.ts';

/**
 * The document kept per loop: [key, last attempt's ms] pairs, least
 * recently run first. Pairs, not an object keyed by item key: JSON objects
 * put integer-like keys ("42") first whatever order they were set in, so a
 * reload would have taken the most recently run numeric keys for the
 * oldest. A document of an older version (`keys`: an object) is still read.
 */
export interface ItemDurationsDoc {
  readonly recent: Array<[key: string, ms: number]>;
}

export const DURATIONS_NAMESPACE = 'durations';
/** Keys remembered per loop. */
export const MAX_KEYS = 10_000;

/** An item as ordered here: its key and its priority (lower first). */
export interface Orderable {
  readonly key: string;
  readonly priority: number;
}

/**
 * A loop's item durations.
 *
 * @example
 * const durations = new ItemDurations('collect');
 * await durations.load(store);
 * const ordered = durations.order(queued); // priority, then longest expected first
 * durations.record('nba/2024-02-29', 4200);
 * await durations.save(store, clock.now());
 */
export class ItemDurations {
  readonly loop: string;
  readonly #keys = new RecentMap<string, number>(MAX_KEYS);
  #total = 0;
  #loaded = false;
  #dirty = false;

  constructor(loop: string) {
    this.loop = loop;
  }

  /** Reads the loop's history once; later calls do nothing. An unreadable document starts empty. */
  async load(store: Store): Promise<void> {
    if (this.#loaded) return;
    this.#loaded = true;
    const doc = (await store.documents.get(DURATIONS_NAMESPACE, this.loop))?.value as
      | { recent?: unknown; keys?: unknown }
      | undefined;
    // `keys`: an older version's object.
    for (const [key, ms] of storedRecentPairs(doc?.recent ?? doc?.keys)) {
      // Recorded meanwhile by this process (a cycle ran before the read resolved): the newer one stays.
      if (ms >= 0 && !this.#keys.has(key)) this.#set(key, ms);
    }
  }

  /** Records that an attempt of `key` ran for `ms`. */
  record(key: string, ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) return;
    this.#set(key, ms);
    this.#dirty = true;
  }

  /** The expected time of `key`: its last attempt's, else the mean of the known keys, else undefined. */
  expected(key: string): number | undefined {
    return this.#keys.get(key) ?? (this.#keys.size === 0 ? undefined : this.#total / this.#keys.size);
  }

  /**
   * `items` by priority (lower first), then the longest expected first;
   * items that tie (no history at all, equal durations) keep their order.
   * Returns a new array.
   */
  order<T extends Orderable>(items: readonly T[]): T[] {
    if (this.#keys.size === 0) return [...items].sort((a, b) => a.priority - b.priority);
    const mean = this.#total / this.#keys.size;
    const expected = new Map<T, number>();
    for (const item of items) expected.set(item, this.#keys.get(item.key) ?? mean);
    return [...items].sort(
      (a, b) => a.priority - b.priority || (expected.get(b) as number) - (expected.get(a) as number),
    );
  }

  /** Writes the history when something was recorded since the last save; false when nothing was to write. */
  async save(store: Store, now: number): Promise<boolean> {
    if (!this.#dirty) return false;
    this.#dirty = false;
    const doc: ItemDurationsDoc = { recent: [...this.#keys.entries()] };
    await store.documents.put(DURATIONS_NAMESPACE, this.loop, doc, { now });
    return true;
  }

  #set(key: string, ms: number): void {
    const old = this.#keys.get(key);
    if (old !== undefined) this.#total -= old;
    const dropped = this.#keys.set(key, ms); // the least recently run, past MAX_KEYS
    this.#total += ms;
    if (dropped) this.#total -= dropped[1];
  }
}
