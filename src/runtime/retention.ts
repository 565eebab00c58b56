import type { Logger } from '../core/logger.ts';
import type { Store } from '../storage/store.ts';
import type { Clock } from '../time/clock.ts';

/** How often records older than the retention are deleted. */
export const PRUNE_EVERY_MS = 60 * 60 * 1000;

/**
 * Deletes cycle records (with their item results, e.g. the signals of the
 * signals recipe) and events older than `keepMs`, at start and then every
 * hour, with `store.prune`. Every process sharing the store may run it:
 * pruning is idempotent. A runnable: `run(signal)` resolves when the signal
 * aborts and never rejects; a failed prune is reported and retried at the
 * next hour.
 */
export class Retention {
  constructor(
    readonly options: {
      readonly clock: Clock;
      readonly store: () => Pick<Store, 'prune'>;
      readonly keepMs: number;
      readonly logger: Logger;
      readonly unavailable?: () => string | undefined;
      readonly onFailure?: (error: unknown) => void;
    },
  ) {}

  /** One prune of everything older than now − keepMs. Resolves with what it deleted. */
  async prune(): Promise<{ cycles: number; events: number }> {
    const { clock, store, keepMs, logger } = this.options;
    const deleted = await store().prune(clock.now() - keepMs);
    if (deleted.cycles > 0 || deleted.events > 0) {
      logger.info({ ...deleted, keepMs }, 'pruned records older than the retention');
    }
    return deleted;
  }

  async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      if (this.options.unavailable?.() === undefined) {
        try {
          await this.prune();
        } catch (error) {
          (this.options.onFailure ?? ((e) => this.options.logger.warn({ err: e }, 'prune failed')))(error);
        }
      }
      try {
        await this.options.clock.sleep(PRUNE_EVERY_MS, signal);
      } catch {
        return;
      }
    }
  }
}
