import { type Clock, sleepOnTimer, type TimerHandle } from '../time/clock.ts';

/** A timer in the heap, and its own handle: one object per timer (a month of simulation sets millions). */
class Timer implements TimerHandle {
  constructor(
    public at: number,
    public seq: number,
    public fn: (() => void) | null,
    /** A period timer's period and idle test (see setPeriodTimer); 0 and null for a plain timer. */
    readonly period: number,
    readonly idle: (() => boolean) | null,
    readonly counts: { cancelled: number },
  ) {}

  cancel(): void {
    if (this.fn === null) return;
    this.fn = null;
    this.counts.cancelled++;
  }
}

/**
 * The simulation's shared clock: a {@link VirtualClock} tuned for months of
 * schedule. Same contract (timers fire in time order, ties in the order
 * they were set, promise chains settle between two timers), two differences
 * that matter at millions of timers:
 * - timers live in a binary heap and a cancel only marks its timer (the
 *   VirtualClock's sorted array costs O(n) per insert and per cancel);
 * - between two timers it lets promise chains settle with ONE macrotask turn
 *   (`setImmediate` drains every microtask and nextTick), not three: the
 *   simulation's stores answer from memory, so nothing waits on real I/O.
 *   Stores that do (SQLite's group commit) get `settleRounds: 3`.
 * - {@link setPeriodTimer}: a periodic task's tick whose `idle()` holds
 *   when it falls due is not run; its timer is re-armed one period later,
 *   taking the place among equal-time timers that the re-arm of a tick that
 *   ran would have taken (the next sequence number, as nothing else runs in
 *   between). No promise, no settling: the recovery tick and the store
 *   probe of every simulated instance cost a heap step while nothing changes.
 *
 * @example
 * const clock = new SimClock({ now: Date.UTC(2026, 0, 1) });
 * await clock.advanceTo(clock.now() + 86_400_000); // one simulated day
 */
export class SimClock implements Clock {
  #now: number;
  readonly #origin: number;
  readonly #settleRounds: number;
  #seq = 0;
  #heap: Timer[] = [];
  /** Cancelled timers still in the heap. */
  readonly #counts = { cancelled: 0 };
  /** Timers fired so far (for the report's speed figures). */
  fired = 0;
  /** Periodic ticks skipped as idle so far (see setPeriodTimer). */
  skipped = 0;

  constructor(options: { now?: number; settleRounds?: number } = {}) {
    this.#now = options.now ?? Date.UTC(2026, 0, 1);
    this.#origin = this.#now;
    this.#settleRounds = options.settleRounds ?? 1;
  }

  now(): number {
    return this.#now;
  }

  monotonic(): number {
    return this.#now - this.#origin;
  }

  get pendingTimers(): number {
    return this.#heap.length - this.#counts.cancelled;
  }

  setTimer(ms: number, fn: () => void): TimerHandle {
    return this.#arm(ms, fn, 0, null);
  }

  /** See {@link Clock.setPeriodTimer}; `ms` must be > 0. */
  setPeriodTimer(ms: number, fn: () => void, idle: () => boolean): TimerHandle {
    if (!(ms > 0)) throw new RangeError(`SimClock.setPeriodTimer: expected a period > 0 ms, got ${ms}`);
    return this.#arm(ms, fn, ms, idle);
  }

  #arm(ms: number, fn: () => void, period: number, idle: (() => boolean) | null): TimerHandle {
    const timer = new Timer(this.#now + Math.max(0, ms), ++this.#seq, fn, period, idle, this.#counts);
    this.#push(timer);
    return timer;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return sleepOnTimer((delay, fn) => this.setTimer(delay, fn), ms, signal);
  }

  /** Lets pending promise chains run without moving time. */
  async flush(): Promise<void> {
    for (let i = 0; i < this.#settleRounds; i++) await settle();
  }

  async advance(ms: number): Promise<void> {
    await this.advanceTo(this.#now + ms);
  }

  /** Fires every timer due up to `target`, in order, then sets `now` to `target` (never backwards). */
  async advanceTo(target: number): Promise<void> {
    await this.flush();
    for (;;) {
      const next = this.#peek();
      if (!next || next.at > target) break;
      this.#pop();
      this.#now = Math.max(this.#now, next.at);
      if (next.idle?.()) {
        next.at += next.period;
        next.seq = ++this.#seq;
        this.#push(next);
        this.skipped++;
        continue;
      }
      const fn = next.fn as () => void;
      next.fn = null;
      this.fired++;
      fn();
      await this.flush();
    }
    this.#now = Math.max(this.#now, target);
    await this.flush();
  }

  /** Fires timers until `predicate()` holds or `limitMs` passed. Returns whether it held. */
  async runUntil(predicate: () => boolean, limitMs = 24 * 3600_000): Promise<boolean> {
    const deadline = this.#now + limitMs;
    await this.flush();
    while (!predicate()) {
      const next = this.#peek();
      if (!next || next.at > deadline) return predicate();
      await this.advanceTo(next.at);
    }
    return true;
  }

  /** The earliest live timer, dropping cancelled ones from the top. */
  #peek(): Timer | undefined {
    while (this.#heap.length > 0 && (this.#heap[0] as Timer).fn === null) {
      this.#pop();
      this.#counts.cancelled--;
    }
    return this.#heap[0];
  }

  #push(timer: Timer): void {
    const heap = this.#heap;
    heap.push(timer);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(timer, heap[parent] as Timer)) break;
      heap[i] = heap[parent] as Timer;
      i = parent;
    }
    heap[i] = timer;
  }

  #pop(): void {
    const heap = this.#heap;
    const last = heap.pop() as Timer;
    if (heap.length === 0) return;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= heap.length) break;
      const right = left + 1;
      const child = right < heap.length && before(heap[right] as Timer, heap[left] as Timer) ? right : left;
      if (!before(heap[child] as Timer, last)) break;
      heap[i] = heap[child] as Timer;
      i = child;
    }
    heap[i] = last;
  }
}

function before(a: Timer, b: Timer): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}

function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
