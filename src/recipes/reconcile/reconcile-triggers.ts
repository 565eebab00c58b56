/**
 * The two things seed 000's master controller did besides the hourly
 * reconcile, as runnables of the recipe:
 *
 * - after orchestration: when a cycle that acted finishes, the inventory is
 *   scanned again and the report updated at once (the seed's "update
 *   inventory -> trigger new reconciliation"), so the report, the metrics
 *   and the threshold see what the collectors did without waiting an hour;
 * - the queue threshold (the seed's task monitor): every `everyMs`, when
 *   the last report holds at least `minTasks` gaps (or there is no report
 *   yet) and no cycle of the loop runs, a cycle is started. A kicked cycle that collected nothing doubles
 *   the wait before the next kick (up to an hour), so a source that keeps
 *   failing is not hammered every 30 s; one that collected resets it.
 */
import type { CycleRecord } from '../../core/cycle-record.ts';
import type { Logger } from '../../core/logger.ts';
import { backgroundTask, type Runnable } from '../../lifecycle/runnable.ts';
import type { Clock } from '../../time/clock.ts';
import type { ReconcileLoop } from './reconcile-loop.ts';

/** Longest wait between kicks that collected nothing. */
const MAX_BACKOFF_MS = 3_600_000;

/** Reconciles a loop again after each cycle that acted. `request` never blocks; requests for one loop coalesce. */
export class AfterOrchestration {
  readonly runnable: Runnable;
  readonly #pending = new Set<ReconcileLoop>();
  #wake: (() => void) | null = null;
  #busy: Promise<void> | null = null;

  constructor(clock: Clock, logger: Logger) {
    this.runnable = backgroundTask('after-orchestration', async (signal) => {
      while (!signal.aborted) {
        if (this.#pending.size === 0) {
          await new Promise<void>((resolve) => {
            this.#wake = resolve;
            signal.addEventListener('abort', () => resolve(), { once: true });
          });
          this.#wake = null;
          continue;
        }
        const [loop] = this.#pending as Set<ReconcileLoop> & Iterable<ReconcileLoop>;
        this.#pending.delete(loop as ReconcileLoop);
        this.#busy = (loop as ReconcileLoop)
          .reconcile('after orchestration', signal, clock)
          .then(() => undefined)
          .catch((error: unknown) => {
            if (!signal.aborted) {
              logger.warn({ loop: loop?.name, err: error }, 'reconcile after orchestration failed');
            }
          });
        await this.#busy;
        this.#busy = null;
      }
    });
  }

  request(loop: ReconcileLoop): void {
    this.#pending.add(loop);
    this.#wake?.();
  }

  /** Resolves once nothing is pending or running (tests, scripts); gives up after 100,000 turns. */
  async idle(): Promise<void> {
    for (let turn = 0; turn < 100_000 && (this.#pending.size > 0 || this.#busy !== null); turn++) {
      await (this.#busy ?? Promise.resolve());
    }
  }
}

export interface ThresholdOptions {
  readonly loop: ReconcileLoop;
  readonly minTasks: number;
  readonly everyMs: number;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Whether a cycle of the loop runs now. */
  readonly running: () => boolean;
  /** Starts a cycle (the recipe context's `run`). */
  readonly run: (loop: string) => Promise<CycleRecord>;
}

/** The queue-threshold trigger of one loop, as a runnable. */
export function thresholdTrigger(o: ThresholdOptions): Runnable {
  return backgroundTask(`threshold:${o.loop.name}`, async (signal) => {
    let waitMs = o.everyMs;
    while (!signal.aborted) {
      try {
        await o.clock.sleep(waitMs, signal);
      } catch {
        return;
      }
      // No report yet (nothing reconciled since start): unknown counts as due, the cycle reconciles first.
      const total = o.loop.report?.total ?? Number.POSITIVE_INFINITY;
      if (total < o.minTasks || o.running()) {
        waitMs = o.everyMs;
        continue;
      }
      try {
        const record = await o.run(o.loop.name);
        const progressed = record.counts.succeeded > 0;
        waitMs = progressed ? o.everyMs : Math.min(MAX_BACKOFF_MS, waitMs * 2);
        o.logger.info(
          { loop: o.loop.name, gaps: total, cycleId: record.id, succeeded: record.counts.succeeded },
          `reconcile: ${total} gap(s) >= threshold ${o.minTasks}: ran a cycle`,
        );
      } catch (error) {
        // Not running yet (starting) or stopping: try again at the next check.
        if (!signal.aborted) o.logger.debug?.({ loop: o.loop.name, err: error }, 'reconcile: threshold run refused');
      }
    }
  });
}
