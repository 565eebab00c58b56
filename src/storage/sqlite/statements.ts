import type Database from 'better-sqlite3';
import { typedPrepare } from './typed-prepare.ts';

/**
 * Every SQL statement the SQLite store runs, one named statement per atomic
 * step (STYLE.md #16). Each opens with its input -> output contract. The
 * store composes them into transactions; nothing else in autoloop writes SQL.
 *
 * Column conventions: times are epoch ms (INTEGER); structured values
 * (outcome, steps, counts, payload, output, error, data) are JSON text, and
 * SQL NULL means "absent" (distinct from the JSON text `null`).
 */

/**
 * Schema migrations, applied in order; `PRAGMA user_version` holds how many
 * have run. Append new entries, never edit old ones once released: a file
 * written by an older autoloop is upgraded step by step.
 *
 * Why the schema is as it is. Every index is one more B-tree to update per
 * row, so the per-item tables (queue, item_results, events) carry only the
 * indexes a query needs; figures are for 20,000 rows on the dev machine.
 *
 * - queue: the item id is `seq` itself (`INTEGER PRIMARY KEY`, exposed as
 *   `String(seq)`), not a separate random UUID column. A UNIQUE index on a
 *   random key touches a random page per insert and per delete; dropping it
 *   halved the SQL cost of complete (delete + result insert: 280 -> 140 ms)
 *   and cut enqueue by a third. `AUTOINCREMENT` makes SQLite never reuse a
 *   seq, even after the newest rows are deleted, so an id stays unique in the
 *   store over time: a late `complete`/`release` for an item already gone can
 *   never hit a newer item that happened to get the same number. (Plain
 *   `INTEGER PRIMARY KEY` would save a further ~10% on enqueue by skipping
 *   the `sqlite_sequence` update, but reuses max(seq)+1 once the queue
 *   drains.) Remaining indexes: `idempotency_key` UNIQUE (dedupe) and
 *   `queue_order` (claimStale and list order). A completed item's row is
 *   marked done and deleted later, many at a time (see NOT_DONE below).
 * - item_results: `item_results_cycle` serves `cycles.items` (finish order)
 *   and prune-by-cycle. `item_results_finished` serves prune of results whose
 *   cycle has no record (they go by their own finish time). Dropping it saves
 *   only ~10 ms per 20,000 completes (finished_at grows with time, so the
 *   index is appended to at its right edge, which is cheap), but makes prune
 *   a full scan of item_results under the write lock: ~200 ms per million
 *   rows with a warm cache. At the throughput autoloop aims for, the table
 *   reaches tens of millions of rows, and a scan that long would exceed the
 *   5 s busy_timeout of every other process waiting to write. So it stays.
 * - events: `seq AUTOINCREMENT` for resumable streams (a seq is never
 *   reused); `events_loop_seq` for per-loop reads; `events_at` for prune. It
 *   costs ~4 ms per 20,000 events, and is kept for the same reason as
 *   `item_results_finished`: events is the biggest table of all.
 *
 * Prune is rare, but it must stay an index search for that reason: it holds
 * the write lock for as long as it runs.
 *
 * Coordination tables (migration 2): small, keyed by text, so `WITHOUT
 * ROWID`: the row lives in its primary-key B-tree, one tree to update per
 * write instead of a rowid table plus a key index.
 *
 * - leases (migration 7): one row per key ever leased, holding the key's
 *   latest fencing token. A row is held (`expires_at > now`), expired, not
 *   yet swept (`0 < expires_at <= now`: free for a takeover, which names its
 *   owner), or free (`expires_at <= 0`): release and sweep negate its expiry
 *   instead of deleting the row, so the token stays, a token never repeats,
 *   and a fenced complete is refused after the newer holder released. Taking
 *   a lease writes one row of one tree: migration 2's separate
 *   `lease_tokens` table cost a second B-tree page per acquire (8.5 -> 7.5
 *   WAL frames per leased item, `npm run bench -- --only=sqliteThroughput`'s
 *   SQLite-alone line). The table is never pruned (forgetting a key would
 *   let a stale holder's fence pass again), and no index on `expires_at` is
 *   kept (renew would update it on every heartbeat; acquire and release on
 *   every item), so `sweep` scans it whole, once a second, as a read (the
 *   write lock only when some lease expired): 6-14 ms per 100,000 distinct
 *   keys on the dev machine under load. `list` with a prefix reads only
 *   that prefix's keys.
 * - instances: one row per heartbeating process; `loops` is a JSON array.
 * - rate_windows (migration 5, replacing migration 2's token-bucket
 *   `rate_buckets`): a rate-limit bucket's last grants as a JSON array of
 *   epoch ms, ascending, at most the bucket's limit (src/policies/window-log.ts),
 *   and its pause (NULL: never paused). One row per bucket, rewritten whole
 *   on a grant: a limit of 100 is about 1.5 kB.
 *
 * Recipes' state (migration 4), which prune never touches:
 *
 * - documents, journal_entries: rowid tables (with their primary key as a
 *   unique index), not `WITHOUT ROWID`: a value is a recipe's JSON, an
 *   inventory snapshot can be tens of kB, and SQLite advises against
 *   `WITHOUT ROWID` for rows larger than a twentieth of a page.
 * - document_versions: each namespace's last version given out. A put takes
 *   the next one, so a key's version grows across delete and re-create
 *   without a row left behind per deleted key.
 * - journal_seqs: each journal's last seq, kept when trim deletes its
 *   entries, so seqs are never reused. Trim deletes only a journal's oldest
 *   entries: its remaining seqs run from some first seq to journal_seqs.seq.
 */
