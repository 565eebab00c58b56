/**
 * Adaptive concurrency: a limit between `min` and `max` on in-flight calls to
 * one dependency, fed with completed calls' latencies and outcomes.
 *
 * Algorithm: windowed AIMD on a latency gradient, plus the seed's bars.
 * Every `window` fresh samples (and never more often) one decision:
 *   1. error rate > `errorRateBar`           -> limit = max(min, floor(limit / 2))
 *   2. p95 > `p95BarMs` (seed: 8 s)          -> limit = max(min, floor(limit / 2))
 *   3. p50 > `tolerance` * baseline          -> limit = max(min, floor(limit * decreaseFactor))
 *   4. otherwise                             -> limit = min(max, limit + 1)
 * The baseline is the lowest window p50 seen (the no-load latency); while
 * the limit sits at `min` it is re-learned from the current window instead.
 * After a change the window is emptied, and samples from calls that started
 * before the change are dropped (start = now - latency): they measured the
 * old limit, and deciding on them again is how controllers oscillate.
 *
 * WHY this and not the seed's rule alone: the seed halves the batch when p95
 * crosses 8 s. Against a dependency whose latency grows with our own load,
 * `latency = base * max(1, inflight / knee)`, absolute bars never see the
 * knee (100 ms is far below 8 s) while every call above it is pure queueing:
 * throughput stays knee / base, latency rises. Only a relative signal finds
 * the knee, so the bars stay (hard guards, seed semantics) and a gradient,
 * p50 / baseline, drives the limit. (The p50, not the p95: over 10 samples
 * the p95 is the single slowest call, too noisy to steer by.)
 *
 * WHY AIMD over Gradient2 or Vegas: both estimate queueing from a baseline
 * latency, and both have the same weak spot, the baseline drifting up
 * while the limit stays above the knee (nothing then measures the no-load
 * latency). AIMD removes it structurally: it decreases once the p50
 * exceeds tolerance x base, i.e. at limit L = floor(tolerance x knee) + 1,
 * and lands at floor(decreaseFactor x L), below the knee whenever
 * decreaseFactor x tolerance < 1 (defaults 0.7 x 1.25 = 0.875), so every
 * sawtooth re-measures the true baseline. For knee 8: the limit cycles 7..11 (mean ~9), and the
 * worst latency a call sees is base * 11 / 8 = 1.375 * base.
 * When latency steps up for reasons that are not ours (base x4), the ratio
 * jumps to ~4: the limit falls by a factor 0.7 per window to `min`, where
 * the baseline is re-learned, and it climbs back to the same knee. Holding
 * `min` for a window is the price of never trusting a stale baseline. The
 * first decrease comes one window of post-step calls after the step. In the
 * example's model (base 100 ms -> 400 ms, knee 8, window 10) that measured
 * median 1.24 s and max 1.79 s over 150 step timings: a window that is mostly
 * pre-step samples can still decide +1, and the change then discards the
 * post-step calls in flight, wasting a round.
 * It starts at `max` (the seed's base concurrency), or at `initial`, or at
 * the limit a previous run remembered ({@link restore}), and cuts only on
 * evidence. WHY not slow start from `min`: 20 symbols x 10 s calls took
 * 70.4 s in the first cycle climbing from 3, past the spec's 50 s and the
 * next tick; from 10 they take 20 s (30 s when the 10 s calls cross the 8 s
 * p95 bar and the limit halves after the first wave).
 * Starting high costs the gradient its baseline: the first windows are
 * measured under our own full load and on cold connections (over real HTTP
 * at 32 in flight, the first calls took 1.9 x the no-load latency), and a
 * baseline that high is never corrected, so the limit settled at 12..24 for
 * a knee of 8. So, once, after the first PROBE_AFTER_DECISIONS decisions,
 * the limit drops to `min` for one window (reason `probe`), whose p50
 * re-learns the baseline as at `min` always; the next decision resumes the
 * limit from before the probe (or applies a bar, if one fired), and the
 * gradient then finds the knee from above. The probe comes after the first
 * cycle of the seed's workload (its 2nd decision ends that cycle), and is
 * not repeated: below the knee, every sawtooth re-measures the baseline.
 * A dependency whose every call is equally slow at any load gives a
 * baseline of that latency and is cut only by the bars, as in the seed.
 *
 * Separately, `timeoutFor` and `shouldSkipCycle` read the last `window`
 * samples whatever the decisions (the seed's LatencyTracker).
 *
 * Limits, by choice: it does not know whether the limit was actually used,
 * so with little demand it climbs to `max` (which is why `max` is required);
 * and `tolerance` must exceed the dependency's window-to-window p50 jitter,
 * or noise reads as queueing (raise it for noisy dependencies such as LLMs).
 */
