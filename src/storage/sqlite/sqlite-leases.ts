import type Database from 'better-sqlite3';
import { GroupCommit } from '../group-commit.ts';
import type { Lease, LeaseStore } from '../store.ts';
import { fromLeaseRow } from './rows.ts';
import type { RunStatements, Statements } from './statements.ts';

/**
 * The SQLite store's per-key leases (tables `leases` and `lease_tokens`, see
 * MIGRATIONS). A key is free (no `leases` row) or held by the row's owner
 * until `expires_at`; a row with `expires_at <= now` is expired: free for
 * `acquire`, deleted by `sweep`. Each key's latest token lives in
 * `lease_tokens`, which release and sweep leave alone, so tokens keep
 * increasing across every way a lease ends.
 *
 * `acquire` runs inside a `BEGIN IMMEDIATE` transaction (read the lease, bump
 * the token, write the lease): it holds the write lock from its read, so two
 * processes can never both see the key free. Acquisitions (and releases) of
 * one event-loop turn share that transaction. The other operations are one
 * statement each, atomic on their own.
 *
 * @example
 * const leases = sqliteLeaseStore(db, sql, run);
 * const lease = await leases.acquire('BTC/USD', 'host:1:abc', 10_000, now);
 */
export function sqliteLeaseStore(db: Database.Database, sql: Statements, run: RunStatements): LeaseStore {
  const acquire = db.transaction((key: string, owner: string, ttlMs: number, now: number) => {
    const previous = sql.selectLease.get(key);
    if (previous && previous.expires_at > now) return undefined;
    const token = (sql.nextLeaseToken.get(key) as { token: number }).token;
    const lease: Lease = { key, owner, token, acquiredAt: now, expiresAt: now + ttlMs };
    sql.writeLease.run(key, owner, token, lease.acquiredAt, lease.expiresAt);
    return previous ? { ...lease, tookOverFrom: previous.owner } : lease;
  });
  // Group commit (see ../group-commit.ts): acquisitions and releases made in one
  // event-loop turn share a transaction; each caller still learns its own
  // outcome only after the commit. A fan-out of N items thus costs about
  // N / concurrency lease transactions instead of 2N.
  type Acquisition = { key: string; owner: string; ttlMs: number; now: number };
  const acquireMany = db.transaction((batch: Acquisition[]) =>
    batch.map(({ key, owner, ttlMs, now }) => acquire(key, owner, ttlMs, now)),
  );
  const acquisitions = new GroupCommit<Acquisition, ReturnType<typeof acquire>>((batch) =>
    run('leases.acquire', () => acquireMany.immediate(batch)),
  );
  type Release = { key: string; owner: string; token: number };
  const releaseMany = db.transaction((batch: Release[]) =>
    batch.map(({ key, owner, token }) => sql.releaseLease.run(key, owner, token).changes === 1),
  );
  const releases = new GroupCommit<Release, boolean>((batch) =>
    run('leases.release', () => releaseMany.immediate(batch)),
  );
  return {
    acquire: async (key, owner, ttlMs, now) => {
      run('leases.acquire', () => undefined); // a closed store rejects at once, not in the batch
      return acquisitions.submit({ key, owner, ttlMs, now });
    },
    renew: async (key, owner, token, ttlMs, now) =>
      run('leases.renew', (s) => {
        const expiresAt = now + ttlMs;
        return s.renewLease.run(expiresAt, key, owner, token, now).changes === 1 ? expiresAt : undefined;
      }),
    release: async (key, owner, token) => {
      run('leases.release', () => undefined);
      return releases.submit({ key, owner, token });
    },
    sweep: async (now) =>
      run('leases.sweep', (s) =>
        s.sweepLeases
          .all(now)
          .map(fromLeaseRow)
          .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)),
      ),
    list: async (now, options) =>
      run('leases.list', (s) => s.listLeases.all({ now, prefix: options?.prefix ?? null }).map(fromLeaseRow)),
    currentToken: async (key) => run('leases.currentToken', (s) => s.leaseToken.get(key)?.token ?? 0),
  };
}
