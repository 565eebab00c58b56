import type { CpuSpec } from './service-spec.ts';

/** What one sample changed. */
export interface CpuReading {
  /** CPU over the window, percent of one core (100 = one core busy); null until the samples span the window. */
  readonly percent: number | null;
  /** `over` on the sample that took the window's average above the limit; `under` on the one that took it back. */
  readonly crossed: 'over' | 'under' | null;
}

/**
 * CPU of a service's process tree averaged over a sliding window, from the
 * supervisor's cumulative CPU samples: (CPU now − CPU at the window's
 * start) ÷ the time between them. Percent of one core, as `top` shows it,
 * so a busy 4-thread process may read 400. One warning per excursion: it
 * reports `over` once when the average goes above the limit and `under`
 * once when it comes back to or below it. A sample whose CPU is lower than
 * the one before (a process of the tree exited and took its time with it)
 * starts the window over, so a dead child cannot make the rest look idle.
 * Times are the caller's monotonic ms, so tests feed it any timeline.
 *
 * @example
 * const cpu = new CpuWindow({ percent: 90, windowMs: 60_000, restart: false });
 * if (cpu.observe(clock.monotonic(), usage.cpuSeconds).crossed === 'over') emit('service.cpu_high', …);
 */
export class CpuWindow {
  readonly #spec: CpuSpec;
  #samples: Array<{ readonly at: number; readonly cpuSeconds: number }> = [];
  #over = false;
  #percent: number | null = null;

  constructor(spec: CpuSpec) {
    this.#spec = spec;
  }

  /** The last full window's average, or null. */
  get percent(): number | null {
    return this.#percent;
  }

  observe(at: number, cpuSeconds: number): CpuReading {
    const last = this.#samples.at(-1);
    if (last && cpuSeconds < last.cpuSeconds) this.#samples = [];
    this.#samples.push({ at, cpuSeconds });
    // Keep the newest sample at least a window old as the base; drop the ones before it.
    const windowStart = at - this.#spec.windowMs;
    while (this.#samples.length > 2 && (this.#samples[1] as { at: number }).at <= windowStart) this.#samples.shift();
    const base = this.#samples[0] as { at: number; cpuSeconds: number };
    if (at - base.at < this.#spec.windowMs) {
      this.#percent = null;
      return { percent: null, crossed: null };
    }
    const percent = ((cpuSeconds - base.cpuSeconds) * 1000 * 100) / (at - base.at);
    this.#percent = percent;
    const over = percent > this.#spec.percent;
    if (over === this.#over) return { percent, crossed: null };
    this.#over = over;
    return { percent, crossed: over ? 'over' : 'under' };
  }

  /** A new run: nothing of the old one counts. */
  reset(): void {
    this.#samples = [];
    this.#over = false;
    this.#percent = null;
  }
}
