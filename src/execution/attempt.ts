import type { Clock, TimerHandle } from '../time/clock.ts';

/** Where an attempt's deadline is set: a clock, or a `TimerGroup` shared by a cycle's attempts (time/timer-group.ts). */
export type DeadlineTimers = Pick<Clock, 'setTimer'>;

/**
 * One attempt of one item: its deadline and its cancellation.
 *
 * The AbortSignal an act sees is created only when the act reads it. An
 * AbortController per attempt, linked to the cycle's signal by a listener,
 * was the largest cost of a no-op item (allocation and GC of EventTargets,
 * measured with `node --cpu-prof` on bench (b)); most of that work is wasted
 * on acts that never look at their signal. The attempt still ends at its
 * deadline either way: `run` settles when the timer fires, whether or not the
 * act honours the signal.
 */
export class Attempt {
  #controller: AbortController | null = null;
  #reason: unknown = undefined;
  #aborted = false;
  /** Set while `start`'s work runs: how the attempt ends. */
  #done: ((ok: boolean, value: unknown) => void) | null = null;
  #timer: TimerHandle | null = null;

  /** Aborts when the attempt times out or its cycle is aborted. */
  get signal(): AbortSignal {
    if (!this.#controller) {
      this.#controller = new AbortController();
      if (this.#aborted) this.#controller.abort(this.#reason);
    }
    return this.#controller.signal;
  }

  get aborted(): boolean {
    return this.#aborted;
  }

  abort(reason: unknown): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#reason = reason;
    this.#controller?.abort(reason);
    this.#settle(false, reason);
  }

  /**
   * Runs `work` until it settles, the deadline passes (ends with
   * `timeoutError()`), or `abort()` is called (ends with its reason), then
   * calls `done` once: `(true, value)` or `(false, error)`. The timer is
   * cancelled on every path. A callback, not a promise: the caller
   * (item-attempt.ts) settles its own promise from it, one promise per
   * attempt less; a synchronous value ends the attempt without a promise.
   */
  start(
    work: () => unknown,
    timers: DeadlineTimers,
    timeoutMs: number,
    timeoutError: () => Error,
    done: (ok: boolean, value: unknown) => void,
  ): void {
    if (this.#aborted) {
      done(false, this.#reason);
      return;
    }
    this.#done = done;
    this.#timer = timers.setTimer(timeoutMs, () => this.abort(timeoutError()));
    // A synchronous throw is the attempt's failure like a rejection.
    let result: unknown;
    try {
      result = work();
    } catch (error) {
      this.#settle(false, error);
      return;
    }
    if (isThenable(result)) {
      result.then(
        (value) => this.#settle(true, value),
        (error: unknown) => this.#settle(false, error),
      );
    } else this.#settle(true, result);
  }

  /** {@link start} as a promise. */
  run<T>(work: () => T | Promise<T>, timers: DeadlineTimers, timeoutMs: number, timeoutError: () => Error): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.start(work, timers, timeoutMs, timeoutError, (ok, value) => (ok ? resolve(value as T) : reject(value)));
    });
  }

  #settle(ok: boolean, value: unknown): void {
    const done = this.#done;
    if (!done) return;
    this.#done = null;
    this.#timer?.cancel();
    this.#timer = null;
    done(ok, value);
  }
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    value !== null &&
    (typeof value === 'object' || typeof value === 'function') &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}

/**
 * The attempts in flight in one cycle: one listener on the cycle's signal
 * aborts them all, instead of one listener per attempt.
 */
export class AttemptSet {
  readonly #live = new Set<Attempt>();
  #reason: unknown = undefined;
  #aborted = false;

  readonly #signal: AbortSignal;
  readonly #listener = () => this.#abortAll(this.#signal.reason);

  constructor(signal: AbortSignal) {
    this.#signal = signal;
    if (signal.aborted) this.#abortAll(signal.reason);
    else signal.addEventListener('abort', this.#listener, { once: true });
  }

  /** Stops listening to the cycle's signal (which outlives the cycle). */
  dispose(): void {
    this.#signal.removeEventListener('abort', this.#listener);
  }

  /** A new attempt, aborted at once if the cycle already was. */
  open(): Attempt {
    const attempt = new Attempt();
    if (this.#aborted) attempt.abort(this.#reason);
    else this.#live.add(attempt);
    return attempt;
  }

  close(attempt: Attempt): void {
    this.#live.delete(attempt);
  }

  #abortAll(reason: unknown): void {
    this.#aborted = true;
    this.#reason = reason;
    for (const attempt of this.#live) attempt.abort(reason);
    this.#live.clear();
  }
}
