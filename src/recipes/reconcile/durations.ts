/**
 * Expected collection times, learnt from earlier collections: per key (the
 * last time that key took, for keys collected again such as today's stale
 * files) and per source (an exponentially weighted mean, for keys never
 * collected). They feed the gap report's estimate and the order of work:
 * among gaps of equal priority, the longest expected first, so the long
 * ones do not start last and stretch the cycle.
 */

import { RecentMap, storedRecentPairs } from '../../core/recent-map.ts';

/** What the store keeps (JSON). */
export interface DurationsDoc {
  readonly sources: Record<string, { meanMs: number; count: number }>;
  /**
   * [key, ms] pairs, most recent last, at most {@link MAX_KEYS}: pairs, not
   * an object, whose integer-like keys JSON would put first (see
   * storedRecentPairs in ../../core/recent-map.ts). An older version's `keys`
   * object is still read.
   */
  readonly recent: Array<[key: string, ms: number]>;
}

/** Keys remembered; older ones fall back to their source's mean. */
export const MAX_KEYS = 5_000;
/** Weight of the newest collection in a source's mean. */
const ALPHA = 0.3;

export class CollectionDurations {
  readonly #sources = new Map<string, { meanMs: number; count: number }>();
  readonly #keys = new RecentMap<string, number>(MAX_KEYS);
  #dirty = false;

  static from(doc: unknown): CollectionDurations {
    const out = new CollectionDurations();
    const d = doc as Partial<DurationsDoc> | undefined;
    for (const [source, s] of Object.entries(d?.sources ?? {})) {
      if (Number.isFinite(s?.meanMs) && Number.isFinite(s?.count)) out.#sources.set(source, { ...s });
    }
    // `keys`: an older version's object.
    for (const [key, ms] of storedRecentPairs(d?.recent ?? (d as { keys?: unknown } | undefined)?.keys)) {
      out.#keys.set(key, ms);
    }
    return out;
  }

  /** Records that collecting `key` of `source` took `ms`. */
  record(source: string, key: string, ms: number): void {
    const s = this.#sources.get(source);
    this.#sources.set(
      source,
      s ? { meanMs: s.meanMs + ALPHA * (ms - s.meanMs), count: s.count + 1 } : { meanMs: ms, count: 1 },
    );
    this.#keys.set(key, ms); // the most recent; past MAX_KEYS the least recently collected goes
    this.#dirty = true;
  }

  /** The expected time of `key`, or undefined when neither it nor its source was ever collected. */
  expected(source: string, key: string): number | undefined {
    return this.#keys.get(key) ?? this.#sources.get(source)?.meanMs;
  }

  /** The source's mean, or undefined. */
  sourceMean(source: string): number | undefined {
    return this.#sources.get(source)?.meanMs;
  }

  /** True once something was recorded since the last {@link toJSON}. */
  get dirty(): boolean {
    return this.#dirty;
  }

  toJSON(): DurationsDoc {
    this.#dirty = false;
    return { sources: Object.fromEntries(this.#sources), recent: [...this.#keys.entries()] };
  }
}
