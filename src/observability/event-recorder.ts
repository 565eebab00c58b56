import type { Logger } from '../core/logger.ts';
import type { EventLog, StoredEvent } from '../storage/store.ts';
import type { Clock, TimerHandle } from '../time/clock.ts';
import { type AnyEvent, type Disposable, type EventBus, eventLoop } from './events.ts';

/** Flush at most this often; events are batched into one write. */
const FLUSH_EVERY_MS = 250;
/**
 * Events that are only news while they happen: an item's start is superseded
 * by its outcome event (succeeded, retried or failed), which carries the
 * attempt count and duration. Live subscribers still get them from the bus;
 * leaving them out of the log halves its writes per item.
 */
const LIVE_ONLY: ReadonlySet<string> = new Set(['item.started']);
/** Kept in memory while the store is failing; past it the oldest are dropped and counted. */
const MAX_BUFFERED = 20_000;

/**
 * Writes the bus's events (all but {@link LIVE_ONLY}) to the store's event log, batched: one write per
 * flush interval (or sooner when the batch is large), so per-item events do
 * not cost one store round trip each. A failed write keeps the batch for the
 * next flush; only past {@link MAX_BUFFERED} are events dropped, and counted.
 */
export class EventRecorder {
  readonly #log: EventLog;
  readonly #clock: Clock;
  readonly #logger: Logger;
  #buffer: Array<Omit<StoredEvent, 'seq'>> = [];
  #timer: TimerHandle | null = null;
  #flushing: Promise<void> = Promise.resolve();
  #subscription: Disposable | null = null;
  dropped = 0;

  constructor(log: EventLog, clock: Clock, logger: Logger) {
    this.#log = log;
    this.#clock = clock;
    this.#logger = logger;
  }

  start(bus: EventBus): void {
    this.#subscription = bus.onAny((event) => this.#add(event));
  }

  #add(event: AnyEvent): void {
    if (LIVE_ONLY.has(event.type)) return;
    this.#buffer.push({ at: event.at, type: event.type, loop: eventLoop(event), data: event.data });
    if (this.#buffer.length > MAX_BUFFERED) {
      this.#buffer.shift();
      this.dropped++;
    }
    if (this.#buffer.length >= 1000) void this.flush();
    else this.#timer ??= this.#clock.setTimer(FLUSH_EVERY_MS, () => void this.flush());
  }

  /** Writes what is buffered. Resolves when the write (and earlier ones) ended. */
  flush(): Promise<void> {
    this.#timer?.cancel();
    this.#timer = null;
    this.#flushing = this.#flushing.then(async () => {
      if (this.#buffer.length === 0) return;
      const batch = this.#buffer;
      this.#buffer = [];
      try {
        await this.#log.append(batch);
      } catch (error) {
        this.#buffer = batch.concat(this.#buffer).slice(-MAX_BUFFERED);
        this.#logger.warn({ err: error, buffered: this.#buffer.length }, 'event log write failed; will retry');
        this.#timer ??= this.#clock.setTimer(FLUSH_EVERY_MS * 4, () => void this.flush());
      }
    });
    return this.#flushing;
  }

  /** Unsubscribes and writes what is left. */
  async stop(): Promise<void> {
    this.#subscription?.dispose();
    this.#subscription = null;
    await this.flush();
    this.#timer?.cancel();
    this.#timer = null;
  }
}