export const MIGRATIONS: readonly string[] = [
  // 1: the initial schema.
  `
  CREATE TABLE IF NOT EXISTS cycles (
    id TEXT PRIMARY KEY,
    loop TEXT NOT NULL,
    tick_id TEXT NOT NULL,
    trigger_kind TEXT NOT NULL,
    scheduled_at INTEGER NOT NULL,
    started_at INTEGER NOT NULL,
    finished_at INTEGER,
    steps TEXT NOT NULL,
    counts TEXT NOT NULL,
    outcome TEXT NOT NULL,
    outcome_kind TEXT NOT NULL,
    owner TEXT NOT NULL
  );
  CREATE UNIQUE INDEX IF NOT EXISTS cycles_tick_id ON cycles (tick_id);
  CREATE INDEX IF NOT EXISTS cycles_loop_started ON cycles (loop, started_at, id);
  CREATE INDEX IF NOT EXISTS cycles_started ON cycles (started_at);

  CREATE TABLE IF NOT EXISTS item_results (
    seq INTEGER PRIMARY KEY,
    cycle_id TEXT NOT NULL,
    loop TEXT NOT NULL,
    key TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    priority INTEGER NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    started_at INTEGER NOT NULL,
    finished_at INTEGER NOT NULL,
    duration_ms INTEGER NOT NULL,
    output TEXT,
    error TEXT
  );
  CREATE INDEX IF NOT EXISTS item_results_cycle ON item_results (cycle_id, finished_at, seq);
  CREATE INDEX IF NOT EXISTS item_results_finished ON item_results (finished_at);

  CREATE TABLE IF NOT EXISTS queue (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    loop TEXT NOT NULL,
    cycle_id TEXT NOT NULL,
    key TEXT NOT NULL,
    priority INTEGER NOT NULL,
    payload TEXT,
    idempotency_key TEXT NOT NULL UNIQUE,
    enqueued_at INTEGER NOT NULL,
    claim_owner TEXT,
    claim_until INTEGER
  );
  CREATE INDEX IF NOT EXISTS queue_order ON queue (loop, priority, enqueued_at);

  CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    at INTEGER NOT NULL,
    type TEXT NOT NULL,
    loop TEXT,
    data TEXT
  );
  CREATE INDEX IF NOT EXISTS events_loop_seq ON events (loop, seq);
  CREATE INDEX IF NOT EXISTS events_at ON events (at);
  `,
  // 2: leases with fencing tokens, instance heartbeats, shared rate-limit buckets.
  `
  CREATE TABLE IF NOT EXISTS leases (
    key TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    token INTEGER NOT NULL,
    acquired_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
  ) WITHOUT ROWID;

  CREATE TABLE IF NOT EXISTS lease_tokens (
    key TEXT PRIMARY KEY,
    token INTEGER NOT NULL
  ) WITHOUT ROWID;

  CREATE TABLE IF NOT EXISTS instances (
    id TEXT PRIMARY KEY,
    host TEXT NOT NULL,
    pid INTEGER NOT NULL,
    started_at INTEGER NOT NULL,
    last_beat_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    loops TEXT NOT NULL
  ) WITHOUT ROWID;

  CREATE TABLE IF NOT EXISTS rate_buckets (
    name TEXT PRIMARY KEY,
    tokens REAL,
    updated_at INTEGER,
    paused_until INTEGER
  ) WITHOUT ROWID;
  `,
  // 3: cycles still running (finished_at NULL), found fast to close abandoned ones.
  `
  CREATE INDEX IF NOT EXISTS cycles_running ON cycles (started_at) WHERE finished_at IS NULL;
  `,
  // 4: recipes' documents and journals (statements in ./state-statements.ts).
  `
  CREATE TABLE IF NOT EXISTS documents (
    namespace TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    version INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (namespace, key)
  );

  CREATE TABLE IF NOT EXISTS document_versions (
    namespace TEXT PRIMARY KEY,
    version INTEGER NOT NULL
  ) WITHOUT ROWID;

  CREATE TABLE IF NOT EXISTS journal_entries (
    journal TEXT NOT NULL,
    seq INTEGER NOT NULL,
    at INTEGER NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (journal, seq)
  );

  CREATE TABLE IF NOT EXISTS journal_seqs (
    journal TEXT PRIMARY KEY,
    seq INTEGER NOT NULL
  ) WITHOUT ROWID;
  `,
  // 5: rate limits as sliding-window logs (a token bucket let a window see twice its limit).
  `
  DROP TABLE IF EXISTS rate_buckets;
  CREATE TABLE IF NOT EXISTS rate_windows (
    name TEXT PRIMARY KEY,
    grants TEXT NOT NULL DEFAULT '[]',
    paused_until REAL
  ) WITHOUT ROWID;
  `,
  // 6: an item result keeps its payload, so the dashboard can show a failed item and queue it again.
  `
  ALTER TABLE item_results ADD COLUMN payload TEXT;
  `,
  // 7: leases keeps each key's latest token in its row (freed: expiry negated), lease_tokens goes.
  // Every token is carried over, never lowered: fencing needs a key's tokens to keep increasing.
  `
  INSERT INTO leases (key, owner, token, acquired_at, expires_at)
    SELECT key, '', token, 0, 0 FROM lease_tokens WHERE true
    ON CONFLICT (key) DO UPDATE SET token = max(leases.token, excluded.token);
  DROP TABLE lease_tokens;
  `,
];

