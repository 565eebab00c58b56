import type { RedisOptions } from 'bullmq';

/**
 * BullMQ's connection options for a `redis://[user:password@]host:port/db`
 * URL, so both systems in the bench talk to the same server and database.
 * Throws naming the URL when it is not a redis:// URL.
 *
 * @example
 * new Worker('jobs', processor, { connection: bullmqConnection('redis://127.0.0.1:6379/0') });
 */
export function bullmqConnection(url: string): RedisOptions {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error(`bench redis URL: expected redis://host:port/db, got "${url.replace(/:[^:@/]*@/, ':***@')}"`);
  }
  if (parsed.protocol !== 'redis:') {
    throw new Error(`bench redis URL: expected the redis:// scheme, got "${parsed.protocol}//"`);
  }
  const db = Number(parsed.pathname.replace(/^\//, '') || '0');
  return {
    host: parsed.hostname || '127.0.0.1',
    port: Number(parsed.port || 6379),
    db,
    ...(parsed.username && { username: decodeURIComponent(parsed.username) }),
    ...(parsed.password && { password: decodeURIComponent(parsed.password) }),
  };
}
