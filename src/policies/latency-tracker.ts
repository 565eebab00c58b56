/**
 * The last `window` call latencies (default 10, as in seed 002), with their
 * outcomes, and the percentiles and error rate over exactly those samples.
 *
 * Percentiles are nearest-rank: the p-th percentile of n samples is the
 * smallest sample such that at least p% of the samples are <= it, i.e. the
 * value at rank ceil(p/100 * n) (1-based) in ascending order. It is always
 * a latency that actually happened (no interpolation), and over a window of
 * 10 the p95 and p99 are both the slowest call, which is what the seed's
 * thresholds were written against. An empty window reads 0 (below every
 * bar, so it never triggers an action); check `count` to tell.
 *
 * Failed calls count in the percentiles too: a timeout is the latency the
 * caller paid. Sorting on each read is O(window log window), fine for the
 * small windows this is meant for.
 */
import { checkInteger, checkNumber } from './check-option.ts';

/** A point-in-time copy of a tracker's figures. */
export interface LatencySnapshot {
  /** Samples in the window (<= window). */
  readonly count: number;
  readonly window: number;
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
  /** Failed samples / count; 0 when empty. */
  readonly errorRate: number;
}

interface Sample {
  readonly ms: number;
  readonly ok: boolean;
}

/**
 * @example
 * const tracker = new LatencyTracker({ window: 10 });
 * tracker.record(1_200);
 * tracker.record(9_000, false);
 * tracker.p95; // 9000
 */
export class LatencyTracker {
  readonly window: number;
  /** Ring buffer; `#next` is where the next sample goes. */
  readonly #samples: Sample[] = [];
  #next = 0;

  constructor(options: { window?: number } = {}) {
    this.window = checkInteger('window', options.window ?? 10, { min: 1 });
  }

  /** Adds one completed call, evicting the oldest when the window is full. */
  record(latencyMs: number, ok = true): void {
    checkNumber('latencyMs', latencyMs, { min: 0 });
    const sample = { ms: latencyMs, ok };
    if (this.#samples.length < this.window) this.#samples.push(sample);
    else this.#samples[this.#next] = sample;
    this.#next = (this.#next + 1) % this.window;
  }

  /** Samples held (at most `window`). */
  get count(): number {
    return this.#samples.length;
  }

  /** True once `window` samples have been recorded since construction or `reset`. */
  get full(): boolean {
    return this.#samples.length === this.window;
  }

  get p50(): number {
    return this.percentile(50);
  }

  get p95(): number {
    return this.percentile(95);
  }

  get p99(): number {
    return this.percentile(99);
  }

  /** Failed samples / count over the window; 0 when empty. */
  get errorRate(): number {
    if (this.#samples.length === 0) return 0;
    return this.#samples.filter((s) => !s.ok).length / this.#samples.length;
  }

  /** The nearest-rank `p`-th percentile (0 < p <= 100) of the window; 0 when empty. */
  percentile(p: number): number {
    checkNumber('p', p, { above: 0, max: 100 });
    if (this.#samples.length === 0) return 0;
    const sorted = this.#samples.map((s) => s.ms).sort((a, b) => a - b);
    const rank = Math.ceil((p / 100) * sorted.length);
    return sorted[rank - 1] as number;
  }

  /** Forgets every sample. */
  reset(): void {
    this.#samples.length = 0;
    this.#next = 0;
  }

  snapshot(): LatencySnapshot {
    return {
      count: this.count,
      window: this.window,
      p50: this.p50,
      p95: this.p95,
      p99: this.p99,
      errorRate: this.errorRate,
    };
  }
}