export interface CycleRow {
  id: string;
  loop: string;
  tick_id: string;
  trigger_kind: string;
  scheduled_at: number;
  started_at: number;
  finished_at: number | null;
  steps: string;
  counts: string;
  outcome: string;
  outcome_kind: string;
  owner: string;
}

export interface ItemResultRow {
  seq: number;
  cycle_id: string;
  loop: string;
  key: string;
  idempotency_key: string;
  priority: number;
  status: string;
  attempts: number;
  started_at: number;
  finished_at: number;
  duration_ms: number;
  output: string | null;
  error: string | null;
  /** Added by migration 6; NULL for results written before it. */
  payload: string | null;
}

/** A queue row; the item's id is `String(seq)`. */
export interface QueueRow {
  seq: number;
  loop: string;
  cycle_id: string;
  key: string;
  priority: number;
  payload: string | null;
  idempotency_key: string;
  enqueued_at: number;
  claim_owner: string | null;
  claim_until: number | null;
}

export interface EventRow {
  seq: number;
  at: number;
  type: string;
  loop: string | null;
  data: string | null;
}

export interface LeaseRow {
  key: string;
  owner: string;
  token: number;
  acquired_at: number;
  expires_at: number;
}

export interface InstanceRow {
  id: string;
  host: string;
  pid: number;
  started_at: number;
  last_beat_at: number;
  expires_at: number;
  loops: string;
}

