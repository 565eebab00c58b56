import type { RateLimitStore } from '../storage/store.ts';
import type { Clock } from '../time/clock.ts';
import { type CountedRate, countedRate, type Rate, type RateLimiter } from './rate-limiter.ts';

/**
 * A rate limit that lives in the store, so every process sharing the store
 * draws from one budget: at most `limit` calls in any window of `perMs`
 * across the fleet (e.g. 100 requests/min to an LLM API). The store keeps the
 * sliding-window log (./window-log.ts) and decides each take atomically;
 * waiting happens on the local clock for the `waitMs` the store computed, and
 * the take is retried then, since a peer may have taken the slot meanwhile.
 * Across processes, waiters are not served in arrival order: whoever asks
 * first once a slot opens gets it.
 *
 * @example
 * const limiter = new SharedWindowLimiter({ name: 'llm_service', limit: 100, perMs: 60_000 }, store.buckets, clock);
 * await limiter.take(signal);
 */
export class SharedWindowLimiter implements RateLimiter {
  readonly #name: string;
  #rate: CountedRate;
  readonly #store: RateLimitStore;
  readonly #clock: Clock;

  constructor(options: { name: string; limit: number; perMs: number }, store: RateLimitStore, clock: Clock) {
    this.#name = options.name;
    this.#rate = countedRate(options);
    this.#store = store;
    this.#clock = clock;
  }

  get rate(): Rate {
    return { limit: this.#rate.limit, perMs: this.#rate.perMs };
  }

  /** This process's budget from its next take on (a take sleeping now uses it when it wakes). */
  setRate(rate: Rate): void {
    this.#rate = countedRate(rate);
  }

  async take(signal?: AbortSignal): Promise<void> {
    for (;;) {
      signal?.throwIfAborted();
      const { granted, waitMs } = await this.#store.take(
        this.#name,
        this.#rate.limit,
        this.#rate.windowMs,
        this.#clock.now(),
      );
      if (granted) return;
      await this.#clock.sleep(Math.max(1, waitMs), signal);
    }
  }

  pause(untilMs: number): Promise<void> {
    return this.#store.pause(this.#name, untilMs);
  }
}
