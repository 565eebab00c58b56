/**
 * PromQL's `histogram_quantile(q, buckets)` for one group of buckets: upper
 * bound (`le`, `+Inf` as Infinity) -> cumulative count (or rate). The same
 * arithmetic as Prometheus (promql/quantile.go), so the in-process
 * evaluator and an exported rule agree:
 *
 * - NaN without a `+Inf` bucket, with fewer than two buckets, or with no
 *   observations (a rule then has no value: no alert);
 * - the rank is `q * count(+Inf)`; the answer is interpolated linearly
 *   inside the first bucket whose cumulative count reaches it, the lowest
 *   bucket starting at 0 (when its bound is positive);
 * - a rank in the `+Inf` bucket answers the highest finite bound.
 *
 * @example histogramQuantile(0.5, new Map([[1, 2], [2, 4], [Infinity, 4]])) // 1
 */
export function histogramQuantile(q: number, buckets: ReadonlyMap<number, number>): number {
  if (Number.isNaN(q)) return Number.NaN;
  if (q < 0) return Number.NEGATIVE_INFINITY;
  if (q > 1) return Number.POSITIVE_INFINITY;
  const sorted = [...buckets].sort(([a], [b]) => a - b);
  if (sorted.length < 2) return Number.NaN;
  const last = sorted[sorted.length - 1] as [number, number];
  if (last[0] !== Number.POSITIVE_INFINITY) return Number.NaN;
  // Rates of cumulative counters can come out slightly non-monotonic; Prometheus evens them out the same way.
  for (let i = 1; i < sorted.length; i++) {
    const prev = (sorted[i - 1] as [number, number])[1];
    const cur = sorted[i] as [number, number];
    if (cur[1] < prev) cur[1] = prev;
  }
  const total = last[1];
  if (!(total > 0)) return Number.NaN;
  const rank = q * total;
  const b = sorted.findIndex(([, count]) => count >= rank);
  if (b < 0 || b === sorted.length - 1) return (sorted[sorted.length - 2] as [number, number])[0];
  const [end, count] = sorted[b] as [number, number];
  if (b === 0 && end <= 0) return end;
  const [start, before] = b === 0 ? [0, 0] : (sorted[b - 1] as [number, number]);
  return start + (end - start) * ((rank - before) / (count - before));
}