export interface BucketRow {
  /** JSON array of grant times, ascending. */
  grants: string;
  paused_until: number | null;
}

/*
 * Per-item writes. Most of their cost is SQLite's B-tree work, but each
 * statement call also costs ~1.5 us of fixed overhead (crossing into
 * better-sqlite3, binding, stepping, resetting), so:
 *
 * - they bind parameters by position, in the column order of these tuples:
 *   better-sqlite3 binds an argument list in about half the time it takes to
 *   look up named keys in an object (~1.5 us vs ~3 us per row here);
 * - rows that need no answer of their own (events, item results) go in
 *   multi-row INSERTs ({@link BulkInsert}): appending events became about
 *   twice as fast, storing item results ~20% faster. Queue inserts stay one
 *   row per statement: each needs its own answer (added, or a duplicate
 *   idempotency key), and getting those from a multi-row INSERT (RETURNING,
 *   matched back by key) gained only ~7%.
 *
 * Per-cycle and read statements keep named parameters, for readability.
 */

/** insertQueued's parameters. */
export type QueueInsertParams = [
  loop: string,
  cycle_id: string,
  key: string,
  priority: number,
  payload: string | null,
  idempotency_key: string,
  enqueued_at: number,
  claim_owner: string | null,
  claim_until: number | null,
];

/** insertItemResults' row: an ItemResultRow without seq. */
export type ItemResultParams = [
  cycle_id: string,
  loop: string,
  key: string,
  idempotency_key: string,
  priority: number,
  status: string,
  attempts: number,
  started_at: number,
  finished_at: number,
  duration_ms: number,
  output: string | null,
  error: string | null,
  payload: string | null,
];

/** insertEvents' row: an EventRow without seq. */
export type EventParams = [at: number, type: string, loop: string | null, data: string | null];

/** writeLease's parameters, in LeaseRow's column order. */
export type LeaseParams = [key: string, owner: string, token: number, acquired_at: number, expires_at: number];

/** beatInstance's parameters, in InstanceRow's column order. */
export type InstanceParams = [
  id: string,
  host: string,
  pid: number,
  started_at: number,
  last_beat_at: number,
  expires_at: number,
  loops: string,
];

/** `loop` is null for "every loop"; `limit` -1 means no limit (SQLite's LIMIT -1). */
interface LoopFilter {
  loop: string | null;
  limit: number;
}

const QUEUE_ORDER = 'ORDER BY priority, enqueued_at, seq';

/**
 * A queue row that is not done. A completed item's row is marked done
 * (`claim_owner` kept, `claim_until` NULL, a pair no other write makes: a
 * claim always has both) instead of deleted, and the store deletes done rows
 * later, many at a time: marking writes one B-tree page, the table's, where a
 * delete also writes a page of `queue_order` and one of the idempotency
 * index (7.5 -> 5.5 WAL frames per leased item, the bench's SQLite-alone
 * line). Every read and claim skips done rows; `selectClaimable` does so by
 * its own condition (`NULL <= now` is not true). The cost is on `depth`: it
 * reads each row's claim instead of counting `queue_order` alone, 25 -> 90 ms
 * for a backlog of 200,000 items on the dev machine (a few ms below 10,000).
 */
const NOT_DONE = '(claim_owner IS NULL OR claim_until IS NOT NULL)';
/** A done queue row (see NOT_DONE): what the purges delete. */
const DONE = '(claim_owner IS NOT NULL AND claim_until IS NULL)';

