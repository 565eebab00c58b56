import type { Clock, TimerHandle } from '../time/clock.ts';

interface Entry {
  readonly due: number;
  readonly fn: () => void;
}

/**
 * The renewal timers of all the leases one process holds, on one clock timer.
 *
 * A lease per item made a clock timer per item (set when the lease is taken,
 * cleared when the item ends a few milliseconds later, long before the
 * renewal at ttl/3): at thousands of items a second, most of the timers'
 * cost was that churn. Here `setTimer` only records a due time (on the
 * monotonic clock) and keeps ONE clock timer armed for the earliest; a
 * cancelled renewal is only forgotten, and the armed timer, when it fires
 * with nothing due, re-arms for the earliest renewal still pending, if any.
 * So a process that takes and frees leases all the time re-arms about once
 * per renewal interval instead of once per lease.
 *
 * Each renewal still runs when the clock timer set for its due time fires
 * (renewals due at the same moment run in the order they were set); a timer
 * armed for an earlier renewal that was cancelled re-arms for the next.
 * {@link dispose} clears the armed timer (shutdown, after the leases were
 * released).
 */
export class RenewalTimers {
  readonly #clock: Clock;
  readonly #entries = new Set<Entry>();
  #armed: { readonly due: number; readonly timer: TimerHandle } | null = null;

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  /** Renewals waiting for their time. */
  get pending(): number {
    return this.#entries.size;
  }

  /** Calls `fn` once, `ms` from now, unless the returned handle cancels it first. */
  setTimer(ms: number, fn: () => void): TimerHandle {
    const entry: Entry = { due: this.#clock.monotonic() + Math.max(0, ms), fn };
    this.#entries.add(entry);
    if (!this.#armed || entry.due < this.#armed.due) this.#arm(entry.due);
    return { cancel: () => void this.#entries.delete(entry) };
  }

  /** Clears the clock timer; renewals still pending will not run. */
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
    // Set order is the order they were set: renewals due together run in that order.
    for (const entry of due) entry.fn();
  }
}
