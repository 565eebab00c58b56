import type { Logger } from '../core/logger.ts';
import type { EventLog, StoredEvent } from '../storage/store.ts';
import type { Clock, TimerHandle } from '../time/clock.ts';
import { type AnyEvent, type Disposable, type EventBus, eventLoop } from './events.ts';

/** Flush at most this often; events are batched into one write. */
const FLUSH_EVERY_MS = 250;
/** After a failed write, the next try comes this much later. */
const RETRY_MS = FLUSH_EVERY_MS * 4;
/**
 * Events that are only news while they happen: an item's start is superseded
 * by its outcome event (succeeded, retried or failed), which carries the
 * attempt count and duration, and an attempt's latency is for the metrics.
 * Live subscribers still get them from the bus; leaving them out of the log
 * keeps it at about one write per item.
 */
const LIVE_ONLY: ReadonlySet<string> = new Set(['item.started', 'item.attempted']);
/**
 * Unwritten events kept in memory while the store is failing; past it the
 * oldest are dropped, counted ({@link EventRecorder.dropped},
 * `autoloop_store_buffer_dropped_total{kind="events"}`) and logged once per
 * outage.
 */
export const MAX_BUFFERED_EVENTS = 20_000;

export interface EventRecorderOptions {
  /** Called after each batch reached the log (fan-out: wake other instances' streams). Must not throw. */
  onAppended?: (count: number) => void;
}

/**
 * Writes the bus's events (all but {@link LIVE_ONLY}) to the store's event log, batched: one write per
 * flush interval (or sooner when the batch is large), so per-item events do
 * not cost one store round trip each. A failed write keeps the batch for the
 * next try (every second); only past {@link MAX_BUFFERED_EVENTS} are events
 * dropped, oldest first. A failing log is reported once per outage: when
 * the first write fails and when writes work again.
 */
export class EventRecorder {
  readonly #log: EventLog;
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #options: EventRecorderOptions;
  #buffer: Array<Omit<StoredEvent, 'seq'>> = [];
  #timer: TimerHandle | null = null;
  #flushing: Promise<void> = Promise.resolve();
  #subscription: Disposable | null = null;
  #failing = false;
  #droppedLogged = false;
  #stopped = false;
  /** Events dropped past the buffer's cap since start. */
  dropped = 0;

  constructor(log: EventLog, clock: Clock, logger: Logger, options: EventRecorderOptions = {}) {
    this.#log = log;
    this.#clock = clock;
    this.#logger = logger;
    this.#options = options;
  }

  /** Events waiting to be written. */
  get buffered(): number {
    return this.#buffer.length;
  }

  start(bus: EventBus): void {
    this.#subscription = bus.onAny((event) => this.#add(event));
  }

  #add(event: AnyEvent): void {
    if (LIVE_ONLY.has(event.type)) return;
    this.#buffer.push({ at: event.at, type: event.type, loop: eventLoop(event), data: event.data });
    this.#trim();
    if (this.#failing) return; // the retry timer is set; a store that is down gains nothing from more tries
    if (this.#buffer.length >= 1000) void this.flush();
    else this.#timer ??= this.#clock.setTimer(FLUSH_EVERY_MS, () => void this.flush());
  }

  #trim(): void {
    const over = this.#buffer.length - MAX_BUFFERED_EVENTS;
    if (over <= 0) return;
    this.#buffer.splice(0, over);
    this.dropped += over;
    if (this.#droppedLogged) return;
    this.#droppedLogged = true;
    this.#logger.error(
      { cap: MAX_BUFFERED_EVENTS },
      'event log unwritable for too long: the oldest unwritten events are dropped (counted in autoloop_store_buffer_dropped_total{kind="events"})',
    );
  }

  /** Writes what is buffered. Resolves when the write (and earlier ones) ended; never rejects. */
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
        this.#buffer = batch.concat(this.#buffer);
        this.#trim();
        if (!this.#failing) {
          this.#logger.warn(
            { err: error, buffered: this.#buffer.length },
            'event log write failed; retrying every second',
          );
        }
        this.#failing = true;
        if (!this.#stopped) this.#timer ??= this.#clock.setTimer(RETRY_MS, () => void this.flush());
        return;
      }
      if (this.#failing) {
        this.#logger.info({ written: batch.length, dropped: this.dropped }, 'event log writes work again');
        this.#failing = false;
        this.#droppedLogged = false;
      }
      this.#options.onAppended?.(batch.length);
      // Events that arrived during the write wait for their own timer; set one if none is.
      if (this.#buffer.length > 0 && !this.#stopped) {
        this.#timer ??= this.#clock.setTimer(FLUSH_EVERY_MS, () => void this.flush());
      }
    });
    return this.#flushing;
  }

  /** Unsubscribes and writes what is left (once: a failing store does not hold shutdown up). */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#subscription?.dispose();
    this.#subscription = null;
    await this.flush();
    this.#timer?.cancel();
    this.#timer = null;
    if (this.#buffer.length > 0) {
      this.#logger.warn(
        { lost: this.#buffer.length },
        'event log unwritable at shutdown: the last events are not recorded',
      );
    }
  }
}