import type { Clock } from '../time/clock.ts';
import { checkInteger, checkNumber } from './check-option.ts';
import { type LatencySnapshot, LatencyTracker } from './latency-tracker.ts';
import { ListenerSet } from './listener-set.ts';

/** Decisions before the one window at `min` that measures the no-load latency (the first ones are cold). */
const PROBE_AFTER_DECISIONS = 2;

/** Latencies are compared from this floor, so sub-millisecond jitter never reads as queueing. */
const LATENCY_FLOOR_MS = 1;

export interface AdaptiveConcurrencyOptions {
  /** The lowest limit (seed: min batch 3). Default 3. */
  min?: number;
  /** The highest limit (seed: `max_concurrent` 10). */
  max: number;
  /** The limit to start at, in [min, max]. Default `max`: cut on evidence, never slow-start. */
  initial?: number;
  /** The one early window at `min` that measures the no-load latency (see the header). Default true. */
  baselineProbe?: boolean;
  /** Samples per decision and in the recent window. Default 10. */
  window?: number;
  /** A window p95 above this halves the limit. Default 8000. */
  p95BarMs?: number;
  /** With a full recent window, a p99 above this skips the cycle. Default 9000. */
  p99BarMs?: number;
  /** A window error rate (0..1) above this halves the limit. Default 0.2. */
  errorRateBar?: number;
  /** p50 above `tolerance` * baseline counts as queueing. > 1; default 1.25. */
  tolerance?: number;
  /** Multiplier on a latency-driven decrease, in (0, 1); keep it below 1 / tolerance. Default 0.7. */
  decreaseFactor?: number;
  /** Receives errors thrown by limit-change listeners. Default: ignore them. */
  onListenerError?: (error: unknown) => void;
}

/** Why the limit moved. */
export type LimitChangeReason =
  | 'error-rate'
  | 'p95-bar'
  | 'latency-gradient'
  | 'recovered'
  | 'restored'
  | 'probe'
  | 'bounds';

/** A limit change with its evidence, as given to {@link AdaptiveConcurrency.onLimitChange} listeners. */
export interface LimitChange {
  readonly previous: number;
  readonly limit: number;
  readonly reason: LimitChangeReason;
  /** Wall-clock epoch ms. */
  readonly at: number;
  /** The decision window the change was based on. */
  readonly window: LatencySnapshot;
  /** The no-load latency estimate at the time. */
  readonly baselineMs: number;
}

/**
 * @example
 * const adaptive = new AdaptiveConcurrency({ max: 10 }, clock);
 * adaptive.onLimitChange(({ limit }) => { pool.concurrency = limit; });
 * // after each call: adaptive.record(latencyMs, ok);
 * // each cycle: if (adaptive.shouldSkipCycle()) skip; else timeout = adaptive.timeoutFor(10_000);
 */
