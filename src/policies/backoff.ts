/**
 * Exponential backoff with full jitter (AWS architecture blog, "Exponential
 * Backoff And Jitter"): the delay before retry n is uniform in
 * [0, min(max, base * 2^(n-1))). Full jitter spreads retries of many items
 * that failed together, which is what a fan-out against one dependency needs.
 *
 * @param retry 1 for the delay before the second attempt.
 * @param random a source in [0, 1); injected so tests are deterministic.
 */
export function fullJitterDelay(retry: number, baseMs: number, maxMs: number, random: () => number): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.max(0, retry - 1));
  return Math.floor(random() * ceiling);
}
