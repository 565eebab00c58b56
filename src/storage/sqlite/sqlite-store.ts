import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { WorkItem } from '../../core/work-item.ts';
import {
  type Claim,
  type CycleStore,
  type DocumentStore,
  type EventLog,
  type InstanceRegistry,
  type JournalStore,
  type LeaseStore,
  type QueuedItem,
  type RateLimitStore,
  type Store,
  StoreError,
  type WorkQueue,
} from '../store.ts';
import {
  fromCycleRow,
  fromEventRow,
  fromItemResultRow,
  fromJson,
  fromQueueRow,
  queueId,
  queueSeq,
  toCycleRow,
  toItemResultParams,
  toJson,
} from './rows.ts';
import { sqliteRateLimitStore } from './sqlite-buckets.ts';
import { sqliteDocumentStore } from './sqlite-documents.ts';
import { sqliteInstanceRegistry } from './sqlite-instances.ts';
import { type Completion, SqliteItemWrites } from './sqlite-item-writes.ts';
import { sqliteJournalStore } from './sqlite-journals.ts';
import { sqliteLeaseStore } from './sqlite-leases.ts';
import { prepareStateStatements, type StateStatements } from './state-statements.ts';
import {
  type EventParams,
  MIGRATIONS,
  prepareStatements,
  type QueueInsertParams,
  type RunStatements,
  type Statements,
} from './statements.ts';

/** Options for {@link SqliteStore.open}. */
export interface SqliteStoreOptions {
  /**
   * `normal` (default): a commit survives a crash of the process, but the
   * last commits may be lost if the machine loses power or the OS crashes.
   * `full`: every commit is synced to disk and survives power loss, at the
   * cost of one fsync per write.
   */
  synchronous?: 'normal' | 'full';
}

const DEFAULT_EVENT_LIMIT = 1000;

/**
 * WAL pages after which a commit checkpoints them into the database file
 * (SQLite's default is 1,000). Each checkpoint syncs the WAL and the file
 * (two fsyncs with `synchronous=normal`), scans and sorts the WAL's index,
 * and copies every distinct page once, so a page the item path rewrites on
 * every commit (a lease page, the right edge of item_results and its
 * indexes) is copied once per checkpoint however often it was written.
 * Four times fewer checkpoints: 101 -> 29 fsyncs per 20,000 leased items
 * at concurrency 10, and less wall time per item (the CPU per item is the same; docs/benchmarks.md, "SQLite:
 * fewer checkpoints"). The cost: the `-wal` file grows to ~16 MiB (4,000
 * pages of 4 KiB) before it is reused from its start, instead of ~4 MiB;
 * with `synchronous=normal` the commits since the last checkpoint are the
 * ones a power loss may take (a process crash loses none either way).
 */
export const WAL_AUTOCHECKPOINT_PAGES = 4000;

/**
 * The default store: one SQLite file (better-sqlite3) in WAL mode, shared by
 * every autoloop process on the machine. A writer waits up to 5 s for
 * another process's write lock (`busy_timeout`) instead of failing with
 * SQLITE_BUSY; every multi-statement write runs in one `BEGIN IMMEDIATE`
 * transaction, so it takes the write lock up front and cannot fail halfway
 * on a lock upgrade.
 *
 * @example
 * const store = SqliteStore.open('./.autoloop/state.db');
 * await store.cycles.list('signals', { limit: 10 });
 * await store.close();
 */
export class SqliteStore implements Store {
  readonly description: string;
  readonly cycles: CycleStore;
  readonly queue: WorkQueue;
  readonly events: EventLog;
  readonly leases: LeaseStore;
  readonly instances: InstanceRegistry;
  readonly buckets: RateLimitStore;
  readonly documents: DocumentStore;
  readonly journals: JournalStore;
  readonly #path: string;
  readonly #db: Database.Database;
  readonly #sql: Statements;
  readonly #prune: Database.Transaction<(beforeMs: number) => { cycles: number; events: number }>;
  readonly #writes: SqliteItemWrites;
  #closed = false;

