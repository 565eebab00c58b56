import type { ItemResult, Tick } from '../core/cycle-record.ts';
import type { Logger } from '../core/logger.ts';
import type { ResolvedLoop } from '../core/loop.ts';
import type { EventBus, PublishedResult } from '../observability/events.ts';
import type { Broadcast, CycleStore } from '../storage/store.ts';

/**
 * Publishes succeeded items' results on their loop's `publish.channel`
 * (seed 002's `channel:raw-signals`), after the result is stored. A publish
 * that fails is logged (once per channel until one succeeds) and never fails
 * the item: the stored result is the record, the message a notification.
 * Without a broadcast (a store that is not Redis) nothing is published, and
 * each loop that asks for it is named once at start.
 */
export class ResultPublisher {
  readonly #broadcast: Broadcast | undefined;
  readonly #logger: Logger;
  readonly #bus: EventBus;
  readonly #failing = new Set<string>();

  constructor(options: {
    broadcast: Broadcast | undefined;
    bus: EventBus;
    logger: Logger;
    loops: readonly ResolvedLoop[];
    store: string;
  }) {
    this.#broadcast = options.broadcast;
    this.#logger = options.logger;
    this.#bus = options.bus;
    if (options.broadcast) return;
    for (const loop of options.loops) {
      if (!loop.publish?.channel) continue; // no channel: nothing to publish on pub/sub
      options.logger.warn(
        { loop: loop.name, channel: loop.publish.channel, store: options.store },
        `loop ${loop.name}: publish.channel "${loop.publish.channel}" needs a Redis store (redis://...); this store has no pub/sub, so results are stored but not published`,
      );
    }
  }

  /**
   * Emits `result.published` for a succeeded `result` of a loop with
   * `publish`, and sends it on the loop's channel when it has one and the
   * store a broadcast. Never throws.
   */
  publish(loop: ResolvedLoop, result: ItemResult, tick: Tick): void {
    if (!loop.publish || result.status !== 'succeeded') return;
    const body: PublishedResult = {
      loop: loop.name,
      key: result.key,
      cycleId: result.cycleId,
      tickId: tick.id,
      output: result.output ?? null,
      finishedAt: result.finishedAt,
    };
    this.#bus.emit('result.published', body);
    const channel = loop.publish.channel;
    if (!channel || !this.#broadcast) return;
    let message: string;
    try {
      message = JSON.stringify(body);
    } catch (error) {
      this.#logger.warn(
        { err: error, loop: loop.name, key: result.key, channel },
        'result not published: its output is not JSON',
      );
      return;
    }
    Promise.resolve()
      .then(() => (this.#broadcast as Broadcast).publish(channel, message))
      .then(
        () => this.#failing.delete(channel),
        (error) => {
          if (this.#failing.has(channel)) return;
          this.#failing.add(channel);
          this.#logger.warn({ err: error, loop: loop.name, channel }, 'result not published; the item stays succeeded');
        },
      );
  }

  /**
   * Publishes a succeeded result the store took only after an outage (held,
   * then written at replay: outage-buffer.ts), with its cycle's tick read
   * from the store; the cycle id stands in for the tick id when the record
   * is not there. Never throws.
   */
  async publishHeld(loop: ResolvedLoop, result: ItemResult, cycles: Pick<CycleStore, 'get'>): Promise<void> {
    if (!loop.publish || result.status !== 'succeeded') return;
    const record = await cycles.get(result.cycleId).catch(() => undefined);
    this.publish(loop, result, {
      id: record?.tickId ?? result.cycleId,
      loop: loop.name,
      trigger: record?.trigger ?? 'manual',
      scheduledAt: record?.scheduledAt ?? result.startedAt,
    });
  }
}
