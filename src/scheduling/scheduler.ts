import type { Tick } from '../core/cycle-record.ts';
import type { DroppedTicks } from '../core/dropped-ticks.ts';
import type { Clock } from '../time/clock.ts';
import { TickWindow } from './tick-window.ts';
import type { Trigger } from './trigger.ts';

export interface SchedulerOptions {
  loop: string;
  trigger: Trigger;
  triggerKind: Tick['trigger'];
  clock: Clock;
  /** Called at each tick. Must not throw; it should start the cycle and return. */
  onTick(tick: Tick): void;
  /**
   * Called with ticks that fell due while the process could not fire them
   * (event loop blocked, machine asleep). Only the latest due tick fires.
   */
  onMissed?(ticks: Tick[], dropped: DroppedTicks | null): void;
}

/** At most this many missed ticks are reported one by one after a long stall. */
const MAX_MISSED_REPORTED = 1000;

export function tickId(loop: string, at: number): string {
  return `${loop}@${new Date(at).toISOString()}`;
}

/**
 * Fires a loop's ticks on the clock until its signal aborts. A runnable:
 * `run(signal)` resolves when the signal aborts (or the trigger has no more
 * ticks) and never rejects.
 */
export class Scheduler {
  readonly #o: SchedulerOptions;
  #nextAt: number | undefined;

  constructor(options: SchedulerOptions) {
    this.#o = options;
  }

  /** The time of the next tick, once running. */
  get nextAt(): number | undefined {
    return this.#nextAt;
  }

  async run(signal: AbortSignal): Promise<void> {
    const { clock, trigger } = this.#o;
    let last = clock.now();
    while (!signal.aborted) {
      const at = trigger.next(last);
      this.#nextAt = at;
      if (at === undefined) return;
      try {
        await clock.sleep(at - clock.now(), signal);
      } catch {
        return; // aborted: stop scheduling
      }
      last = this.#fireLatestDue(at);
    }
  }

  /** Fires the latest tick due by now; reports the earlier ones as missed. Returns the fired time. */
  #fireLatestDue(first: number): number {
    const { clock, trigger, loop, triggerKind } = this.#o;
    const now = clock.now();
    const due = new TickWindow(MAX_MISSED_REPORTED + 1);
    due.push(first);
    for (let t = trigger.next(first); t !== undefined && t <= now; t = trigger.next(t)) due.push(t);
    const fired = due.kept[due.kept.length - 1] as number;
    const make = (at: number): Tick => ({ id: tickId(loop, at), loop, trigger: triggerKind, scheduledAt: at });
    if (due.kept.length > 1) this.#o.onMissed?.(due.kept.slice(0, -1).map(make), due.dropped);
    this.#o.onTick(make(fired));
    return fired;
  }
}
