import type { LeaseStore } from '../store.ts';
import { fromLeaseRow } from './rows.ts';
import type { SqliteItemWrites } from './sqlite-item-writes.ts';
import type { RunStatements } from './statements.ts';

/**
 * The SQLite store's per-key leases (table `leases`, see MIGRATIONS). A key
 * has one row from its first lease on: held by the row's owner until
 * `expires_at`, expired (`0 < expires_at <= now`: free for `acquire`, freed
 * by `sweep`), or free (`expires_at <= 0`: released or swept). The row keeps
 * the key's latest token through every way a lease ends, so tokens keep
 * increasing.
 *
 * `acquire`, `renew` and `release` are item writes (./sqlite-item-writes.ts):
 * those of one event-loop turn share one `BEGIN IMMEDIATE` transaction with
 * the queue's completions, so an acquire holds the write lock from its read
 * (two processes never both see the key free), and a fan-out of N items
 * costs about N / concurrency transactions for leases and results together.
 * The other operations are one statement each, atomic on their own.
 *
 * @example
 * const leases = sqliteLeaseStore(writes, run);
 * const lease = await leases.acquire('BTC/USD', 'host:1:abc', 10_000, now);
 */
export function sqliteLeaseStore(writes: SqliteItemWrites, run: RunStatements): LeaseStore {
  return {
    acquire: (key, owner, ttlMs, now) => writes.acquire(key, owner, ttlMs, now),
    renew: (key, owner, token, ttlMs, now) => writes.renew(key, owner, token, ttlMs, now),
    release: (key, owner, token) => writes.release(key, owner, token),
    sweep: async (now) =>
      run('leases.sweep', (s) =>
        s.anyExpiredLease.get(now) === undefined
          ? []
          : s.sweepLeases
              .all(now)
              .map(fromLeaseRow)
              .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)),
      ),
    list: async (now, options) =>
      run('leases.list', (s) => s.listLeases.all({ now, prefix: options?.prefix ?? null }).map(fromLeaseRow)),
    currentToken: async (key) => run('leases.currentToken', (s) => s.leaseToken.get(key)?.token ?? 0),
  };
}
