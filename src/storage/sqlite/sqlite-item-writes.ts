import type Database from 'better-sqlite3';
import { GroupCommit } from '../group-commit.ts';
import type { Fence, Lease } from '../store.ts';
import type { ItemResultParams, RunStatements, Statements } from './statements.ts';

/** A lease as `acquire` gives it out, naming the owner of the expired lease it took over, if any. */
export type AcquiredLease = Lease & { tookOverFrom?: string };

/** A `queue.complete` call, its id parsed (undefined: names no item) and its result serialised. */
export interface Completion {
  readonly seq: number | undefined;
  readonly owner: string;
  readonly result: ItemResultParams;
  readonly fence: Fence | undefined;
  readonly releaseLease: boolean;
}

type ItemWrite =
  | {
      readonly op: 'acquire';
      readonly key: string;
      readonly owner: string;
      readonly ttlMs: number;
      readonly now: number;
    }
  | {
      readonly op: 'renew';
      readonly key: string;
      readonly owner: string;
      readonly token: number;
      readonly ttlMs: number;
      readonly now: number;
    }
  | { readonly op: 'release'; readonly key: string; readonly owner: string; readonly token: number }
  | ({ readonly op: 'complete' } & Completion);

type Reply = AcquiredLease | number | boolean | undefined;

/**
 * The writes every item makes on the SQLite store: take its key's lease,
 * renew it, store its result (fenced, freeing the lease), free a lease.
 * Those asked for in one turn of the event loop share one `BEGIN IMMEDIATE`
 * transaction (group commit, ../group-commit.ts), run in the order asked,
 * each with its own checks and its own answer: at concurrency N the results
 * of the items that just finished and the leases of the items that start
 * next cost one commit together, where a lease store and a queue of their
 * own would commit twice. The Redis store's `opsBatch` does the same in one
 * script call (../redis/batch-scripts.ts).
 *
 * A failed transaction (a driver error) rejects every call in it, and none
 * of them wrote anything.
 *
 * @example
 * const writes = new SqliteItemWrites(db, sql, run);
 * const [lease, stored] = await Promise.all([
 *   writes.acquire('signals/ETH', owner, 10_000, now),
 *   writes.complete({ seq, owner, result, fence, releaseLease: true }),
 * ]); // one transaction
 */
export class SqliteItemWrites {
  readonly #batch: GroupCommit<ItemWrite, Reply>;
  readonly #run: RunStatements;
  readonly #purge: Database.Transaction<(seqs: string) => void>;
  /** Seqs of the rows this store's completes marked done, not yet deleted (see NOT_DONE in ./statements.ts). */
  #done: number[] = [];

