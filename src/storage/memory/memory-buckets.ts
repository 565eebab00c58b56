import type { RateLimitStore } from '../store.ts';
import { type BucketState, checkBucket, takeToken } from './token-bucket.ts';

/**
 * Token buckets in this process's memory, for `MemoryStore`: shared by every
 * caller of the store, as the durable backends share them between processes.
 * The arithmetic is {@link takeToken}'s.
 *
 * @example
 * const buckets = new MemoryRateLimitStore(() => {});
 * const { granted, waitMs } = await buckets.take('llm_service', 100, 60_000, now);
 */
export class MemoryRateLimitStore implements RateLimitStore {
  readonly #buckets = new Map<string, BucketState>();
  readonly #open: (op: string) => void;

  /** `open(op)` throws when the store is closed. */
  constructor(open: (op: string) => void) {
    this.#open = open;
  }

  async take(
    name: string,
    capacity: number,
    perMs: number,
    now: number,
  ): Promise<{ granted: boolean; waitMs: number }> {
    checkBucket(name, capacity, perMs);
    this.#open('buckets.take');
    const state = this.#buckets.get(name);
    const step = takeToken(state, capacity, perMs, now);
    if (step.granted) this.#buckets.set(name, { ...step.next, pausedUntil: state?.pausedUntil ?? null });
    return { granted: step.granted, waitMs: step.waitMs };
  }

  async pause(name: string, untilMs: number): Promise<void> {
    this.#open('buckets.pause');
    const state = this.#buckets.get(name) ?? { tokens: null, updatedAt: null, pausedUntil: null };
    this.#buckets.set(name, { ...state, pausedUntil: Math.max(state.pausedUntil ?? untilMs, untilMs) });
  }
}
