import type { Logger } from '../core/logger.ts';
import type { ResolvedLoop } from '../core/loop.ts';
import type { Runnable } from '../lifecycle/runnable.ts';
import { backgroundTask } from '../lifecycle/runnable.ts';
import type { EventBus } from '../observability/events.ts';
import { openStore } from '../storage/open-store.ts';
import type { Store } from '../storage/store.ts';
import { EventFanout } from './event-fanout.ts';
import { ResultPublisher } from './result-publisher.ts';
import type { StoreGuard } from './store-guard.ts';

export interface StorePartOptions {
  /** A store (the caller's: not closed at stop), or a URL to open (closed at stop). */
  readonly store: Store | string | undefined;
  readonly cwd: string | undefined;
  readonly guard: StoreGuard;
  readonly bus: EventBus;
  readonly logger: Logger;
  readonly owner: string;
  readonly loops: readonly ResolvedLoop[];
  /** Runs before a store URL is opened (see RuntimeOptions.beforeStoreOpen). */
  readonly beforeOpen?: (() => Promise<void> | void) | undefined;
  /** Wraps the store behind its breaker once more (the outage decorator). */
  readonly decorate?: (store: Store) => Store;
  /** Called when the store answers again after an outage (replay what was held). */
  readonly onHealthy: () => void;
  /** Called at stop, before the store closes (warn about writes still held). */
  readonly beforeClose?: () => void;
}

/**
 * The store and what hangs off it, as three runnables: `store` (open, ping,
 * wrap behind its breaker, log its warnings; close at stop when it was
 * opened here), `store-probe` (the breaker's ping probe, its transitions on
 * the bus, the replay when it answers again) and `event-fanout` (pub/sub
 * wake-ups for `/events`, on stores that broadcast).
 */
export class StorePart {
  readonly #o: StorePartOptions;
  #raw: Store | null = null;
  #store: Store | null = null;
  #fanout: EventFanout | null = null;
  #publisher: ResultPublisher | null = null;

  constructor(options: StorePartOptions) {
    this.#o = options;
  }

  /** The store behind its breaker; null before the `store` runnable started. */
  get store(): Store | null {
    return this.#store;
  }

  get fanout(): EventFanout | null {
    return this.#fanout;
  }

  get publisher(): ResultPublisher | null {
    return this.#publisher;
  }

  runnables(): Runnable[] {
    return [this.#storeRunnable(), this.#probe(), this.#fanoutRunnable()];
  }

  #storeRunnable(): Runnable {
    const o = this.#o;
    const owned = typeof o.store !== 'object';
    return {
      name: 'store',
      start: async () => {
        if (owned) await o.beforeOpen?.();
        const raw = typeof o.store === 'object' ? o.store : await openStore(o.store ?? 'memory://', { cwd: o.cwd });
        try {
          await raw.ping();
        } catch (error) {
          if (owned) await raw.close().catch(() => {});
          throw error;
        }
        this.#raw = raw;
        const guarded = o.guard.wrap(raw);
        this.#store = o.decorate ? o.decorate(guarded) : guarded;
        for (const warning of raw.warnings ?? []) o.logger.warn({ store: raw.description }, warning);
        this.#publisher = new ResultPublisher({
          broadcast: raw.broadcast,
          bus: o.bus,
          logger: o.logger,
          loops: o.loops,
          store: raw.description,
        });
      },
      stop: async () => {
        o.beforeClose?.();
        if (owned && this.#store) {
          await this.#store.close().catch((error) => o.logger.warn({ err: error }, 'store did not close cleanly'));
        }
      },
    };
  }

  #probe(): Runnable {
    const { guard, bus } = this.#o;
    return backgroundTask('store-probe', (signal) => guard.run(signal), {
      after: ['store'],
      ready: () => {
        guard.onStateChange(({ breaker, from, to }) => bus.emit('breaker.state', { breaker, from, to }));
        guard.onHealthy(() => this.#o.onHealthy());
      },
    });
  }

  #fanoutRunnable(): Runnable {
    const { owner, logger } = this.#o;
    return {
      name: 'event-fanout',
      after: ['store'],
      start: async () => {
        const broadcast = this.#raw?.broadcast;
        if (!broadcast) return;
        const fanout = new EventFanout({ broadcast, owner, logger });
        try {
          await fanout.start();
          this.#fanout = fanout;
        } catch (error) {
          logger.warn(
            { err: error },
            'event fan-out not subscribed: /events streams show other instances at their next poll',
          );
        }
      },
      stop: async () => {
        await this.#fanout?.stop();
        this.#fanout = null;
      },
    };
  }
}
