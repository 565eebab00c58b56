interface Sample {
  readonly t: number;
  readonly v: number;
}

/**
 * Recent samples of counter series, so `rate` and `increase` can be computed
 * in-process without a time-series database.
 *
 * Each series keeps its samples inside the longest window asked for, plus
 * the newest one before it (the window's left edge), so a window is covered
 * in full once it has run that long. Counter resets (a value going down,
 * e.g. a process restart) count as a fresh start from 0, as in PromQL.
 */
export class SeriesWindows {
  readonly #series = new Map<string, Sample[]>();

  /** Series tracked now. */
  get size(): number {
    return this.#series.size;
  }

  has(key: string): boolean {
    return this.#series.has(key);
  }

  /** Appends a sample; `t` must not go backwards for one series. */
  record(key: string, t: number, value: number): void {
    let samples = this.#series.get(key);
    if (!samples) {
      samples = [];
      this.#series.set(key, samples);
    }
    const last = samples[samples.length - 1];
    if (last && last.t === t) samples[samples.length - 1] = { t, v: value };
    else samples.push({ t, v: value });
  }

  /**
   * The series' increase over the last `windowMs` before `now`, and the time
   * it spans (ms); undefined with fewer than two samples.
   */
  increase(key: string, now: number, windowMs: number): { increase: number; spanMs: number } | undefined {
    const samples = this.#series.get(key);
    if (!samples || samples.length < 2) return undefined;
    const start = edge(samples, now - windowMs);
    const first = samples[start] as Sample;
    const last = samples[samples.length - 1] as Sample;
    if (last.t <= first.t) return undefined;
    let total = 0;
    for (let i = start + 1; i < samples.length; i++) {
      const prev = (samples[i - 1] as Sample).v;
      const cur = (samples[i] as Sample).v;
      total += cur >= prev ? cur - prev : cur;
    }
    return { increase: total, spanMs: last.t - first.t };
  }

  /** Per-second rate over the window: the increase divided by the time it spans. */
  rate(key: string, now: number, windowMs: number): number | undefined {
    const inc = this.increase(key, now, windowMs);
    return inc === undefined ? undefined : inc.increase / (inc.spanMs / 1000);
  }

  /** Drops samples no window of `keepMs` needs, and series not sampled within it. */
  prune(now: number, keepMs: number): void {
    const horizon = now - keepMs;
    for (const [key, samples] of this.#series) {
      const last = samples[samples.length - 1];
      if (!last || last.t < horizon) {
        this.#series.delete(key);
        continue;
      }
      const start = edge(samples, horizon);
      if (start > 0) samples.splice(0, start);
    }
  }
}

/** Index of the newest sample at or before `from`, else 0 (the window is not yet covered). */
function edge(samples: readonly Sample[], from: number): number {
  let index = 0;
  for (let i = 0; i < samples.length; i++) {
    if ((samples[i] as Sample).t <= from) index = i;
    else break;
  }
  return index;
}
