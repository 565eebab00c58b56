import type { CycleRecord } from '../core/cycle-record.ts';
import type { Logger } from '../core/logger.ts';
import type { LoopRunner } from '../execution/loop-runner.ts';
import type { LeaseManager } from '../leases/lease-manager.ts';
import type { CycleStore, InstanceRecord, InstanceRegistry } from '../storage/store.ts';
import { type Clock, sleepPeriods } from '../time/clock.ts';

export interface RecoveryLoopOptions {
  readonly clock: Clock;
  readonly leases: LeaseManager;
  readonly runners: () => Iterable<LoopRunner>;
  readonly instances: InstanceRegistry;
  readonly cycles: CycleStore;
  /** Called with each abandoned cycle record this process closed. */
  readonly onAbandoned?: (record: CycleRecord) => void;
  readonly instance: Omit<InstanceRecord, 'lastBeatAt' | 'expiresAt'>;
  /** Instance heartbeat TTL (the lease TTL); beats go out every ttl/3. */
  readonly ttlMs: number;
  /** How often expired leases are swept and orphaned items adopted. Default 1 s. */
  readonly intervalMs: number;
  readonly logger: Logger;
  /** Why the store must not be used now (its breaker is open): the tick is skipped. Default: never. */
  readonly unavailable?: () => string | undefined;
  /** Reports a failed tick (default: a warning each time); the runtime logs it once per outage. */
  readonly onFailure?: (error: unknown) => void;
  /**
   * Simulation only: true when every store call of a tick now would be
   * answered at once and would find nothing (no expired lease, no claimable
   * item, no running record of a dead process). With a heartbeat not due,
   * the tick is then a no-op, which a simulated clock skips (see
   * `Clock.setPeriodTimer`). Production leaves it unset: every tick runs.
   */
  readonly nothingToDo?: () => boolean;
}

/**
 * The self-healing tick of a runtime, every second: sweep expired leases,
 * let each loop adopt items whose claims expired (their holder crashed or
 * stalled) in a recovery cycle, close the records of cycles whose process
 * stopped heartbeating (they would read "running" forever), and send this
 * instance's heartbeat when due.
 * A runnable: `run(signal)` resolves when the signal aborts and never rejects;
 * a failing store is reported and retried on the next tick, and while the
 * store's breaker is open the tick does nothing (its probe finds out when
 * the store is back).
 */
export class RecoveryLoop {
  readonly #o: RecoveryLoopOptions;
  #nextBeatAt = Number.NEGATIVE_INFINITY;

  constructor(options: RecoveryLoopOptions) {
    this.#o = options;
  }

  async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      await this.#tick();
      try {
        await sleepPeriods(this.#o.clock, this.#o.intervalMs, signal, this.#idle);
      } catch {
        return;
      }
    }
  }

  /** Whether a tick now would do nothing: the store refused unasked, or no beat due and nothing to do. */
  readonly #idle = (): boolean => {
    const { clock, nothingToDo, unavailable } = this.#o;
    if (!nothingToDo) return false;
    if (unavailable?.()) return true;
    return clock.monotonic() < this.#nextBeatAt && nothingToDo();
  };

  /** Sends a heartbeat now (also used at start, so `status` lists the instance at once). */
  async beat(): Promise<void> {
    const { clock, instances, instance, ttlMs } = this.#o;
    await instances.beat(instance, ttlMs, clock.now());
    this.#nextBeatAt = clock.monotonic() + ttlMs / 3;
  }

  /** Marks running records whose owner has no live heartbeat as failed, naming the owner. */
  async #closeAbandoned(): Promise<void> {
    const { clock, cycles, instances, instance } = this.#o;
    const running = await cycles.running();
    if (running.length === 0) return;
    const now = clock.now();
    const live = new Set((await instances.list(now)).map((i) => i.id));
    live.add(instance.id);
    for (const record of running) {
      if (live.has(record.owner)) continue;
      const message = `abandoned: its process ${record.owner} stopped heartbeating; unfinished items are re-run by recovery cycles`;
      const closed: CycleRecord = {
        ...record,
        finishedAt: now,
        outcome: { kind: 'failed', step: 'act', error: { name: 'AbandonedCycle', message } },
      };
      await cycles.finish(closed);
      this.#o.onAbandoned?.(closed);
    }
  }

  async #tick(): Promise<void> {
    const { clock, leases, logger } = this.#o;
    if (this.#o.unavailable?.()) return;
    try {
      if (clock.monotonic() >= this.#nextBeatAt) await this.beat();
      await leases.sweep();
      for (const runner of this.#o.runners()) void runner.recover();
      await this.#closeAbandoned();
    } catch (error) {
      if (this.#o.onFailure) this.#o.onFailure(error);
      else logger.warn({ err: error }, 'recovery tick failed; retrying next tick');
    }
  }
}
