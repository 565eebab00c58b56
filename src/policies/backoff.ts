import { checkNumber } from './check-option.ts';

/**
 * Exponential backoff: the wait before retry n grows from `initialMs` by
 * `multiplier` per retry up to `maxMs`. With `jitter: 'full'` (AWS
 * architecture blog, "Exponential Backoff And Jitter") the wait is uniform in
 * [0, that ceiling): full jitter spreads the retries of many items that failed
 * together, which is what a fan-out against one dependency needs. Without
 * jitter the wait is the ceiling itself, for a single restarting process
 * whose delays should be predictable.
 */
export interface BackoffSchedule {
  /** The ceiling of the first wait (before the second attempt). */
  readonly initialMs: number;
  /** Growth per retry. Default 2. */
  readonly multiplier?: number;
  /** Cap on one wait. */
  readonly maxMs: number;
  /** `full` (default): uniform in [0, ceiling); `none`: the ceiling. */
  readonly jitter?: 'full' | 'none';
}

/**
 * The wait before retry `retry` (1 = before the second attempt) on
 * `schedule`. Pure: the same arguments give the same delay, so a supervisor
 * can compute its restart delays without a retry loop.
 *
 * @param random a source in [0, 1), read once with full jitter; injected so tests are deterministic.
 * @example
 * // A supervisor restarting a process: 100 ms doubling up to 30 s; a run of a minute resets the count.
 * restart = ranForMs >= 60_000 ? 1 : restart + 1;
 * await clock.sleep(backoffDelay({ initialMs: 100, maxMs: 30_000, jitter: 'none' }, restart), signal); // 100, 200, 400, …
 */
export function backoffDelay(schedule: BackoffSchedule, retry: number, random: () => number = Math.random): number {
  const ceiling = Math.min(schedule.maxMs, schedule.initialMs * (schedule.multiplier ?? 2) ** Math.max(0, retry - 1));
  return schedule.jitter === 'none' ? ceiling : Math.floor(random() * ceiling);
}

/**
 * Returns `schedule` when its numbers make sense, else throws a RangeError in
 * the project's one template. Call it once where a schedule is built.
 */
export function checkBackoffSchedule(schedule: BackoffSchedule): BackoffSchedule {
  checkNumber('initialMs', schedule.initialMs, { min: 0 });
  checkNumber('maxMs', schedule.maxMs, { min: 0 });
  if (schedule.multiplier !== undefined) checkNumber('multiplier', schedule.multiplier, { min: 1 });
  return schedule;
}

/**
 * Full-jitter exponential backoff with a multiplier of 2: the delay before
 * retry n is uniform in [0, min(max, base * 2^(n-1))).
 *
 * @param retry 1 for the delay before the second attempt.
 * @param random a source in [0, 1); injected so tests are deterministic.
 */
export function fullJitterDelay(retry: number, baseMs: number, maxMs: number, random: () => number): number {
  return backoffDelay({ initialMs: baseMs, maxMs }, retry, random);
}