  constructor(db: Database.Database, sql: Statements, run: RunStatements) {
    this.#run = run;
    this.#purge = db.transaction((seqs: string) => {
      sql.purgeDone.run(seqs);
    });
    const writeMany = db.transaction((batch: ItemWrite[], purge: readonly number[] | null) => {
      // The results go in one multi-row INSERT at the end, in the order their items completed.
      const results: ItemResultParams[] = [];
      const replies = batch.map((w): Reply => {
        switch (w.op) {
          case 'acquire':
            return acquireLease(sql, w.key, w.owner, w.ttlMs, w.now);
          case 'renew': {
            const expiresAt = w.now + w.ttlMs;
            const renewed = sql.renewLease.run(expiresAt, w.key, w.owner, w.token, w.now).changes === 1;
            return renewed ? expiresAt : undefined;
          }
          case 'release':
            return sql.releaseLease.run(w.key, w.owner, w.token).changes === 1;
          default: {
            const done = completeItem(sql, w);
            if (done) results.push(w.result);
            return done;
          }
        }
      });
      sql.insertItemResults.run(results);
      if (purge) sql.purgeDone.run(JSON.stringify(purge));
      return replies;
    });
    this.#batch = new GroupCommit<ItemWrite, Reply>((batch) => {
      try {
        // Done rows go PURGE_AT at a time, with the writes of a later batch: their pages are mostly neighbours.
        const purge = this.#done.length >= PURGE_AT ? this.#done : null;
        const replies = writeMany.immediate(batch, purge);
        if (purge) this.#done = [];
        for (let i = 0; i < batch.length; i++) {
          const w = batch[i] as ItemWrite;
          if (w.op === 'complete' && replies[i] === true) this.#done.push(w.seq as number);
        }
        return replies;
      } catch (error) {
        // Named (and a closed store reported as such) only when it failed: at concurrency 1 there is a batch per item.
        return run(opName(batch), () => {
          throw error;
        });
      }
    });
  }

  /** Transactions these writes have run (one per batch): at concurrency 1 with a lease, one per item. */
  get commits(): number {
    return this.#batch.commits;
  }

  /**
   * Deletes the rows this store marked done and has not deleted yet (the
   * store's close calls it). Rows a process left done when it died are
   * deleted by `Store.prune`, or when their idempotency key is queued again.
   */
  purgeDone(): void {
    if (this.#done.length === 0) return;
    this.#purge.immediate(JSON.stringify(this.#done));
    this.#done = [];
  }

  /** As `LeaseStore.acquire`. */
  acquire(key: string, owner: string, ttlMs: number, now: number): Promise<AcquiredLease | undefined> {
    return this.#submit('leases.acquire', { op: 'acquire', key, owner, ttlMs, now }) as Promise<
      AcquiredLease | undefined
    >;
  }

  /** As `LeaseStore.renew`: the new expiry, or undefined when the lease is lost. */
  renew(key: string, owner: string, token: number, ttlMs: number, now: number): Promise<number | undefined> {
    return this.#submit('leases.renew', { op: 'renew', key, owner, token, ttlMs, now }) as Promise<number | undefined>;
  }

  /** As `LeaseStore.release`. */
  release(key: string, owner: string, token: number): Promise<boolean> {
    return this.#submit('leases.release', { op: 'release', key, owner, token }) as Promise<boolean>;
  }

  /** As `WorkQueue.complete`, its arguments checked and serialised by the caller. */
  complete(completion: Completion): Promise<boolean> {
    return this.#submit('queue.complete', { op: 'complete', ...completion }) as Promise<boolean>;
  }

  #submit(op: string, write: ItemWrite): Promise<Reply> {
    try {
      this.#run(op, () => undefined); // a closed store rejects this call at once, not the batch
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#batch.submit(write);
  }
}

/**
 * Takes `key` for `owner` inside the caller's write transaction: undefined
 * when it is held at `now`; else the key's next token, in the one row the
 * key has in `leases` (see MIGRATIONS), naming the owner of an expired
 * lease it took over (a freed row, expiry <= 0, is no takeover).
 */
export function acquireLease(
  sql: Statements,
  key: string,
  owner: string,
  ttlMs: number,
  now: number,
): AcquiredLease | undefined {
  const previous = sql.selectLease.get(key);
  if (previous && previous.expires_at > now) return undefined;
  const token = previous ? previous.token + 1 : 1;
  const lease: Lease = { key, owner, token, acquiredAt: now, expiresAt: now + ttlMs };
  sql.writeLease.run(key, owner, token, lease.acquiredAt, lease.expiresAt);
  return previous && previous.expires_at > 0 ? { ...lease, tookOverFrom: previous.owner } : lease;
}

/**
 * Marks a completed item's queue row done inside the caller's write
 * transaction (deleted later, see NOT_DONE in ./statements.ts), freeing its
 * lease first when asked; true when the row was this owner's to complete.
 * A fence is checked by the update itself, inside the transaction: no
 * acquire can slip in between. The caller stores the result when it returns
 * true.
 */
export function completeItem(sql: Statements, { seq, owner, fence, releaseLease }: Completion): boolean {
  if (fence && releaseLease) sql.releaseLease.run(fence.key, owner, fence.token);
  if (seq === undefined) return false;
  const marked = fence
    ? sql.completeClaimedFenced.run(seq, owner, fence.token, fence.key)
    : sql.completeClaimed.run(seq, owner);
  return marked.changes === 1;
}

/** Done queue rows deleted per statement: one page of each index per ~64 items instead of per item. */
export const PURGE_AT = 64;

/** The operation a failed batch is reported as: the one kind it held, or the kinds it mixed. */
function opName(batch: readonly ItemWrite[]): string {
  const kinds = [...new Set(batch.map((w) => (w.op === 'complete' ? 'queue.complete' : `leases.${w.op}`)))];
  return kinds.join('+');
}
