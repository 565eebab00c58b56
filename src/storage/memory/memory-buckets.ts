import { checkWindow, takeFromLog, type WindowLog } from '../../policies/window-log.ts';
import type { RateLimitStore } from '../store.ts';

/**
 * Rate-limit buckets in this process's memory, for `MemoryStore`: shared by
 * every caller of the store, as the durable backends share them between
 * processes. The arithmetic is {@link takeFromLog}'s.
 *
 * @example
 * const buckets = new MemoryRateLimitStore(() => {});
 * const { granted, waitMs } = await buckets.take('llm_service', 100, 61_000, now);
 */
export class MemoryRateLimitStore implements RateLimitStore {
  readonly #buckets = new Map<string, WindowLog>();
  readonly #open: (op: string) => void;

  /** `open(op)` throws when the store is closed. */
  constructor(open: (op: string) => void) {
    this.#open = open;
  }

  async take(
    name: string,
    limit: number,
    windowMs: number,
    now: number,
  ): Promise<{ granted: boolean; waitMs: number }> {
    checkWindow(name, limit, windowMs);
    this.#open('buckets.take');
    const log = this.#buckets.get(name) ?? { grants: [], pausedUntil: null };
    const step = takeFromLog(log, limit, windowMs, now);
    if (!step.granted) return { granted: false, waitMs: step.waitMs };
    this.#buckets.set(name, { ...log, grants: step.grants });
    return { granted: true, waitMs: 0 };
  }

  async pause(name: string, untilMs: number): Promise<void> {
    this.#open('buckets.pause');
    const log = this.#buckets.get(name) ?? { grants: [], pausedUntil: null };
    this.#buckets.set(name, { ...log, pausedUntil: Math.max(log.pausedUntil ?? untilMs, untilMs) });
  }
}
