/**
 * The clock port. Everything in autoloop that needs the time or a timer goes
 * through a Clock, so tests and `simulate` can run hours of schedule on a
 * {@link VirtualClock} in milliseconds. Only `system-clock.ts` touches
 * `Date`, `performance` and `setTimeout`.
 *
 * @example
 * await clock.sleep(5_000, signal); // rejects with an AbortError when signal aborts
 */
export interface Clock {
  /** Wall-clock time, epoch milliseconds. Used for schedules and records. */
  now(): number;
  /**
   * Monotonic milliseconds from an arbitrary origin. Never goes backwards;
   * use it for durations and deadlines (a wall clock may jump).
   */
  monotonic(): number;
  /**
   * Resolves after `ms` milliseconds. Rejects with the signal's reason
   * (an `AbortError` by default) as soon as `signal` aborts; the timer is
   * cleared on every path.
   */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
  /** Calls `fn` once after `ms`. The returned handle cancels it. */
  setTimer(ms: number, fn: () => void): TimerHandle;
  /**
   * Optional (the simulation's clock has it): a periodic task's next tick.
   * Calls `fn` once, after `ms`, or 2·ms, 3·ms, ...: at the first of those
   * moments at which `idle()` is false. `idle()` must be exact: true only
   * when the tick would do nothing at all (no store write, no state change,
   * no timer but its own re-arm), so skipping it changes nothing but speed.
   * A skipped tick keeps its place among timers due at the same moment, as
   * the re-armed timer of a tick that ran would. Use {@link sleepPeriods}.
   */
  setPeriodTimer?(ms: number, fn: () => void, idle: () => boolean): TimerHandle;
}

/** A scheduled callback that can be cancelled. Cancelling twice is harmless. */
export interface TimerHandle {
  cancel(): void;
}

/** The error a sleep rejects with when its signal aborts without a reason. */
export function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('This operation was aborted', 'AbortError');
}

/**
 * A signal that aborts after `ms` on `clock`, or when `parent` aborts.
 * `dispose()` clears the timer and removes the listener; call it on every path.
 */
export function timeoutSignal(
  clock: Clock,
  ms: number,
  parent: AbortSignal | undefined,
  reason: () => Error,
): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const timer = clock.setTimer(ms, () => controller.abort(reason()));
  const onParentAbort = () => controller.abort(parent?.reason);
  if (parent?.aborted) controller.abort(parent.reason);
  else parent?.addEventListener('abort', onParentAbort, { once: true });
  return {
    signal: controller.signal,
    dispose() {
      timer.cancel();
      parent?.removeEventListener('abort', onParentAbort);
    },
  };
}

/**
 * `promise`, or a rejection with `error()` once `ms` passed on `clock`,
 * whichever comes first; the timer is cancelled on every path and a late
 * outcome of `promise` is ignored.
 */
export function withDeadline<T>(promise: Promise<T>, clock: Clock, ms: number, error: () => Error): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = clock.setTimer(Math.max(0, ms), () => reject(error()));
    promise.then(
      (value) => {
        timer.cancel();
        resolve(value);
      },
      (failure: unknown) => {
        timer.cancel();
        reject(failure);
      },
    );
  });
}

/**
 * `clock.sleep(ms, signal)` for a periodic task, letting a clock that can
 * (see {@link Clock.setPeriodTimer}) skip whole periods while `idle()` holds.
 * On a clock without it (production's), exactly `sleep`.
 */
export function sleepPeriods(clock: Clock, ms: number, signal: AbortSignal, idle: () => boolean): Promise<void> {
  const setPeriodTimer = clock.setPeriodTimer?.bind(clock);
  if (!setPeriodTimer) return clock.sleep(ms, signal);
  return sleepOnTimer((delay, fn) => setPeriodTimer(delay, fn, idle), ms, signal);
}

/**
 * The one `sleep` every clock shares: a timer from `setTimer` that resolves,
 * or the signal's reason as a rejection as soon as it aborts; the timer and
 * the listener are removed on every path. `rejectOnAbort` lets a clock that
 * stands for a dead process swallow the rejection (its code never runs again).
 */
export function sleepOnTimer(
  setTimer: (ms: number, fn: () => void) => TimerHandle,
  ms: number,
  signal: AbortSignal | undefined,
  rejectOnAbort: () => boolean = ALWAYS,
): Promise<void> {
  return new Promise((resolve, reject) => {
    if (!signal) {
      setTimer(ms, resolve as () => void);
      return;
    }
    if (signal.aborted) {
      reject(abortReason(signal));
      return;
    }
    const sleep = new Sleep(signal, resolve as () => void, reject, rejectOnAbort);
    sleep.handle = setTimer(ms, () => sleep.wake());
    signal.addEventListener('abort', sleep, { once: true });
  });
}

const ALWAYS = (): boolean => true;

/**
 * A sleep under a signal, itself the abort listener (`handleEvent`): one
 * object per sleep instead of two closures, on a path every simulated act
 * and every backoff takes.
 */
class Sleep {
  handle: TimerHandle | null = null;
  readonly #signal: AbortSignal;
  readonly #resolve: () => void;
  readonly #reject: (reason: unknown) => void;
  readonly #rejectOnAbort: () => boolean;

  constructor(
    signal: AbortSignal,
    resolve: () => void,
    reject: (reason: unknown) => void,
    rejectOnAbort: () => boolean,
  ) {
    this.#signal = signal;
    this.#resolve = resolve;
    this.#reject = reject;
    this.#rejectOnAbort = rejectOnAbort;
  }

  wake(): void {
    this.#signal.removeEventListener('abort', this);
    this.#resolve();
  }

  handleEvent(): void {
    this.handle?.cancel();
    if (this.#rejectOnAbort()) this.#reject(abortReason(this.#signal));
  }
}
