import type { Clock } from '../time/clock.ts';
import { type HealthReport, healthReport } from './health.ts';

/** A report as served: the cached one, with how old it is. */
export interface ServedHealthReport extends HealthReport {
  /** Milliseconds since this report was computed (runtime clock). */
  ageMs: number;
}

export interface HealthCacheOptions {
  /** Computes the full report (store ping, every loop's summary, every check). */
  compute: () => Promise<HealthReport>;
  clock: Clock;
  /** One computation per interval at most, besides one per change of `version`. */
  intervalMs: number;
  /**
   * What makes the last report wrong at once when it changes (the runtime's
   * state, the paused loops): a read that sees a new value waits for one
   * fresh computation, shared by every read that sees it.
   */
  version?: () => string;
}

interface Computed {
  report: HealthReport;
  /** Clock's monotonic time when the computation finished. */
  at: number;
  /** `version()` when the computation started. */
  version: string;
}

/**
 * The full health report, computed by one background task at most once per
 * interval and served from memory, so `/health` under load costs a JSON
 * serialisation, never a store round trip per request, and a slow store
 * cannot pile up health computations beside the loops.
 *
 * States: empty (no report yet: reads wait for the first), fresh (served as
 * is, with its age), stale (the computation has not finished for 3 intervals:
 * served unhealthy with a `health-report` component saying how old it is, so
 * probes fail closed while the store hangs).
 *
 * @example
 * const cache = new HealthCache({ compute: () => runtime.health(), clock, intervalMs: 1000 });
 * void cache.run(signal);
 * const report = await cache.read(); // { ...report, ageMs }
 */
export class HealthCache {
  readonly #options: HealthCacheOptions;
  #latest: Computed | null = null;
  #computing: Promise<void> | null = null;
  #computations = 0;
  /** The last fresh report served, and the computation it came from. */
  #served: { from: Computed; report: ServedHealthReport } | null = null;

  constructor(options: HealthCacheOptions) {
    if (!Number.isFinite(options.intervalMs) || options.intervalMs <= 0) {
      throw new RangeError(`HealthCache: expected intervalMs to be a finite number > 0, got ${options.intervalMs}`);
    }
    this.#options = options;
  }

  /** How many reports were computed so far. */
  get computations(): number {
    return this.#computations;
  }

  /** Computes a report now and once per interval after the last one finished, until `signal` aborts. */
  async run(signal: AbortSignal): Promise<void> {
    const { clock, intervalMs } = this.#options;
    while (!signal.aborted) {
      await this.#refresh();
      try {
        await clock.sleep(intervalMs, signal);
      } catch (error) {
        if (signal.aborted) return;
        throw error;
      }
    }
  }

  /** The last report with its age; waits for one computation when there is none yet or `version` changed. */
  async read(): Promise<ServedHealthReport> {
    const version = this.#options.version?.() ?? '';
    if (!this.#latest || this.#latest.version !== version) await this.#refresh();
    const latest = this.#latest as Computed;
    // Whole milliseconds: every read within one millisecond of the same report gets the same object, which
    // the HTTP fast path serialises once (probe-handler.ts), not once per request under a burst of probes.
    const ageMs = Math.round(Math.max(0, this.#options.clock.monotonic() - latest.at));
    const staleAfterMs = 3 * this.#options.intervalMs;
    if (ageMs <= staleAfterMs) {
      const served = this.#served;
      if (served?.from === latest && served.report.ageMs === ageMs) return served.report;
      this.#served = { from: latest, report: Object.freeze({ ...latest.report, ageMs }) };
      return this.#served.report;
    }
    const stale = {
      healthy: false,
      detail: `the last report is ${ageMs} ms old (computed every ${this.#options.intervalMs} ms); the next one has not finished`,
    };
    const components = { ...latest.report.components, 'health-report': stale };
    return { ...latest.report, healthy: false, status: 'unhealthy', components, ageMs };
  }

  /** One computation at a time: a caller that finds one running shares it. */
  #refresh(): Promise<void> {
    this.#computing ??= this.#computeOnce().finally(() => {
      this.#computing = null;
    });
    return this.#computing;
  }

  async #computeOnce(): Promise<void> {
    const { compute, clock, version } = this.#options;
    const seen = version?.() ?? '';
    this.#computations += 1;
    let report: HealthReport;
    try {
      report = await compute();
    } catch (error) {
      const detail = `the health report failed: ${error instanceof Error ? error.message : String(error)}`;
      report = healthReport({ 'health-report': { healthy: false, detail } }, clock.now());
    }
    this.#latest = { report, at: clock.monotonic(), version: seen };
  }
}