  /**
   * Opens (creating when missing, with its parent directory) the database at
   * `path` and brings its schema up to date. Throws a {@link StoreError}
   * when the file cannot be opened or was written by a newer autoloop.
   */
  static open(path: string, options: SqliteStoreOptions = {}): SqliteStore {
    const synchronous = options.synchronous ?? 'normal';
    if (synchronous !== 'normal' && synchronous !== 'full') {
      throw new StoreError(`sqlite ${path}: expected synchronous to be "normal" or "full", got "${synchronous}"`);
    }
    let db: Database.Database | undefined;
    try {
      mkdirSync(dirname(path), { recursive: true });
      db = new Database(path);
      // busy_timeout first: switching to WAL and migrating may wait on another process.
      db.pragma('busy_timeout = 5000');
      useWal(db);
      db.pragma(`wal_autocheckpoint = ${WAL_AUTOCHECKPOINT_PAGES}`);
      db.pragma(`synchronous = ${synchronous.toUpperCase()}`);
      migrate(db);
      return new SqliteStore(path, db, prepareStatements(db), prepareStateStatements(db));
    } catch (error) {
      db?.close();
      throw wrapError(path, 'open', error);
    }
  }

  private constructor(path: string, db: Database.Database, sql: Statements, state: StateStatements) {
    this.#path = path;
    this.#db = db;
    this.#sql = sql;
    this.description = `sqlite:${path}`;
    this.#prune = db.transaction((beforeMs: number) => {
      sql.pruneItemResults.run({ before: beforeMs });
      const cycles = sql.pruneCycles.run(beforeMs).changes;
      const events = sql.pruneEvents.run(beforeMs).changes;
      sql.purgeAllDone.run(); // done queue rows a process left when it died
      return { cycles, events };
    });
    const run: RunStatements = (op, fn) => this.#run(op, fn);
    // Completions and lease writes of one event-loop turn share a transaction.
    const writes = new SqliteItemWrites(db, sql, run);
    this.#writes = writes;
    this.cycles = this.#cycleStore();
    this.queue = this.#workQueue(writes);
    this.events = this.#eventLog();
    this.leases = sqliteLeaseStore(writes, run);
    this.instances = sqliteInstanceRegistry(run);
    this.buckets = sqliteRateLimitStore(db, sql, run);
    this.documents = sqliteDocumentStore(db, state, run);
    this.journals = sqliteJournalStore(db, state, run);
  }

  /**
   * Transactions the item path has committed since the store opened: lease
   * acquires, renewals and releases and item completions, which share a
   * transaction when asked in the same turn. A diagnostic (the SQLite bench
   * divides it by its items); other writes are not counted.
   */
  get itemWriteCommits(): number {
    return this.#writes.commits;
  }

  async ping(): Promise<void> {
    this.#run('ping', (sql) => sql.ping.get());
  }

  async prune(beforeMs: number): Promise<{ cycles: number; events: number }> {
    return this.#run('prune', () => this.#prune.immediate(beforeMs));
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#writes.purgeDone();
    } catch {
      // Best effort (the file may be busy or gone): rows left done are deleted by the next prune.
    }
    try {
      this.#db.close();
    } catch (error) {
      throw wrapError(this.#path, 'close', error);
    }
  }

  /** Runs one operation, turning "closed" and any driver error into a StoreError with context. */
  #run<T>(op: string, fn: (sql: Statements) => T): T {
    if (this.#closed) throw new StoreError(`sqlite ${this.#path}: ${op}: the store is closed`);
    try {
      return fn(this.#sql);
    } catch (error) {
      throw wrapError(this.#path, op, error);
    }
  }

  #cycleStore(): CycleStore {
    return {
      start: async (record) =>
        this.#run('cycles.start', (sql) => sql.insertCycle.run(toCycleRow(record)).changes === 1),
      finish: async (record) => {
        this.#run('cycles.finish', (sql) => {
          const { id, finished_at, steps, counts, outcome, outcome_kind } = toCycleRow(record);
          sql.finishCycle.run({ id, finished_at, steps, counts, outcome, outcome_kind });
        });
      },
      get: async (id) =>
        this.#run('cycles.get', (sql) => {
          const row = sql.getCycle.get(id);
          return row && fromCycleRow(row);
        }),
      list: async (loop, options) =>
        this.#run('cycles.list', (sql) =>
          sql.listCycles.all({ loop, limit: sqlLimit(options?.limit, -1) }).map(fromCycleRow),
        ),
      items: async (cycleId) =>
        this.#run('cycles.items', (sql) => sql.listItemResults.all(cycleId).map(fromItemResultRow)),
      running: async () => this.#run('cycles.running', (sql) => sql.runningCycles.all().map(fromCycleRow)),
      summary: async (loop) =>
        this.#run('cycles.summary', (sql) => {
          const last = sql.listCycles.get({ loop, limit: 1 });
          const success = sql.lastSuccess.get(loop);
          return {
            ...(last && { last: fromCycleRow(last) }),
            ...(success?.finished_at != null && { lastSuccessAt: success.finished_at }),
          };
        }),
    };
  }

  #workQueue(writes: SqliteItemWrites): WorkQueue {
    // JSON is serialised before BEGIN IMMEDIATE, here and in complete and append: the write lock, which
    // other processes wait on, is held only for the SQL.
    const enqueue = this.#db.transaction(
      (
        loop: string,
        cycleId: string,
        items: readonly WorkItem[],
        payloads: ReadonlyArray<string | null>,
        claim: Claim | null,
        now: number,
      ) => {
        const owner = claim?.owner ?? null;
        const until = claim?.until ?? null;
        const added: QueuedItem[] = [];
        items.forEach((item, i) => {
          const payload = payloads[i] ?? null;
          const row: QueueInsertParams = [
            loop,
            cycleId,
            item.key,
            item.priority,
            payload,
            item.idempotencyKey,
            now,
            owner,
            until,
          ];
          let inserted = this.#sql.insertQueued.run(...row);
          // Its idempotency key is already queued, or held by a done row not yet deleted: that one goes.
          if (inserted.changes === 0 && this.#sql.purgeDoneKey.run(item.idempotencyKey).changes === 1) {
            inserted = this.#sql.insertQueued.run(...row);
          }
          if (inserted.changes === 0) return;
          added.push({
            id: queueId(inserted.lastInsertRowid),
            loop,
            cycleId,
            key: item.key,
            priority: item.priority,
            // What the store holds, as list() would return it: the JSON round trip, not the caller's object.
            payload: fromJson(payload),
            idempotencyKey: item.idempotencyKey,
            enqueuedAt: now,
            claim: claim && { owner: claim.owner, until: claim.until },
          });
        });
        return added;
      },
    );
    const claimStale = this.#db.transaction((loop: string, cycleId: string, claim: Claim, now: number, limit: number) =>
      this.#sql.selectClaimable.all({ loop, now, limit }).map((row) => {
        this.#sql.claimRow.run(claim.owner, claim.until, cycleId, row.seq);
        return fromQueueRow({ ...row, cycle_id: cycleId, claim_owner: claim.owner, claim_until: claim.until });
      }),
    );
    const extend = this.#db.transaction((ids: readonly string[], owner: string, until: number) => {
      const held: string[] = [];
      for (const id of new Set(ids)) {
        const seq = queueSeq(id);
        if (seq !== undefined && this.#sql.extendClaim.run(until, seq, owner).changes === 1) held.push(id);
      }
      return held;
    });
    const release = this.#db.transaction((ids: readonly string[], owner: string) => {
      let moved = 0;
      for (const id of ids) {
        const seq = queueSeq(id);
        if (seq !== undefined) moved += this.#sql.releaseClaim.run(seq, owner).changes;
      }
      return moved;
    });
    return {
      enqueue: async (loop, cycleId, items, claim, now) =>
        this.#run('queue.enqueue', () => {
          if (items.length === 0) return [];
          const payloads = items.map((item) => toJson(item.payload));
          return enqueue.immediate(loop, cycleId, items, payloads, claim, now);
        }),
      claimStale: async (loop, cycleId, claim, now, limit) =>
        this.#run('queue.claimStale', () => {
          const n = sqlLimit(limit, 0);
          return n === 0 ? [] : claimStale.immediate(loop, cycleId, claim, now, n);
        }),
      // Not async: the caller gets the group commit's own promise (an async wrapper added two promise
      // hops per item). A closed store or a result that cannot be serialised rejects this call alone,
      // checked and serialised here, not in the batch that shares its commit.
      complete: (id, owner, result, fence, options) => {
        let completion: Completion;
        try {
          completion = this.#run('queue.complete', () => ({
            seq: queueSeq(id),
            owner,
            result: toItemResultParams(result),
            fence: fence && { key: fence.key, token: fence.token },
            releaseLease: options?.releaseLease === true,
          }));
        } catch (error) {
          return Promise.reject(error);
        }
        return writes.complete(completion);
      },
      extend: async (ids, owner, until) =>
        this.#run('queue.extend', () => (ids.length === 0 ? [] : extend.immediate(ids, owner, until))),
      release: async (ids, owner) =>
        this.#run('queue.release', () => (ids.length === 0 ? 0 : release.immediate(ids, owner))),
      depth: async (loop) => this.#run('queue.depth', (sql) => sql.depth.all({ loop: loop ?? null })),
      list: async (loop, options) =>
        this.#run('queue.list', (sql) =>
          sql.listQueue.all({ loop: loop ?? null, limit: sqlLimit(options?.limit, -1) }).map(fromQueueRow),
        ),
    };
  }

  #eventLog(): EventLog {
    const append = this.#db.transaction((events: readonly EventParams[]) => {
      this.#sql.insertEvents.run(events);
    });
    return {
      append: async (events) => {
        this.#run('events.append', () => {
          if (events.length === 0) return;
          append.immediate(events.map((e): EventParams => [e.at, e.type, e.loop, toJson(e.data)]));
        });
      },
      after: async (afterSeq, options) =>
        this.#run('events.after', (sql) =>
          sql.eventsAfter
            .all({
              after: afterSeq,
              loop: options?.loop ?? null,
              limit: sqlLimit(options?.limit, DEFAULT_EVENT_LIMIT),
            })
            .map(fromEventRow),
        ),
      latest: async (options) =>
        this.#run('events.latest', (sql) =>
          sql.eventsLatest
            .all({ loop: options?.loop ?? null, limit: sqlLimit(options?.limit, DEFAULT_EVENT_LIMIT) })
            .map(fromEventRow),
        ),
    };
  }
}