export class AdaptiveConcurrency {
  #min: number;
  #max: number;
  readonly #clock: Clock;
  readonly #p95BarMs: number;
  readonly #p99BarMs: number;
  readonly #errorRateBar: number;
  readonly #tolerance: number;
  readonly #decreaseFactor: number;
  readonly #window: LatencyTracker;
  readonly #recent: LatencyTracker;
  readonly #listeners: ListenerSet<LimitChange>;
  #limit: number;
  #baselineMs: number | undefined;
  /** Monotonic ms of the last limit change; calls that started before it are stale. */
  #changedAt = Number.NEGATIVE_INFINITY;
  #samplesSinceSkip = 0;
  /** A decision was made: a remembered limit no longer applies. */
  #decided = false;
  #decisions = 0;
  /** The one early window at `min` that measures the no-load latency: not yet, under way (and where to resume), done. */
  #probe: { kind: 'pending' } | { kind: 'probing'; resume: number } | { kind: 'done' } = { kind: 'pending' };

  constructor(options: AdaptiveConcurrencyOptions, clock: Clock) {
    this.#min = checkInteger('min', options.min ?? 3, { min: 1 });
    this.#max = checkInteger('max', options.max, { min: this.#min });
    const window = checkInteger('window', options.window ?? 10, { min: 1 });
    this.#p95BarMs = checkNumber('p95BarMs', options.p95BarMs ?? 8_000, { above: 0 });
    this.#p99BarMs = checkNumber('p99BarMs', options.p99BarMs ?? 9_000, { above: 0 });
    this.#errorRateBar = checkNumber('errorRateBar', options.errorRateBar ?? 0.2, { min: 0, below: 1 });
    this.#tolerance = checkNumber('tolerance', options.tolerance ?? 1.25, { above: 1 });
    this.#decreaseFactor = checkNumber('decreaseFactor', options.decreaseFactor ?? 0.7, { above: 0, below: 1 });
    this.#clock = clock;
    this.#window = new LatencyTracker({ window });
    this.#recent = new LatencyTracker({ window });
    this.#listeners = new ListenerSet(options.onListenerError);
    if (options.baselineProbe === false) this.#probe = { kind: 'done' };
    this.#limit = checkInteger('initial', options.initial ?? this.max, { min: this.min, max: this.max });
  }

  /** The lowest limit it cuts to. */
  get min(): number {
    return this.#min;
  }

  /** The highest limit it grows to. */
  get max(): number {
    return this.#max;
  }

  /**
   * Moves the bounds at run time (another controller owns them, e.g. the
   * decide recipe's concurrency decisions): `max` becomes the new ceiling,
   * `min` is lowered to it when above, and the limit jumps to the new `max`,
   * from where this policy cuts on evidence as it does at start. Emits a
   * change with reason `bounds` when the limit moves.
   */
  setBounds(max: number): void {
    this.#max = checkInteger('max', max, { min: 1 });
    this.#min = Math.min(this.#min, this.#max);
    this.#setLimit(this.#max, 'bounds', this.#window.snapshot());
  }

  /** The current limit on in-flight calls. */
  get limit(): number {
    return this.#limit;
  }

  /** The no-load latency estimate; undefined until the first decision. */
  get baselineMs(): number | undefined {
    return this.#baselineMs;
  }

  /** The last `window` samples (for gauges such as the seed's `current_p95_latency_ms`). */
  recent(): LatencySnapshot {
    return this.#recent.snapshot();
  }

  /** Calls `listener` after every limit change. */
  onLimitChange(listener: (change: LimitChange) => void): { dispose(): void } {
    return this.#listeners.add(listener);
  }

