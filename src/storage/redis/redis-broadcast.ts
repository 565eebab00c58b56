import type { Redis } from 'ioredis';
import type { Broadcast } from '../store.ts';
import { closeRedis, connectRedis } from './redis-connection.ts';
import type { RunRedis } from './redis-store.ts';

/** One subscription (an object, so the same function subscribed twice is two subscriptions). */
interface Handler {
  readonly onMessage: (message: string) => void;
}

interface Channel {
  readonly handlers: Set<Handler>;
  /** Settles when Redis confirmed the SUBSCRIBE; later subscribers of the channel wait for it too. */
  readonly subscribed: Promise<void>;
}

/**
 * Redis pub/sub for `RedisStore.broadcast`. `publish` goes out on the
 * store's connection; subscriptions share one subscriber connection (a
 * connection in subscribe mode can send nothing else), duplicated from the
 * store's when the first subscription is made. ioredis subscribes again to
 * every channel after a reconnect; messages published while the subscriber
 * was disconnected are lost (at most once, as the port says). Channel names
 * carry no key prefix.
 *
 * @example
 * const stop = await store.broadcast.subscribe('channel:raw-signals', (m) => console.log(m));
 * await store.broadcast.publish('channel:raw-signals', JSON.stringify(result));
 * await stop();
 */
export class RedisBroadcast implements Broadcast {
  readonly #main: Redis;
  readonly #run: RunRedis;
  readonly #channels = new Map<string, Channel>();
  #subscriber: Promise<Redis> | undefined;
  #closed = false;

  constructor(main: Redis, run: RunRedis) {
    this.#main = main;
    this.#run = run;
  }

  publish(channel: string, message: string): Promise<number> {
    return this.#run('broadcast.publish', (io) => io.redis.publish(channel, message));
  }

  /**
   * Rejects with a StoreError when Redis cannot be reached (nothing is
   * subscribed then). `onMessage` must not throw; a throw is caught so that
   * it cannot break the connection the other subscriptions share. The
   * returned function never rejects: when Redis is unreachable the channel is
   * dropped here at once and on the server when the connection next closes.
   */
  subscribe(channel: string, onMessage: (message: string) => void): Promise<() => Promise<void>> {
    return this.#run('broadcast.subscribe', async () => {
      const subscriber = await this.#connection();
      const handler: Handler = { onMessage };
      let entry = this.#channels.get(channel);
      if (!entry) {
        const subscribed = subscriber.subscribe(channel).then(() => {});
        entry = { handlers: new Set(), subscribed };
        this.#channels.set(channel, entry);
        const created = entry;
        subscribed.catch(() => {
          if (this.#channels.get(channel) === created) this.#channels.delete(channel);
        });
      }
      entry.handlers.add(handler);
      try {
        await entry.subscribed;
      } catch (error) {
        entry.handlers.delete(handler);
        throw error;
      }
      return () => this.#unsubscribe(channel, entry, handler);
    });
  }

  /** Closes the subscriber connection, if one was made. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#channels.clear();
    const subscriber = await this.#subscriber?.catch(() => undefined);
    if (subscriber) await closeRedis(subscriber);
  }

  async #unsubscribe(channel: string, entry: Channel, handler: Handler): Promise<void> {
    if (!entry.handlers.delete(handler) || entry.handlers.size > 0) return;
    if (this.#channels.get(channel) !== entry) return;
    this.#channels.delete(channel);
    const subscriber = await this.#subscriber?.catch(() => undefined);
    await subscriber?.unsubscribe(channel).catch(() => {});
  }

  #connection(): Promise<Redis> {
    if (!this.#subscriber) {
      const made = this.#connect();
      this.#subscriber = made;
      // A failed connect is forgotten, so the next subscribe dials again.
      made.catch(() => {
        if (this.#subscriber === made) this.#subscriber = undefined;
      });
    }
    return this.#subscriber;
  }

  async #connect(): Promise<Redis> {
    const subscriber = this.#main.duplicate({ lazyConnect: true, enableOfflineQueue: true });
    subscriber.on('message', (channel: string, message: string) => {
      for (const { onMessage } of this.#channels.get(channel)?.handlers ?? []) {
        try {
          onMessage(message);
        } catch {
          // Documented: a subscriber's throw must not reach ioredis's parser.
        }
      }
    });
    try {
      await connectRedis(subscriber);
    } catch (error) {
      subscriber.disconnect();
      throw error;
    }
    if (this.#closed) {
      subscriber.disconnect();
      throw new Error('the store is closed');
    }
    return subscriber;
  }
}