/** How long {@link useWal} keeps trying while other processes open the same new file. */
const WAL_SWITCH_ATTEMPTS = 100;
const WAL_SWITCH_PAUSE_MS = 20;

/**
 * Switches the file to WAL. Switching needs the file to itself, and SQLite
 * answers SQLITE_BUSY at once (without its busy handler) while another
 * process is opening the same new file, so several processes starting
 * together on a fresh file retry here for up to 2 s. Nothing to do when the
 * file is in WAL already (WAL is persistent).
 */
function useWal(db: Database.Database): void {
  for (let attempt = 1; ; attempt++) {
    try {
      if (db.pragma('journal_mode', { simple: true }) === 'wal') return;
      db.pragma('journal_mode = WAL');
      return;
    } catch (error) {
      if ((error as { code?: unknown }).code !== 'SQLITE_BUSY' || attempt >= WAL_SWITCH_ATTEMPTS) throw error;
      // A synchronous pause (open is synchronous): the thread sleeps, no timer is set.
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, WAL_SWITCH_PAUSE_MS);
    }
  }
}

/** Applies the migrations this file lacks, in one transaction, so concurrent openers apply them once. */
function migrate(db: Database.Database): void {
  const current = () => db.pragma('user_version', { simple: true }) as number;
  if (current() === MIGRATIONS.length) return;
  db.transaction(() => {
    const version = current();
    if (version > MIGRATIONS.length) {
      throw new Error(
        `schema version ${version} is newer than this autoloop understands (${MIGRATIONS.length}); upgrade autoloop`,
      );
    }
    for (const sql of MIGRATIONS.slice(version)) db.exec(sql);
    db.pragma(`user_version = ${MIGRATIONS.length}`);
  }).immediate();
}

function wrapError(path: string, op: string, error: unknown): StoreError {
  if (error instanceof StoreError) return error;
  const code = (error as { code?: unknown } | null)?.code;
  const message = error instanceof Error ? error.message : String(error);
  const detail = typeof code === 'string' && !message.startsWith(code) ? `${code} ${message}` : message;
  return new StoreError(`sqlite ${path}: ${op}: ${detail}`, { cause: error });
}

/** A caller's limit as SQLite wants it: absent -> `fallback` (-1 is "no limit"), negative -> 0. */
function sqlLimit(limit: number | undefined, fallback: number): number {
  if (limit === undefined) return fallback;
  return Math.max(0, Math.floor(limit));
}
