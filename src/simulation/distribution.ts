import type { LatencySpec } from '../config/simulate-schema.ts';

/** z of the 99th percentile of the standard normal distribution. */
const Z99 = 2.326_347_874;

/**
 * Draws one latency (ms, rounded to whole ms so runs stay exact) from
 * `spec` with `random` in [0, 1). A lognormal is fitted to p50 and p99:
 * latencies of network calls are skewed right, and two percentiles are what
 * an operator knows of a dependency.
 */
export function sampleLatency(spec: LatencySpec, random: () => number): number {
  switch (spec.kind) {
    case 'fixed':
      return spec.ms;
    case 'uniform':
      return Math.round(spec.minMs + random() * (spec.maxMs - spec.minMs));
    case 'lognormal': {
      const sigma = Math.log(spec.p99Ms / spec.p50Ms) / Z99;
      return Math.round(spec.p50Ms * Math.exp(sigma * normal(random)));
    }
  }
}

/** A standard normal draw (Box-Muller; one of the pair). */
function normal(random: () => number): number {
  const u = 1 - random(); // (0, 1]: log(0) would be -Infinity
  const v = random();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

/** An exponential gap with mean `meanMs` (the time to the next event of a Poisson process). */
export function exponentialGap(meanMs: number, random: () => number): number {
  return Math.round(-Math.log(1 - random()) * meanMs);
}

/** Uniform in [minMs, maxMs], whole ms. */
export function inRange(range: { minMs: number; maxMs: number }, random: () => number): number {
  return Math.round(range.minMs + random() * (range.maxMs - range.minMs));
}

/** The `p`-th percentile (0..1) of ascending `sorted` values, nearest rank; 0 when empty. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1));
  return sorted[rank] as number;
}
