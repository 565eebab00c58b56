import type { RateLimitStore } from '../storage/store.ts';
import type { Clock } from '../time/clock.ts';
import type { RateLimiter } from './rate-limiter.ts';

/**
 * A token bucket that lives in the store, so every process sharing the store
 * draws from one budget (e.g. 100 requests/min to an LLM API across a fleet).
 * Waiting happens on the local clock for the `waitMs` the store computed; the
 * take is retried then, since a peer may have taken the token meanwhile.
 */
export class SharedTokenBucket implements RateLimiter {
  readonly #name: string;
  readonly #capacity: number;
  readonly #perMs: number;
  readonly #store: RateLimitStore;
  readonly #clock: Clock;

  constructor(options: { name: string; capacity: number; perMs: number }, store: RateLimitStore, clock: Clock) {
    this.#name = options.name;
    this.#capacity = options.capacity;
    this.#perMs = options.perMs;
    this.#store = store;
    this.#clock = clock;
  }

  async take(signal?: AbortSignal): Promise<void> {
    for (;;) {
      signal?.throwIfAborted();
      const { granted, waitMs } = await this.#store.take(this.#name, this.#capacity, this.#perMs, this.#clock.now());
      if (granted) return;
      await this.#clock.sleep(Math.max(1, waitMs), signal);
    }
  }

  pause(untilMs: number): Promise<void> {
    return this.#store.pause(this.#name, untilMs);
  }
}
