/**
 * A faithful crash for in-process "processes" that share one VirtualClock:
 * each runtime gets its own {@link KillableClock} over the shared clock and
 * its own {@link crashableStore} over its own store connection. `kill()`
 * on both is SIGKILL: from then on none of its timers fire, none of its
 * sleeps end, and none of its store calls are made or answered, so none of
 * its code runs again and it writes nothing more. It never calls stop().
 */

import type { Store } from '../../src/storage/store.ts';
import { abortReason, type Clock, type TimerHandle } from '../../src/time/clock.ts';

export class KillableClock implements Clock {
  readonly #base: Clock;
  readonly #live = new Set<TimerHandle>();
  #dead = false;

  constructor(base: Clock) {
    this.#base = base;
  }

  get dead(): boolean {
    return this.#dead;
  }

  /** Timers of this process still waiting to fire. */
  get pendingTimers(): number {
    return this.#live.size;
  }

  now(): number {
    return this.#base.now();
  }

  monotonic(): number {
    return this.#base.monotonic();
  }

  setTimer(ms: number, fn: () => void): TimerHandle {
    if (this.#dead) return { cancel: () => {} };
    const handle = this.#base.setTimer(ms, () => {
      this.#live.delete(handle);
      if (!this.#dead) fn();
    });
    this.#live.add(handle);
    return {
      cancel: () => {
        this.#live.delete(handle);
        handle.cancel();
      },
    };
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) {
        reject(abortReason(signal));
        return;
      }
      const onAbort = () => {
        handle.cancel();
        if (!this.#dead) reject(abortReason(signal as AbortSignal));
      };
      const handle = this.setTimer(ms, () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      });
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** The process dies: every pending timer is dropped and no new one will fire. */
  kill(): void {
    this.#dead = true;
    for (const handle of this.#live) handle.cancel();
    this.#live.clear();
  }
}

/**
 * `store` as one process sees it: after `kill()`, calls are not made and
 * calls in flight never settle (their continuations never run).
 */
export function crashableStore(store: Store): { store: Store; kill(): void; readonly dead: boolean } {
  let dead = false;
  const never = new Promise<never>(() => {});
  const guard = <T extends object>(part: T): T =>
    new Proxy(part, {
      get(target, prop, receiver) {
        const value = Reflect.get(target, prop, receiver);
        if (typeof value !== 'function') return value;
        return (...args: unknown[]) => {
          if (dead) return never;
          const result = (value as (...a: unknown[]) => unknown).apply(target, args);
          if (!(result instanceof Promise)) return result;
          return new Promise((resolve, reject) => {
            result.then(
              (v) => {
                if (!dead) resolve(v);
              },
              (e: unknown) => {
                if (!dead) reject(e);
              },
            );
          });
        };
      },
    });
  const wrapped: Store = {
    cycles: guard(store.cycles),
    queue: guard(store.queue),
    events: guard(store.events),
    leases: guard(store.leases),
    instances: guard(store.instances),
    buckets: guard(store.buckets),
    documents: guard(store.documents),
    journals: guard(store.journals),
    description: store.description,
    ping: () => (dead ? never : store.ping()),
    prune: (before) => (dead ? never : store.prune(before)),
    close: () => (dead ? never : store.close()),
  };
  return {
    store: wrapped,
    kill: () => {
      dead = true;
    },
    get dead() {
      return dead;
    },
  };
}
