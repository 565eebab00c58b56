import type { Tick } from '../core/cycle-record.ts';
import type { DroppedTicks } from '../core/dropped-ticks.ts';
import type { ResolvedLoop } from '../core/loop.ts';
import { tickId } from '../scheduling/scheduler.ts';
import { TickWindow } from '../scheduling/tick-window.ts';
import type { Trigger } from '../scheduling/trigger.ts';
import type { CycleStore } from '../storage/store.ts';

/** Records read back to find the loop's last scheduled tick. */
const LOOKBACK = 50;
/** Missed ticks listed one by one at most; older ones are summarised in the latest reason. */
export const MAX_MISSED_TICKS = 1000;

/**
 * The ticks of `loop` that fell due after its last recorded scheduled tick
 * and up to `now`: the downtime during which no process sharing the store
 * ran it. Empty on a first start (no record yet). Oldest first, at most
 * {@link MAX_MISSED_TICKS} (the most recent ones); older ones are counted in
 * `dropped`.
 */
export async function findMissedTicks(
  loop: ResolvedLoop,
  trigger: Trigger,
  cycles: CycleStore,
  now: number,
): Promise<{ ticks: Tick[]; dropped: DroppedTicks | null }> {
  if (loop.trigger.kind === 'manual') return { ticks: [], dropped: null };
  const recent = await cycles.list(loop.name, { limit: LOOKBACK });
  const last = recent.find((r) => r.trigger === loop.trigger.kind);
  if (!last) return { ticks: [], dropped: null };
  const due = new TickWindow(MAX_MISSED_TICKS);
  for (let t = trigger.next(last.scheduledAt); t !== undefined && t <= now; t = trigger.next(t)) due.push(t);
  const kind = loop.trigger.kind;
  const ticks = due.kept.map((at) => ({ id: tickId(loop.name, at), loop: loop.name, trigger: kind, scheduledAt: at }));
  return { ticks, dropped: due.dropped };
}
