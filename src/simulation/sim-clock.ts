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
    /** The simulated process that set it (see {@link SimClock.process}), or null for the simulation's own. */
    readonly owner: ProcessClock | null,
  ) {}

  cancel(): void {
    // A dead process's timers were all counted as cancelled when it died.
    if (this.fn === null || this.owner?.dead) return;
    this.fn = null;
    this.counts.cancelled++;
    if (this.owner) this.owner.pending--;
  }
}

const NO_TIMER: TimerHandle = { cancel: () => {} };

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
    return this.arm(ms, fn, 0, null, null);
  }

  /** See {@link Clock.setPeriodTimer}; `ms` must be > 0. */
  setPeriodTimer(ms: number, fn: () => void, idle: () => boolean): TimerHandle {
    return this.arm(ms, fn, ms, idle, null);
  }

  /**
   * A new simulated process's view of this clock, which can be killed or
   * frozen (see {@link ProcessClock}); its timers share this clock's heap.
   */
  process(): ProcessClock {
    return new ProcessClock(this);
  }

  /** Sets a timer (a period timer when `period` > 0) for `owner` (null: the simulation's own). */
  arm(ms: number, fn: () => void, period: number, idle: (() => boolean) | null, owner: ProcessClock | null): Timer {
    if (idle !== null && !(period > 0)) {
      throw new RangeError(`setPeriodTimer: expected a period > 0 ms, got ${period}`);
    }
    const timer = new Timer(this.#now + Math.max(0, ms), ++this.#seq, fn, period, idle, this.#counts, owner);
    this.#push(timer);
    if (owner) owner.pending++;
    return timer;
  }

  /** `owner` died: its timers still in the heap are dropped as cancelled ones are. */
  died(owner: ProcessClock): void {
    this.#counts.cancelled += owner.pending;
    owner.pending = 0;
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
      const owner = next.owner;
      if (next.idle !== null && (owner === null || owner.held === null) && next.idle()) {
        next.at += next.period;
        next.seq = ++this.#seq;
        this.#push(next);
        this.skipped++;
        continue;
      }
      const fn = next.fn as () => void;
      next.fn = null;
      this.fired++;
      if (owner === null) fn();
      else {
        owner.pending--;
        if (owner.held !== null) owner.held.push(fn);
        else fn();
      }
      // The one settling turn inline (no async frame of flush() per timer) unless a store needs more.
      if (this.#settleRounds === 1) await settle();
      else await this.flush();
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

  /** The earliest live timer, dropping cancelled ones (and dead processes') from the top. */
  #peek(): Timer | undefined {
    for (;;) {
      const top = this.#heap[0];
      if (top === undefined || (top.fn !== null && !top.owner?.dead)) return top;
      this.#pop();
      this.#counts.cancelled--;
    }
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

/**
 * One simulated process's view of a {@link SimClock}: what {@link KillableClock}
 * is over any clock, with its timers in the SimClock's own heap (no second
 * timer, closure and set entry per timer: a month of simulation sets millions).
 * - `kill()` is SIGKILL: none of its timers fire again, none of its sleeps
 *   end, and new timers are never set.
 * - `freeze(ms, onThaw)` is SIGSTOP: the timers that fall due meanwhile fire
 *   late, in order, once it thaws (after `onThaw`); its period timers are
 *   not skipped as idle while it is frozen.
 */
export class ProcessClock implements Clock {
  /** Its timers in the heap, not yet fired or cancelled. */
  pending = 0;
  /** While frozen: the callbacks that fell due, in the order they did. */
  held: Array<() => void> | null = null;
  #dead = false;
  readonly #base: SimClock;
  readonly #set = (ms: number, fn: () => void): TimerHandle => this.setTimer(ms, fn);
  readonly #alive = (): boolean => !this.#dead;

  constructor(base: SimClock) {
    this.#base = base;
  }

  get dead(): boolean {
    return this.#dead;
  }

  get frozen(): boolean {
    return this.held !== null;
  }

  get pendingTimers(): number {
    return this.pending;
  }

  now(): number {
    return this.#base.now();
  }

  monotonic(): number {
    return this.#base.monotonic();
  }

  setTimer(ms: number, fn: () => void): TimerHandle {
    return this.#dead ? NO_TIMER : this.#base.arm(ms, fn, 0, null, this);
  }

  setPeriodTimer(ms: number, fn: () => void, idle: () => boolean): TimerHandle {
    return this.#dead ? NO_TIMER : this.#base.arm(ms, fn, ms, idle, this);
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return sleepOnTimer(this.#set, ms, signal, this.#alive);
  }

  kill(): void {
    if (this.#dead) return;
    this.#dead = true;
    this.held = null;
    this.#base.died(this);
  }

  freeze(ms: number, onThaw?: () => void): void {
    if (this.#dead || this.held) return;
    this.held = [];
    this.#base.setTimer(ms, () => {
      const held = this.held ?? [];
      this.held = null;
      if (this.#dead) return;
      onThaw?.();
      for (const fn of held) fn();
    });
  }
}

function before(a: Timer, b: Timer): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}

function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
