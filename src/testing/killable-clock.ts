import { type Clock, sleepOnTimer, type TimerHandle } from '../time/clock.ts';

/**
 * One in-process "process"'s view of a clock shared with others, which can be
 * killed or frozen the way a real process can.
 *
 * States: running -> frozen (by `freeze`, back to running when it ends) ->
 * dead (by `kill`, final).
 * - `kill()` is SIGKILL: from then on none of its timers fire and none of its
 *   sleeps end, so none of its code runs again. It never calls stop().
 * - `freeze(ms)` is SIGSTOP, a blocked event loop or a sleeping laptop: the
 *   timers that fall due meanwhile fire late, in order, once it thaws, and
 *   the process then sees its clock jumped by `ms` (missed ticks, lapsed
 *   leases). Pair it with {@link crashableStore}'s `freeze` so the answers
 *   of its store calls wait too.
 *
 * @example
 * const shared = new VirtualClock();
 * const clock = new KillableClock(shared);
 * const runtime = createRuntime({ loops, clock, store });
 * clock.kill(); // the runtime is gone, its leases left behind
 */
export class KillableClock implements Clock {
  readonly #base: Clock;
  readonly #live = new Set<LiveTimer>();
  #dead = false;
  /** While frozen: the callbacks that fell due, in the order they did. */
  #held: Array<() => void> | null = null;

  constructor(base: Clock) {
    this.#base = base;
  }

  get dead(): boolean {
    return this.#dead;
  }

  get frozen(): boolean {
    return this.#held !== null;
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
    return this.#track((wrapped) => this.#base.setTimer(ms, wrapped), fn);
  }

  /**
   * The base clock's period timer when it has one (else a plain timer):
   * a tick is only skipped while this process runs (a frozen one's ticks
   * wait for its thaw, as its other timers do).
   */
  setPeriodTimer(ms: number, fn: () => void, idle: () => boolean): TimerHandle {
    const base = this.#base;
    if (!base.setPeriodTimer) return this.setTimer(ms, fn);
    const running = () => !this.#dead && this.#held === null && idle();
    return this.#track(
      (wrapped) => (base.setPeriodTimer as NonNullable<Clock['setPeriodTimer']>)(ms, wrapped, running),
      fn,
    );
  }

  #track(arm: (wrapped: () => void) => TimerHandle, fn: () => void): TimerHandle {
    if (this.#dead) return { cancel: () => {} };
    const timer = new LiveTimer(this.#live);
    timer.base = arm(() => {
      this.#live.delete(timer);
      if (this.#dead) return;
      if (this.#held) this.#held.push(fn);
      else fn();
    });
    this.#live.add(timer);
    return timer;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return sleepOnTimer(
      (delay, fn) => this.setTimer(delay, fn),
      ms,
      signal,
      () => !this.#dead,
    );
  }

  /** The process dies: every pending timer is dropped and no new one will fire. */
  kill(): void {
    this.#dead = true;
    this.#held = null;
    for (const timer of this.#live) timer.base?.cancel();
    this.#live.clear();
  }

  /**
   * The process stops for `ms` of shared time; then the timers that fell due
   * fire, late and in order, and `onThaw` runs first (e.g. to release the
   * store answers held meanwhile). Freezing a frozen process extends nothing.
   */
  freeze(ms: number, onThaw?: () => void): void {
    if (this.#dead || this.#held) return;
    this.#held = [];
    this.#base.setTimer(ms, () => {
      const held = this.#held ?? [];
      this.#held = null;
      if (this.#dead) return;
      onThaw?.();
      for (const fn of held) fn();
    });
  }
}

/** A timer of one process on the shared clock, and its handle (one object per timer, not two and a closure). */
class LiveTimer implements TimerHandle {
  base: TimerHandle | null = null;

  constructor(readonly live: Set<LiveTimer>) {}

  cancel(): void {
    this.live.delete(this);
    this.base?.cancel();
  }
}
