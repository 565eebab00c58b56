import type { Logger } from '../core/logger.ts';
import type { Broadcast } from '../storage/store.ts';

/**
 * The pub/sub channel of event-log wake-ups. Used as given (channel names
 * carry no key prefix), so deployments sharing one Redis under different
 * prefixes wake each other's streams too: harmless, a woken stream only
 * re-reads its own event log.
 */
export const EVENTS_CHANNEL = 'autoloop:events';

/**
 * Event fan-out across the instances sharing a store: after the event
 * recorder appends a batch to the shared event log, a small message
 * (`{"instance": <owner>, "events": <count>}`) goes out on
 * {@link EVENTS_CHANNEL}; every instance's subscription wakes its `/events`
 * streams, which read the log at once instead of at their next poll. The
 * message is only a wake-up: the log stays the one source of events, and
 * polling stays as the fallback (pub/sub delivers at most once, and not
 * while disconnected).
 */
export class EventFanout {
  readonly #broadcast: Broadcast;
  readonly #owner: string;
  readonly #logger: Logger;
  readonly #listeners = new Set<() => void>();
  #unsubscribe: (() => Promise<void>) | null = null;
  #failing = false;

  constructor(options: { broadcast: Broadcast; owner: string; logger: Logger }) {
    this.#broadcast = options.broadcast;
    this.#owner = options.owner;
    this.#logger = options.logger;
  }

  /** Subscribes to the channel. Rejects when the subscription fails (streams then only poll). */
  async start(): Promise<void> {
    this.#unsubscribe = await this.#broadcast.subscribe(EVENTS_CHANNEL, () => {
      for (const listener of this.#listeners) listener();
    });
  }

  /** Calls `listener` on every wake-up, from any instance (this one included). Returns how to stop. */
  listen(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Tells every instance that `count` events were appended. Never rejects; a failure is logged once until one succeeds. */
  appended(count: number): void {
    const message = JSON.stringify({ instance: this.#owner, events: count });
    Promise.resolve()
      .then(() => this.#broadcast.publish(EVENTS_CHANNEL, message))
      .then(
        () => {
          this.#failing = false;
        },
        (error) => {
          if (!this.#failing)
            this.#logger.warn({ err: error }, 'event wake-up not published; /events streams poll instead');
          this.#failing = true;
        },
      );
  }

  async stop(): Promise<void> {
    this.#listeners.clear();
    const unsubscribe = this.#unsubscribe;
    this.#unsubscribe = null;
    await unsubscribe?.().catch(() => {});
  }
}