/** Prepares every statement once, at open; the store reuses them for its lifetime. */
export function prepareStatements(database: Database.Database) {
  const db = typedPrepare(database);
  return {
    // in: 1 -> out: { ok: 1 }. Proves the connection answers.
    ping: db.prepare<[], { ok: number }>('SELECT 1 AS ok'),

    // in: a full CycleRow -> changes 1 when inserted, 0 when the id or tick_id exists.
    insertCycle: db.prepare<CycleRow>(
      `INSERT INTO cycles (id, loop, tick_id, trigger_kind, scheduled_at, started_at, finished_at,
         steps, counts, outcome, outcome_kind, owner)
       VALUES (@id, @loop, @tick_id, @trigger_kind, @scheduled_at, @started_at, @finished_at,
         @steps, @counts, @outcome, @outcome_kind, @owner)
       ON CONFLICT DO NOTHING`,
    ),

    // in: id and the mutable fields -> changes 0 when no record has that id.
    finishCycle: db.prepare<Pick<CycleRow, 'id' | 'finished_at' | 'steps' | 'counts' | 'outcome' | 'outcome_kind'>>(
      `UPDATE cycles SET finished_at = @finished_at, steps = @steps, counts = @counts,
         outcome = @outcome, outcome_kind = @outcome_kind
       WHERE id = @id`,
    ),

    // in: id -> out: the record's row, or undefined.
    getCycle: db.prepare<[string], CycleRow>('SELECT * FROM cycles WHERE id = ?'),

    // in: loop, limit -> out: the loop's rows, newest first (started_at, then id).
    listCycles: db.prepare<{ loop: string; limit: number }, CycleRow>(
      'SELECT * FROM cycles WHERE loop = @loop ORDER BY started_at DESC, id DESC LIMIT @limit',
    ),

    // in: loop -> out: finished_at of the newest ok/partial record, or undefined.
    // in: nothing -> out: every record with finished_at NULL, oldest first (partial index cycles_running).
    runningCycles: db.prepare<[], CycleRow>('SELECT * FROM cycles WHERE finished_at IS NULL ORDER BY started_at, id'),

    lastSuccess: db.prepare<[string], { finished_at: number | null }>(
      `SELECT finished_at FROM cycles WHERE loop = ? AND outcome_kind IN ('ok', 'partial')
       ORDER BY started_at DESC, id DESC LIMIT 1`,
    ),

    // in: cycle id -> out: its item results in finish order (finished_at, then write order).
    listItemResults: db.prepare<[string], ItemResultRow>(
      'SELECT * FROM item_results WHERE cycle_id = ? ORDER BY finished_at, seq',
    ),

    // in: ItemResultParams rows -> one item result per row, seq increasing in row order.
    insertItemResults: new BulkInsert<ItemResultParams>(db, 'item_results', [
      'cycle_id',
      'loop',
      'key',
      'idempotency_key',
      'priority',
      'status',
      'attempts',
      'started_at',
      'finished_at',
      'duration_ms',
      'output',
      'error',
      'payload',
    ]),

    // in: QueueInsertParams -> changes 1 and lastInsertRowid = the new seq (never used before:
    // AUTOINCREMENT), or changes 0 when the idempotency key is already queued.
    insertQueued: db.prepare<QueueInsertParams>(
      `INSERT INTO queue (loop, cycle_id, key, priority, payload, idempotency_key, enqueued_at,
         claim_owner, claim_until)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (idempotency_key) DO NOTHING`,
    ),

    // in: loop, now, limit -> out: claimable rows (pending, or claim_until <= now), queue order.
    selectClaimable: db.prepare<{ loop: string; now: number; limit: number }, QueueRow>(
      `SELECT * FROM queue WHERE loop = @loop AND (claim_owner IS NULL OR claim_until <= @now)
       ${QUEUE_ORDER} LIMIT @limit`,
    ),

    // in: new owner, new until, new cycle id, seq -> changes 1.
    claimRow: db.prepare<[owner: string, until: number, cycle_id: string, seq: number]>(
      'UPDATE queue SET claim_owner = ?, claim_until = ?, cycle_id = ? WHERE seq = ?',
    ),

    // in: seq, owner -> changes 1 when the row existed and owner held its claim (now done), else 0.
    completeClaimed: db.prepare<[seq: number, owner: string]>(
      `UPDATE queue SET claim_until = NULL WHERE seq = ? AND claim_owner = ? AND ${NOT_DONE}`,
    ),

    // in: seq, owner, fence token, fence key -> changes 1 when the row existed, owner held its claim and
    // the token is not lower than the key's latest (0 when never leased): now done; else 0.
    completeClaimedFenced: db.prepare<[seq: number, owner: string, token: number, key: string]>(
      `UPDATE queue SET claim_until = NULL WHERE seq = ? AND claim_owner = ? AND ${NOT_DONE}
         AND ? >= coalesce((SELECT token FROM leases WHERE key = ?), 0)`,
    ),

    // in: JSON array of seqs -> the done rows among them deleted (a row not done is left alone).
    purgeDone: db.prepare<[seqs: string]>(
      `DELETE FROM queue WHERE seq IN (SELECT value FROM json_each(?)) AND ${DONE}`,
    ),

    // in: idempotency key -> changes 1 when a done row held it (deleted), else 0.
    purgeDoneKey: db.prepare<[idempotency_key: string]>(`DELETE FROM queue WHERE idempotency_key = ? AND ${DONE}`),

    // in: nothing -> changes: every done row deleted (a scan of the queue: prune only).
    purgeAllDone: db.prepare<[]>(`DELETE FROM queue WHERE ${DONE}`),

    // in: until, seq, owner -> changes 1 when owner holds the claim (claim_until now `until`), else 0.
    extendClaim: db.prepare<[until: number, seq: number, owner: string]>(
      `UPDATE queue SET claim_until = ? WHERE seq = ? AND claim_owner = ? AND ${NOT_DONE}`,
    ),

    // in: seq, owner -> changes 1 when owner held the claim (now cleared), else 0.
    releaseClaim: db.prepare<[seq: number, owner: string]>(
      `UPDATE queue SET claim_owner = NULL, claim_until = NULL WHERE seq = ? AND claim_owner = ? AND ${NOT_DONE}`,
    ),

    // in: loop or null -> out: counts per (loop, priority), sorted by loop then priority.
    depth: db.prepare<{ loop: string | null }, { loop: string; priority: number; count: number }>(
      `SELECT loop, priority, count(*) AS count FROM queue WHERE (@loop IS NULL OR loop = @loop) AND ${NOT_DONE}
       GROUP BY loop, priority ORDER BY loop, priority`,
    ),

    // in: loop or null, limit -> out: queue rows in queue order.
    listQueue: db.prepare<LoopFilter, QueueRow>(
      `SELECT * FROM queue WHERE (@loop IS NULL OR loop = @loop) AND ${NOT_DONE} ${QUEUE_ORDER} LIMIT @limit`,
    ),

    // in: EventParams rows -> one event per row, seq increasing in row order, never reused (AUTOINCREMENT).
    insertEvents: new BulkInsert<EventParams>(db, 'events', ['at', 'type', 'loop', 'data']),

    // in: after (seq), loop or null, limit -> out: events with seq > after, oldest first.
    eventsAfter: db.prepare<LoopFilter & { after: number }, EventRow>(
      `SELECT * FROM events WHERE seq > @after AND (@loop IS NULL OR loop = @loop)
       ORDER BY seq LIMIT @limit`,
    ),

    // in: loop or null, limit -> out: the newest `limit` events, oldest first.
    eventsLatest: db.prepare<LoopFilter, EventRow>(
      `SELECT * FROM (SELECT * FROM events WHERE @loop IS NULL OR loop = @loop ORDER BY seq DESC LIMIT @limit)
       ORDER BY seq`,
    ),

    // in: before (ms) -> changes: item results of cycles started before it, or finished before it.
    // Both arms use an index (item_results_cycle, item_results_finished): see MIGRATIONS.
    pruneItemResults: db.prepare<{ before: number }>(
      `DELETE FROM item_results WHERE finished_at < @before
         OR cycle_id IN (SELECT id FROM cycles WHERE started_at < @before)`,
    ),

    // in: before (ms) -> changes: cycle records started before it.
    pruneCycles: db.prepare<[number]>('DELETE FROM cycles WHERE started_at < ?'),

    // in: before (ms) -> changes: events at before it.
    pruneEvents: db.prepare<[number]>('DELETE FROM events WHERE at < ?'),

    // Leases, instances and buckets: one call per heartbeat or per item, so positional like the
    // per-item writes. Time is always the caller's `now`: a lease is live while expires_at > now.

    // in: key -> out: its lease row (held, expired or free: see MIGRATIONS), or undefined when never leased.
    selectLease: db.prepare<[key: string], LeaseRow>('SELECT * FROM leases WHERE key = ?'),

    // in: LeaseParams -> the key's lease row is these values (inserted, or replacing an expired or free one).
    writeLease: db.prepare<LeaseParams>(
      `INSERT INTO leases (key, owner, token, acquired_at, expires_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (key) DO UPDATE SET owner = excluded.owner, token = excluded.token,
         acquired_at = excluded.acquired_at, expires_at = excluded.expires_at`,
    ),

    // in: new expires_at, key, owner, token, now -> changes 1 when owner holds key with token and it
    // has not expired at now (expiry moved), else 0. A free row's expiry is <= 0, never > now.
    renewLease: db.prepare<[expires_at: number, key: string, owner: string, token: number, now: number]>(
      'UPDATE leases SET expires_at = ? WHERE key = ? AND owner = ? AND token = ? AND expires_at > ?',
    ),

    // in: key, owner, token -> changes 1 when owner held key with token, expired or not (now free:
    // expiry negated), else 0. The row and its token stay: the key's counter outlives the lease.
    releaseLease: db.prepare<[key: string, owner: string, token: number]>(
      'UPDATE leases SET expires_at = -expires_at WHERE key = ? AND owner = ? AND token = ? AND expires_at > 0',
    ),

    // in: now -> out: { n: 1 } when some lease expired at now (0 < expires_at <= now), else undefined.
    // A read: the scan of every key runs without the write lock, which sweepLeases then takes only
    // when there is something to free.
    anyExpiredLease: db.prepare<[now: number], { n: number }>(
      'SELECT 1 AS n FROM leases WHERE expires_at > 0 AND expires_at <= ? LIMIT 1',
    ),

    // in: now -> out: the leases expired at now (0 < expires_at <= now), as they were; now free.
    // Row order is unspecified.
    sweepLeases: db.prepare<[now: number], LeaseRow>(
      `UPDATE leases SET expires_at = -expires_at WHERE expires_at > 0 AND expires_at <= ?
       RETURNING key, owner, token, acquired_at, -expires_at AS expires_at`,
    ),

    // in: now, prefix or null -> out: leases live at now whose key starts with prefix, by key.
    // `key >= prefix` starts the primary-key scan where the prefix's keys begin.
    listLeases: db.prepare<{ now: number; prefix: string | null }, LeaseRow>(
      `SELECT * FROM leases WHERE expires_at > @now
         AND (@prefix IS NULL OR (key >= @prefix AND substr(key, 1, length(@prefix)) = @prefix))
       ORDER BY key`,
    ),

    // in: key -> out: { token }, the key's latest token, or undefined when never leased.
    leaseToken: db.prepare<[key: string], { token: number }>('SELECT token FROM leases WHERE key = ?'),

    // in: InstanceParams -> the instance's row is these values (inserted or overwritten).
    beatInstance: db.prepare<InstanceParams>(
      `INSERT INTO instances (id, host, pid, started_at, last_beat_at, expires_at, loops)
       VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET host = excluded.host, pid = excluded.pid,
         started_at = excluded.started_at, last_beat_at = excluded.last_beat_at,
         expires_at = excluded.expires_at, loops = excluded.loops`,
    ),

    // in: now -> out: instances whose heartbeat is live at now (expires_at > now), by id.
    listInstances: db.prepare<[now: number], InstanceRow>('SELECT * FROM instances WHERE expires_at > ? ORDER BY id'),

    // in: id -> changes 1 when the instance was there (deleted), else 0.
    removeInstance: db.prepare<[id: string]>('DELETE FROM instances WHERE id = ?'),

    // in: name -> out: the bucket's row, or undefined when no take or pause created it yet.
    selectBucket: db.prepare<[name: string], BucketRow>('SELECT grants, paused_until FROM rate_windows WHERE name = ?'),

    // in: name, grants (JSON) -> the bucket's log is `grants`; its pause is kept.
    writeBucket: db.prepare<[name: string, grants: string]>(
      `INSERT INTO rate_windows (name, grants) VALUES (?, ?)
       ON CONFLICT (name) DO UPDATE SET grants = excluded.grants`,
    ),

    // in: name, until -> the bucket is paused until the later of its pause and `until` (created with
    // an empty log when missing). One statement: atomic without a transaction.
    pauseBucket: db.prepare<[name: string, until: number]>(
      `INSERT INTO rate_windows (name, paused_until) VALUES (?, ?)
       ON CONFLICT (name) DO UPDATE
         SET paused_until = max(coalesce(paused_until, excluded.paused_until), excluded.paused_until)`,
    ),
  };
}

