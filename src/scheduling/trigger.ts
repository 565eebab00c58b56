import type { ResolvedTrigger } from '../core/loop.ts';
import { cronClass } from './croner.ts';

/**
 * When a loop's ticks fall. A trigger is pure arithmetic on time: the
 * scheduler asks it for the next tick and waits for it on the Clock, so the
 * same trigger drives a virtual clock in tests and the real one in production.
 *
 * Tick times are the same in every process (cron is wall-time arithmetic;
 * intervals align to multiples of the interval since the epoch), which is
 * what lets processes sharing a store agree on tick ids.
 */
export interface Trigger {
  /** The first tick strictly after `afterMs` (epoch ms), or undefined for never. */
  next(afterMs: number): number | undefined;
  /** Human description, e.g. "cron 0 0 * * * (UTC)" or "every 30000 ms". */
  readonly description: string;
}

export function cronTrigger(expression: string, timezone: string): Trigger {
  // paused: croner is used only as a calendar here; it must never start its own timers.
  // UTC as a fixed offset: the same ticks (no DST), ~10x cheaper than croner's time-zone arithmetic.
  const Cron = cronClass();
  const cron = new Cron(expression, { paused: true, mode: 'auto', ...cronZone(timezone) });
  const calendar = new CronCalendar((count, after) => cron.nextRuns(count, new Date(after)).map((d) => d.getTime()));
  return {
    description: `cron ${expression} (${timezone})`,
    next: (afterMs) => calendar.next(afterMs),
  };
}

/** Zone names that are UTC itself (no offset, no DST). */
const UTC_NAMES: ReadonlySet<string> = new Set(['UTC', 'Etc/UTC', 'GMT', 'Etc/GMT']);

/**
 * Croner's zone option for a time zone: UTC as a fixed offset (the same
 * ticks, and no time-zone data loaded: ICU's costs ~20 ms at start), any
 * other zone by name.
 */
export function cronZone(timezone: string): { utcOffset: number } | { timezone: string } {
  return UTC_NAMES.has(timezone) ? { utcOffset: 0 } : { timezone };
}

/** Cron ticks computed per call of {@link CronCalendar}: enough that a tick costs croner about one in this many calls. */
const CRON_BATCH = 32;

/**
 * A window of consecutive cron ticks, so asking for the next tick is a binary
 * search, not a calendar walk: the scheduler asks twice per tick, every
 * instance asks, and a simulated month asks millions of times (croner was
 * ~8% of a simulation's profile). Holds `ticks`, the first ticks strictly
 * after `from`, with none left out between them; a question outside the
 * window computes a new one from there.
 */
class CronCalendar {
  readonly #compute: (count: number, afterMs: number) => number[];
  #from = Number.POSITIVE_INFINITY;
  #ticks: number[] = [];

  constructor(compute: (count: number, afterMs: number) => number[]) {
    this.#compute = compute;
  }

  next(afterMs: number): number | undefined {
    const ticks = this.#ticks;
    // A window shorter than a batch holds every tick left (the schedule ends).
    const covered = afterMs >= this.#from && (ticks.length < CRON_BATCH || afterMs < (ticks.at(-1) as number));
    if (!covered) {
      this.#from = afterMs;
      this.#ticks = this.#compute(CRON_BATCH, afterMs);
    }
    return firstAfter(this.#ticks, afterMs);
  }
}

/** The first entry of ascending `ticks` greater than `afterMs` (binary search), or undefined. */
function firstAfter(ticks: readonly number[], afterMs: number): number | undefined {
  let lo = 0;
  let hi = ticks.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((ticks[mid] as number) > afterMs) hi = mid;
    else lo = mid + 1;
  }
  return ticks[lo];
}

export function intervalTrigger(everyMs: number): Trigger {
  if (!(everyMs > 0)) throw new RangeError(`Expected \`everyMs\` to be > 0, got \`${everyMs}\``);
  return {
    description: `every ${everyMs} ms`,
    next: (afterMs) => (Math.floor(afterMs / everyMs) + 1) * everyMs,
  };
}

export const manualTrigger: Trigger = { description: 'manual', next: () => undefined };

export function createTrigger(spec: ResolvedTrigger): Trigger {
  switch (spec.kind) {
    case 'cron':
      return cronTrigger(spec.expression, spec.timezone);
    case 'interval':
      return intervalTrigger(spec.everyMs);
    case 'manual':
      return manualTrigger;
  }
}

/** The time between the next two ticks after `now` (ms), or undefined for a manual trigger. */
export function periodMs(trigger: Trigger, now: number): number | undefined {
  const first = trigger.next(now);
  const second = first === undefined ? undefined : trigger.next(first);
  return first === undefined || second === undefined ? undefined : second - first;
}
