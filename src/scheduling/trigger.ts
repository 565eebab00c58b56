import { Cron } from 'croner';
import type { ResolvedTrigger } from '../core/loop.ts';

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
  const cron = new Cron(expression, { paused: true, timezone, mode: 'auto' });
  return {
    description: `cron ${expression} (${timezone})`,
    next(afterMs) {
      const next = cron.nextRun(new Date(afterMs));
      return next ? next.getTime() : undefined;
    },
  };
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
