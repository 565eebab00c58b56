import type { Redis, RedisOptions } from 'ioredis';
import { StoreError } from '../store.ts';

/** How the store's Redis connections behave when Redis is down or slow. */
export interface RedisConnectionOptions {
  /** A command without a reply after this long rejects with a StoreError. */
  readonly commandTimeoutMs: number;
}

/** The default {@link RedisConnectionOptions.commandTimeoutMs}. */
export const DEFAULT_COMMAND_TIMEOUT_MS = 2000;
/** Reconnect attempts back off 200, 400, 800, 1600 ms, then every 2 s, forever. */
export const RECONNECT_CAP_MS = 2000;

/** The reconnect delay after `attempt` failed attempts (1, 2, ...). */
export function reconnectDelayMs(attempt: number): number {
  return Math.min(100 * 2 ** attempt, RECONNECT_CAP_MS);
}

/**
 * ioredis options for a store connection that fails fast and heals alone:
 *
 * - reconnects forever with a backoff capped at 2 s ({@link reconnectDelayMs});
 * - `commandTimeout`: a slow or stalled server rejects the command instead
 *   of holding the caller;
 * - `socketTimeout` (twice that, at least 5 s): a connection that stops
 *   answering altogether (a paused server, a peer gone without a reset) is
 *   dropped and dialled again, so commands do not pile up on it;
 * - `maxRetriesPerRequest: 0` and no resend of unfulfilled commands: a
 *   command in flight when the connection drops rejects at once. It may or
 *   may not have run, and resending it (a lease acquire, a complete) could
 *   run it twice; the caller decides (fences and idempotency keys make a
 *   retry safe);
 * - the offline queue is on only until the first connect
 *   ({@link connectRedis} turns it off): afterwards a command made while
 *   disconnected rejects at once, and nothing queues without bound.
 */
export function redisOptions(options: RedisConnectionOptions): RedisOptions {
  return {
    lazyConnect: true,
    retryStrategy: reconnectDelayMs,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    commandTimeout: options.commandTimeoutMs,
    socketTimeout: Math.max(2 * options.commandTimeoutMs, 5000),
    enableOfflineQueue: true,
    // Off: each command is written at once. The per-item operations are batched by the store itself
    // (one opsBatch script call per turn, ./redis-store.ts); auto-pipelining would hold every batch
    // of a turn until the turn ends, so redis-server could not start on the first while the process
    // still works (trial runs of bench/redis-throughput.ts at concurrency 100: ~10k items/s off, ~7.5k on).
    enableAutoPipelining: false,
  };
}

/**
 * Connects a client made with {@link redisOptions} (or duplicated from one)
 * and then turns its offline queue off. Rejects with the driver's error.
 */
export async function connectRedis(redis: Redis): Promise<void> {
  // Connection errors also reject the commands they affect (as StoreErrors); without a listener
  // ioredis would print each one as an "Unhandled error event".
  redis.on('error', () => {});
  await redis.connect();
  redis.options.enableOfflineQueue = false;
}

/** Closes a client: QUIT when it is connected, else drops it (no reconnect). Never rejects. */
export async function closeRedis(redis: Redis): Promise<void> {
  if (redis.status === 'ready') {
    try {
      await redis.quit();
      return;
    } catch {
      // Fall through: the connection went away meanwhile.
    }
  }
  redis.disconnect();
}

/**
 * A StoreError naming the store and the operation, with the driver's error
 * as `cause` and its message said plainly:
 * `redis redis://127.0.0.1:6379/0: leases.acquire: no reply within 2000 ms (commandTimeout) ...`.
 */
export function redisError(description: string, op: string, error: unknown, commandTimeoutMs: number): StoreError {
  if (error instanceof StoreError) return error;
  return new StoreError(`redis ${description}: ${op}: ${plainMessage(error, commandTimeoutMs)}`, { cause: error });
}

function plainMessage(error: unknown, commandTimeoutMs: number): string {
  const message = error instanceof Error ? error.message : String(error);
  if (message === 'Command timed out') {
    return `no reply within ${commandTimeoutMs} ms (commandTimeout); Redis is slow or unreachable`;
  }
  if (message.includes('enableOfflineQueue')) {
    return 'not connected (Redis is unreachable; reconnecting in the background); the command was not sent';
  }
  if (error instanceof Error && error.name === 'MaxRetriesPerRequestError') {
    return 'the connection dropped before the reply; the command may or may not have run';
  }
  return message;
}
