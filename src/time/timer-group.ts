import type { Clock, TimerHandle } from './clock.ts';

/** A pending timer; it is also the handle `setTimer` returns (one object per timer, no closure). */
class Entry implements TimerHandle {
  readonly due: number;
  readonly fn: () => void;
  readonly #entries: Set<Entry>;

  constructor(due: number, fn: () => void, entries: Set<Entry>) {
    this.due = due;
    this.fn = fn;
    this.#entries = entries;
  }

  cancel(): void {
    this.#entries.delete(this);
  }
}

/**
 * Many short-lived timers on one clock timer: the lease renewals of a
 * process (leases/lease-manager.ts) and the deadlines of a cycle's attempts
 * (execution/attempt.ts).
 *
 * Both are set and cancelled once per item, almost always long before they
 * are due (a lease freed a few milliseconds after it was taken, an attempt
 * that ends far inside its timeout): at thousands of items a second, a clock
 * timer each cost most of their time in that churn. Here `setTimer` only
 * records a due time (on the monotonic clock) and keeps ONE clock timer
 * armed for the earliest; a cancelled timer is only forgotten, and the armed
 * timer, when it fires with nothing due, re-arms for the earliest one still
 * pending, if any. So a stream of timers of the same length re-arms about
 * once per that length instead of once per timer.
 *
 * Each timer still runs when the clock timer set for its due time fires
 * (timers due at the same moment run in the order they were set); a clock
 * timer armed for an earlier one that was cancelled re-arms for the next.
 * {@link dispose} clears the armed timer (the owner is done with them all).
 *
 * @example
 * const timers = new TimerGroup(clock);
 * const handle = timers.setTimer(30_000, () => attempt.abort(timeout()));
 * handle.cancel(); // the attempt ended first: no clock timer was touched
 */
export class TimerGroup {
  readonly #clock: Clock;
  readonly #entries = new Set<Entry>();
  #armed: { readonly due: number; readonly timer: TimerHandle } | null = null;

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  /** Timers waiting for their time. */
  get pending(): number {
    return this.#entries.size;
  }

  /** Calls `fn` once, `ms` from now, unless the returned handle cancels it first. */
  setTimer(ms: number, fn: () => void): TimerHandle {
    const entry = new Entry(this.#clock.monotonic() + Math.max(0, ms), fn, this.#entries);
    this.#entries.add(entry);
    if (!this.#armed || entry.due < this.#armed.due) this.#arm(entry.due);
    return entry;
  }

  /** Clears the clock timer; timers still pending will not run. */
  dispose(): void {
    this.#entries.clear();
    this.#armed?.timer.cancel();
    this.#armed = null;
  }

  #arm(due: number): void {
    this.#armed?.timer.cancel();
    const timer = this.#clock.setTimer(due - this.#clock.monotonic(), () => this.#fire(due));
    this.#armed = { due, timer };
  }

  #fire(armedFor: number): void {
    this.#armed = null;
    // The clock fired the timer set for `armedFor`: that moment has come, even when the clock's
    // reading rounds a hair below it (a re-arm for the rounding remainder would fire at once, forever).
    const now = Math.max(this.#clock.monotonic(), armedFor);
    const due: Entry[] = [];
    let next = Number.POSITIVE_INFINITY;
    for (const entry of this.#entries) {
      if (entry.due <= now) due.push(entry);
      else if (entry.due < next) next = entry.due;
    }
    for (const entry of due) this.#entries.delete(entry);
    if (next !== Number.POSITIVE_INFINITY) this.#arm(next);
    // Set order is the order they were set: timers due together run in that order.
    for (const entry of due) entry.fn();
  }
}
