import type Database from 'better-sqlite3';

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
 * have run. Append new entries, never edit old ones: a file written by an
 * older autoloop is upgraded step by step.
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
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
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
}

export interface QueueRow {
  seq: number;
  id: string;
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

/** `loop` is null for "every loop"; `limit` -1 means no limit (SQLite's LIMIT -1). */
interface LoopFilter {
  loop: string | null;
  limit: number;
}

const QUEUE_ORDER = 'ORDER BY priority, enqueued_at, seq';

/** Prepares every statement once, at open; the store reuses them for its lifetime. */
export function prepareStatements(db: Database.Database) {
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
    lastSuccess: db.prepare<[string], { finished_at: number | null }>(
      `SELECT finished_at FROM cycles WHERE loop = ? AND outcome_kind IN ('ok', 'partial')
       ORDER BY started_at DESC, id DESC LIMIT 1`,
    ),

    // in: cycle id -> out: its item results in finish order (finished_at, then write order).
    listItemResults: db.prepare<[string], ItemResultRow>(
      'SELECT * FROM item_results WHERE cycle_id = ? ORDER BY finished_at, seq',
    ),

    // in: a full ItemResultRow -> changes 1.
    insertItemResult: db.prepare<ItemResultRow>(
      `INSERT INTO item_results (cycle_id, loop, key, idempotency_key, priority, status, attempts,
         started_at, finished_at, duration_ms, output, error)
       VALUES (@cycle_id, @loop, @key, @idempotency_key, @priority, @status, @attempts,
         @started_at, @finished_at, @duration_ms, @output, @error)`,
    ),

    // in: a queue row without seq -> changes 0 when its idempotency key is already queued.
    insertQueued: db.prepare<Omit<QueueRow, 'seq'>>(
      `INSERT INTO queue (id, loop, cycle_id, key, priority, payload, idempotency_key, enqueued_at,
         claim_owner, claim_until)
       VALUES (@id, @loop, @cycle_id, @key, @priority, @payload, @idempotency_key, @enqueued_at,
         @claim_owner, @claim_until)
       ON CONFLICT (idempotency_key) DO NOTHING`,
    ),

    // in: loop, now, limit -> out: claimable rows (pending, or claim_until <= now), queue order.
    selectClaimable: db.prepare<{ loop: string; now: number; limit: number }, QueueRow>(
      `SELECT * FROM queue WHERE loop = @loop AND (claim_owner IS NULL OR claim_until <= @now)
       ${QUEUE_ORDER} LIMIT @limit`,
    ),

    // in: seq, new claim, new cycle id -> changes 1.
    claimRow: db.prepare<{ seq: number; owner: string; until: number; cycle_id: string }>(
      'UPDATE queue SET claim_owner = @owner, claim_until = @until, cycle_id = @cycle_id WHERE seq = @seq',
    ),

    // in: id, owner -> changes 1 when the row existed and owner held its claim (row deleted), else 0.
    deleteClaimed: db.prepare<[string, string]>('DELETE FROM queue WHERE id = ? AND claim_owner = ?'),

    // in: id, owner -> changes 1 when owner held the claim (now cleared), else 0.
    releaseClaim: db.prepare<[string, string]>(
      'UPDATE queue SET claim_owner = NULL, claim_until = NULL WHERE id = ? AND claim_owner = ?',
    ),

    // in: loop or null -> out: counts per (loop, priority), sorted by loop then priority.
    depth: db.prepare<{ loop: string | null }, { loop: string; priority: number; count: number }>(
      `SELECT loop, priority, count(*) AS count FROM queue WHERE @loop IS NULL OR loop = @loop
       GROUP BY loop, priority ORDER BY loop, priority`,
    ),

    // in: loop or null, limit -> out: queue rows in queue order.
    listQueue: db.prepare<LoopFilter, QueueRow>(
      `SELECT * FROM queue WHERE @loop IS NULL OR loop = @loop ${QUEUE_ORDER} LIMIT @limit`,
    ),

    // in: at, type, loop, data -> changes 1; seq assigned, never reused (AUTOINCREMENT).
    insertEvent: db.prepare<Omit<EventRow, 'seq'>>(
      'INSERT INTO events (at, type, loop, data) VALUES (@at, @type, @loop, @data)',
    ),

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
    pruneItemResults: db.prepare<{ before: number }>(
      `DELETE FROM item_results WHERE finished_at < @before
         OR cycle_id IN (SELECT id FROM cycles WHERE started_at < @before)`,
    ),

    // in: before (ms) -> changes: cycle records started before it.
    pruneCycles: db.prepare<[number]>('DELETE FROM cycles WHERE started_at < ?'),

    // in: before (ms) -> changes: events at before it.
    pruneEvents: db.prepare<[number]>('DELETE FROM events WHERE at < ?'),
  };
}

export type Statements = ReturnType<typeof prepareStatements>;
