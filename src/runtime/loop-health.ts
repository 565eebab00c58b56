import type { ResolvedLoop } from '../core/loop.ts';
import { periodMs, type Trigger } from '../scheduling/trigger.ts';
import type { ComponentHealth } from './health.ts';

/**
 * How long a loop may go without a successful (ok or partial) cycle before it
 * counts as unhealthy: two trigger periods plus one item timeout, so a single
 * failed or skipped cycle never flips health, two in a row do.
 */
export function staleAfterMs(loop: ResolvedLoop, trigger: Trigger, now: number): number | undefined {
  const period = periodMs(trigger, now);
  if (period === undefined) return undefined; // manual: never stale
  return 2 * period + loop.policies.timeoutMs;
}

export function loopHealth(input: {
  loop: ResolvedLoop;
  trigger: Trigger;
  now: number;
  /** When the runtime started scheduling: the reference before any success. */
  since: number;
  lastSuccessAt: number | undefined;
  lastOutcome: string | undefined;
  paused: boolean;
  running: boolean;
  nextRunAt: number | undefined;
}): ComponentHealth {
  const { loop, trigger, now, since, lastSuccessAt, paused } = input;
  const base = {
    schedule: trigger.description,
    lastOutcome: input.lastOutcome ?? null,
    lastSuccessAt: lastSuccessAt === undefined ? null : new Date(lastSuccessAt).toISOString(),
    nextRunAt: input.nextRunAt === undefined ? null : new Date(input.nextRunAt).toISOString(),
    running: input.running,
    paused,
  };
  if (paused) return { healthy: true, detail: 'paused', ...base };
  const bound = staleAfterMs(loop, trigger, now);
  if (bound === undefined) return { healthy: true, detail: 'manual trigger', ...base };
  const reference = Math.max(lastSuccessAt ?? since, since);
  const age = now - reference;
  if (age > bound) {
    const what = lastSuccessAt === undefined ? 'no successful cycle' : 'last successful cycle';
    return {
      healthy: false,
      detail: `stale: ${what} for ${Math.round(age / 1000)}s (allowed ${Math.round(bound / 1000)}s)`,
      ...base,
    };
  }
  return { healthy: true, ...base };
}