  /**
   * Starts from a limit a previous run remembered (clamped to [min, max]),
   * unless a decision already moved the limit: then this run's own evidence
   * wins and nothing happens. Emits a change with reason `restored` when the
   * limit moves. Returns whether the remembered limit is now in force.
   */
  restore(limit: number): boolean {
    if (this.#decided || !Number.isFinite(limit)) return false;
    const wanted = Math.round(limit);
    this.#setLimit(wanted, 'restored', this.#window.snapshot());
    return this.#limit === Math.min(this.max, Math.max(this.min, wanted));
  }

  /** Records one completed call; call it at completion, with the latency measured on the same clock. */
  record(latencyMs: number, ok = true): void {
    this.#recent.record(latencyMs, ok);
    this.#samplesSinceSkip++;
    // Started under the old limit (or in the same instant as the change, when order is unknowable).
    if (this.#clock.monotonic() - latencyMs <= this.#changedAt) return;
    this.#window.record(latencyMs, ok);
    if (this.#window.full) this.#decide();
  }

  /**
   * The item timeout to use now: `baseTimeoutMs`, extended in high-latency
   * periods to 1.5 * the recent p99, never beyond `maxTimeoutMs` (default
   * 1.5 * base, the seed's 10 s -> 15 s).
   */
  timeoutFor(baseTimeoutMs: number, maxTimeoutMs = baseTimeoutMs * 1.5): number {
    return Math.max(baseTimeoutMs, Math.min(maxTimeoutMs, this.#recent.p99 * 1.5));
  }

  /**
   * True when the recent p99 is above `p99BarMs` over a full window of
   * samples recorded since the last true answer. Asking is deciding: a true
   * answer consumes the evidence, so a skipped cycle (which records nothing)
   * cannot make every later cycle skip on the same old samples.
   */
  shouldSkipCycle(): boolean {
    if (this.#samplesSinceSkip < this.#recent.window || this.#recent.p99 <= this.#p99BarMs) return false;
    this.#samplesSinceSkip = 0;
    return true;
  }

  #decide(): void {
    this.#decided = true;
    this.#decisions++;
    const window = this.#window.snapshot();
    this.#window.reset();
    const { wanted, reason } = this.#nextLimit(window);
    const probe = this.#probe;
    if (probe.kind === 'probing') {
      // The window at min re-learned the baseline; resume where we were unless a bar says otherwise.
      this.#probe = { kind: 'done' };
      this.#setLimit(reason === 'recovered' ? probe.resume : wanted, reason, window);
      return;
    }
    this.#setLimit(wanted, reason, window);
    if (probe.kind === 'pending' && this.#decisions >= PROBE_AFTER_DECISIONS) this.#startProbe(window);
  }

  /** One window at `min` to measure the no-load latency, once, early (see the header). */
  #startProbe(window: LatencySnapshot): void {
    if (this.#limit === this.min) {
      this.#probe = { kind: 'done' }; // already at min: its windows re-learn the baseline anyway
      return;
    }
    this.#probe = { kind: 'probing', resume: this.#limit };
    this.#setLimit(this.min, 'probe', window);
  }

  /** Rules 1-4 of the header, in order. */
  #nextLimit(window: LatencySnapshot): { wanted: number; reason: LimitChangeReason } {
    if (window.errorRate > this.#errorRateBar) return { wanted: Math.floor(this.#limit / 2), reason: 'error-rate' };
    if (window.p95 > this.#p95BarMs) return { wanted: Math.floor(this.#limit / 2), reason: 'p95-bar' };
    const baseline = this.#learnBaseline(window.p50);
    // Below a millisecond, ratios are timer noise, not queueing: compare from a floor.
    if (Math.max(window.p50, LATENCY_FLOOR_MS) > this.#tolerance * Math.max(baseline, LATENCY_FLOOR_MS)) {
      return { wanted: Math.floor(this.#limit * this.#decreaseFactor), reason: 'latency-gradient' };
    }
    return { wanted: this.#limit + 1, reason: 'recovered' };
  }

  /** The lowest p50 seen, except at `min`, where the current p50 is the best no-load measurement we can make. */
  #learnBaseline(p50: number): number {
    const atMin = this.#limit === this.min;
    this.#baselineMs = this.#baselineMs === undefined || atMin ? p50 : Math.min(this.#baselineMs, p50);
    return this.#baselineMs;
  }

  #setLimit(wanted: number, reason: LimitChangeReason, window: LatencySnapshot): void {
    const limit = Math.min(this.max, Math.max(this.min, wanted));
    const previous = this.#limit;
    if (limit === previous) return;
    this.#limit = limit;
    this.#changedAt = this.#clock.monotonic();
    const baselineMs = this.#baselineMs ?? window.p50;
    this.#listeners.emit({ previous, limit, reason, at: this.#clock.now(), window, baselineMs });
  }
}
