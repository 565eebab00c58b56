import { type Clock, sleepOnTimer, type TimerHandle } from './clock.ts';

interface PendingTimer {
  readonly id: number;
  readonly at: number;
  readonly fn: () => void;
}

/** Lets promise chains run to their next real wait before time moves on. */
function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * A clock that only moves when told to. Timers fire in time order (ties in
 * the order they were set); between two timers the pending promise chains
 * are allowed to settle, so code under test observes exactly the sequence
 * it would see on a real clock, without waiting.
 *
 * @example
 * const clock = new VirtualClock({ now: Date.UTC(2026, 0, 1) });
 * const done = clock.sleep(60_000);
 * await clock.advance(60_000); // `done` has resolved
 */
export class VirtualClock implements Clock {
  #now: number;
  #origin: number;
  #seq = 0;
  #timers: PendingTimer[] = [];

  constructor(options: { now?: number } = {}) {
    this.#now = options.now ?? Date.UTC(2026, 0, 1);
    this.#origin = this.#now;
  }

  now(): number {
    return this.#now;
  }

  monotonic(): number {
    return this.#now - this.#origin;
  }

  /** Number of timers waiting to fire. A test can assert that none leaked. */
  get pendingTimers(): number {
    return this.#timers.length;
  }

  setTimer(ms: number, fn: () => void): TimerHandle {
    const timer: PendingTimer = { id: ++this.#seq, at: this.#now + Math.max(0, ms), fn };
    // Keep sorted by (at, id): insertion point found from the end, as most timers are later than all others.
    let i = this.#timers.length;
    while (i > 0 && (this.#timers[i - 1] as PendingTimer).at > timer.at) i--;
    this.#timers.splice(i, 0, timer);
    return {
      cancel: () => {
        const idx = this.#timers.indexOf(timer);
        if (idx >= 0) this.#timers.splice(idx, 1);
      },
    };
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return sleepOnTimer((delay, fn) => this.setTimer(delay, fn), ms, signal);
  }

  /** Lets pending promise chains run without moving time. */
  async flush(rounds = 3): Promise<void> {
    for (let i = 0; i < rounds; i++) await settle();
  }

  /**
   * Moves time forward by `ms`, firing every timer that falls due, in order,
   * with promise chains settled between timers.
   */
  async advance(ms: number): Promise<void> {
    await this.advanceTo(this.#now + ms);
  }

  /**
   * Moves `now` forward WITHOUT firing timers, as if the process had been
   * frozen (blocked event loop, SIGSTOP, a sleeping laptop). The overdue
   * timers fire, late, on the next `advance`.
   */
  jump(ms: number): void {
    this.#now += Math.max(0, ms);
  }

  /** Moves time to the absolute epoch `target` (never backwards). */
  async advanceTo(target: number): Promise<void> {
    await this.flush();
    for (;;) {
      const next = this.#timers[0];
      if (!next || next.at > target) break;
      this.#timers.shift();
      this.#now = Math.max(this.#now, next.at);
      next.fn();
      await this.flush();
    }
    this.#now = Math.max(this.#now, target);
    await this.flush();
  }

  /**
   * Fires timers until `predicate()` holds or `limitMs` of virtual time has
   * passed. Returns whether the predicate held.
   */
  async runUntil(predicate: () => boolean, limitMs = 24 * 3600_000): Promise<boolean> {
    const deadline = this.#now + limitMs;
    await this.flush();
    while (!predicate()) {
      const next = this.#timers[0];
      if (!next || next.at > deadline) return predicate();
      await this.advanceTo(next.at);
    }
    return true;
  }
}