export type Statements = ReturnType<typeof prepareStatements>;

/**
 * How the store runs one operation: `fn` gets the statements; "closed" and
 * any driver error come back as a StoreError naming the store and `op`.
 */
export type RunStatements = <T>(op: string, fn: (sql: Statements) => T) => T;

/** Rows per statement of a {@link BulkInsert}; 32 to 200 measured alike, fewer cost more calls. */
const ROWS_PER_INSERT = 64;

/**
 * `INSERT INTO table (columns) VALUES (?, ...), (?, ...), ...`: many rows per
 * statement call, {@link ROWS_PER_INSERT} at a time. SQLite inserts the rows
 * of a VALUES list in order, so rowids (seq) increase in the order given.
 * The caller wraps a call in a transaction when it must be atomic (more than
 * ROWS_PER_INSERT rows take several statements).
 */
export class BulkInsert<Row extends readonly unknown[]> {
  readonly #db: Database.Database;
  readonly #head: string;
  readonly #width: number;
  /** By row count: the full-size statement, prepared at once, and the shorter ones, prepared on first use. */
  readonly #byRows = new Map<number, Database.Statement<unknown[]>>();

  constructor(db: Database.Database, table: string, columns: readonly string[]) {
    this.#db = db;
    this.#head = `INSERT INTO ${table} (${columns.join(', ')}) VALUES `;
    this.#width = columns.length;
    this.#statement(ROWS_PER_INSERT); // a typo in the SQL fails at open, not at the first write
  }

  /** Inserts the rows, in order. */
  run(rows: readonly Row[]): void {
    const width = this.#width;
    for (let start = 0; start < rows.length; start += ROWS_PER_INSERT) {
      const count = Math.min(ROWS_PER_INSERT, rows.length - start);
      const params: unknown[] = new Array(count * width);
      for (let r = 0; r < count; r++) {
        const row = rows[start + r] as Row;
        for (let c = 0; c < width; c++) params[r * width + c] = row[c];
      }
      this.#statement(count).run(params);
    }
  }

  #statement(rows: number): Database.Statement<unknown[]> {
    let statement = this.#byRows.get(rows);
    if (!statement) {
      const row = `(${new Array(this.#width).fill('?').join(', ')})`;
      statement = this.#db.prepare<unknown[]>(this.#head + new Array(rows).fill(row).join(', '));
      this.#byRows.set(rows, statement);
    }
    return statement;
  }
}
