/**
 * (b) Items/s through the SQLite store with a record per item: one cycle of
 * N no-op items through the whole engine (queue write before the item runs,
 * result stored with the queue removal in one transaction, events batched),
 * beside plain better-sqlite3 inserting the same number of rows one
 * autocommit statement at a time, in the same run, on the same disk.
 * Leases are off for the three main figures (the "record per item");
 * a fourth figure shows the default, with a lease taken and released per item.
 * Each figure also gives the CPU time this process spent per item (user +
 * system), which a machine loaded by others stretches less than wall time,
 * and each SQLite cycle the item path's transactions per item (what a lease
 * per item changes: an item waits for its lease's commit before it starts).
 * The engine alone (in-memory store) runs at concurrency 1 with and without
 * a lease, to tell the engine's lease path from SQLite's commit, and at the
 * default concurrency (10) with a lease: the engine's share of the default
 * line, so what is left of that line's CPU is the SQLite store's.
 * The cycle's SQLite statements run alone too (no engine, 10 items per
 * transaction as at concurrency 10, without a lease), whole and without its
 * queue rows or its event rows: the floor under the cycle at concurrency 10
 * (at 100 more items share a transaction).
 * Durability: WAL with synchronous=NORMAL (a commit survives a process crash;
 * the last commits may be lost on power loss), autoloop's default.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { defineLoop } from '../src/config/define-loop.ts';
import { createRuntime } from '../src/runtime/runtime.ts';
import { MemoryStore } from '../src/storage/memory/memory-store.ts';
import { acquireLease, completeItem, PURGE_AT } from '../src/storage/sqlite/sqlite-item-writes.ts';
import { SqliteStore, WAL_AUTOCHECKPOINT_PAGES } from '../src/storage/sqlite/sqlite-store.ts';
import {
  type EventParams,
  type ItemResultParams,
  MIGRATIONS,
  prepareStatements,
} from '../src/storage/sqlite/statements.ts';
import type { Fence, Store } from '../src/storage/store.ts';
import { fmt, heading, line, now } from './report.ts';

const ITEMS = 20_000;
/** Leased items run after the timed ones on the SQLite-alone line, to count the WAL frames each writes. */
const FRAME_ITEMS = 1_000;

/** Wall time and this process's CPU time (user + system) of one timed part, in ms and µs. */
interface Timed {
  readonly ms: number;
  readonly cpuUs: number;
  /** Item-path transactions (SQLite store only): leases and completions asked in one turn share one. */
  readonly commits?: number;
}

function plainInserts(path: string): Timed {
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  // The store's checkpoint interval too: the ratio compares the item path, not a pragma.
  db.pragma(`wal_autocheckpoint = ${WAL_AUTOCHECKPOINT_PAGES}`);
  db.exec(
    'CREATE TABLE results (id TEXT PRIMARY KEY, cycle_id TEXT, key TEXT, status TEXT, output TEXT, finished_at INTEGER)',
  );
  const insert = db.prepare('INSERT INTO results VALUES (?, ?, ?, ?, ?, ?)');
  const start = now();
  const cpu = process.cpuUsage();
  for (let i = 0; i < ITEMS; i++) insert.run(`r${i}`, 'c1', `item-${i}`, 'succeeded', 'null', i);
  const spent = process.cpuUsage(cpu);
  const took = now() - start;
  db.close();
  return { ms: took, cpuUs: spent.user + spent.system };
}

/** A fresh database at `path` with the store's schema and statements, WAL and synchronous=NORMAL. */
function withStoreSchema(path: string): { db: Database.Database; sql: ReturnType<typeof prepareStatements> } {
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  for (const migration of MIGRATIONS) db.exec(migration);
  return { db, sql: prepareStatements(db) };
}

/**
 * The SQLite work alone of a leased item at concurrency 1, no engine: per
 * transaction what the store's item writes run, through the same functions
 * (src/storage/sqlite/sqlite-item-writes.ts), when one item finishes and the
 * next starts: the next key's lease taken, the finished item's result stored
 * fenced by its token, its queue row removed and its lease freed. Each item
 * needs its lease committed before it starts, so at concurrency 1 this is
 * one commit per item; it bounds what the engine can reach there.
 */
function leasedItemTransactions(path: string): Timed & { walFrames: number } {
  const { db, sql } = withStoreSchema(path);
  const enqueue = db.prepare(
    `INSERT INTO queue (loop, cycle_id, key, priority, payload, idempotency_key, enqueued_at, claim_owner, claim_until)
     VALUES ('bench', 'c1', ?, 0, NULL, ?, ?, 'me', ?)`,
  );
  const total = ITEMS + FRAME_ITEMS;
  db.transaction(() => {
    for (let i = 0; i < total; i++) enqueue.run(`item-${i}`, `c1:item-${i}`, i, Number.MAX_SAFE_INTEGER);
  })();
  const leases: Fence[] = [];
  let done: number[] = []; // queue rows marked done, deleted PURGE_AT at a time as the store does
  const item = db.transaction((i: number) => {
    if (i < total) leases[i] = acquireLease(sql, `bench/item-${i}`, 'me', 60_000, i) as Fence;
    const last = i - 1;
    if (last < 0) return;
    const completion = {
      seq: last + 1,
      owner: 'me',
      fence: leases[last],
      releaseLease: true,
      result: [
        'c1',
        'bench',
        `item-${last}`,
        `c1:item-${last}`,
        0,
        'succeeded',
        1,
        last,
        last,
        0,
        'null',
        null,
        null,
      ] satisfies ItemResultParams,
    };
    if (completeItem(sql, completion)) sql.insertItemResults.run([completion.result]);
    if (done.length >= PURGE_AT) {
      sql.purgeDone.run(JSON.stringify(done));
      done = [];
    }
    done.push(last + 1);
  });
  const start = now();
  const cpu = process.cpuUsage();
  for (let i = 0; i < ITEMS; i++) item.immediate(i);
  const spent = process.cpuUsage(cpu);
  const took = now() - start;
  // WAL frames (pages written) per item: the next items with the WAL emptied and no checkpoint.
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.pragma('wal_autocheckpoint = 0');
  for (let i = ITEMS; i <= total; i++) item.immediate(i);
  const [wal] = db.pragma('wal_checkpoint(PASSIVE)') as Array<{ log: number }>;
  db.close();
  return { ms: took, cpuUs: spent.user + spent.system, walFrames: (wal?.log ?? 0) / (FRAME_ITEMS + 1) };
}

/** Which of an unleased item's rows {@link unleasedItemTransactions} writes (its result row always). */
interface ItemRows {
  readonly queue: boolean;
  readonly events: boolean;
}

/** Items per transaction on the unleased SQLite-alone lines: the default concurrency's group commit. */
const UNLEASED_BATCH = 10;
/** Rounds of each unleased SQLite-alone line, alternating; each line gives its median round. */
const FLOOR_ROUNDS = 3;

/** The round of median wall time (its CPU time with it, which report's `median` of numbers would split off). */
function medianRound(rounds: readonly Timed[]): Timed {
  const sorted = [...rounds].sort((a, b) => a.ms - b.ms);
  const middle = sorted[Math.floor(sorted.length / 2)];
  if (middle === undefined) throw new Error('median of no rounds');
  return middle;
}

/** Events per transaction on those lines: what the runtime's event recorder writes at once under load. */
const EVENTS_PER_APPEND = 1_000;

/**
 * The SQLite work alone of an item without a lease at the default
 * concurrency, no engine, through the store's own statements
 * (src/storage/sqlite/statements.ts, sqlite-item-writes.ts): the cycle's
 * queue rows inserted in one transaction (as the plan is enqueued), then
 * per transaction 10 items marked done with their result rows (the group
 * commit at concurrency 10), the done rows deleted PURGE_AT at a time, and
 * an `item.succeeded` event row per item appended 1,000 per transaction.
 * `rows` leaves the queue rows or the event rows out, to show what each
 * costs: the floor under the cycle at concurrency 10, before the engine runs
 * at all (at concurrency 100 more items share a transaction).
 */
function unleasedItemTransactions(path: string, rows: ItemRows): Timed {
  const { db, sql } = withStoreSchema(path);
  db.pragma(`wal_autocheckpoint = ${WAL_AUTOCHECKPOINT_PAGES}`);
  const cycleId = 'c-0f3a9b2e-1234-4567-89ab-0123456789ab';
  const seqs: number[] = [];
  const enqueue = db.transaction(() => {
    for (let i = 0; i < ITEMS; i++) {
      const key = `item-${i}`;
      const row = sql.insertQueued.run('bench', cycleId, key, 2, null, `${cycleId}:${key}`, 0, 'me', 1e12);
      seqs.push(Number(row.lastInsertRowid));
    }
  });
  let done: number[] = [];
  const complete = db.transaction((from: number) => {
    // As the store: the rows earlier batches marked done go, PURGE_AT or more at a time, with this batch.
    const purge = done.length >= PURGE_AT ? done : null;
    if (purge) done = [];
    const results: ItemResultParams[] = [];
    for (let i = from; i < from + UNLEASED_BATCH; i++) {
      const key = `item-${i}`;
      const idempotencyKey = `${cycleId}:${key}`;
      const result: ItemResultParams = [
        cycleId,
        'bench',
        key,
        idempotencyKey,
        2,
        'succeeded',
        1,
        i,
        i,
        0,
        'null',
        null,
        null,
      ];
      const seq = seqs[i];
      if (!rows.queue) results.push(result);
      else if (completeItem(sql, { seq, owner: 'me', fence: undefined, releaseLease: false, result })) {
        results.push(result);
        done.push(seq as number);
      }
    }
    sql.insertItemResults.run(results);
    if (purge) sql.purgeDone.run(JSON.stringify(purge));
  });
  const append = db.transaction((events: EventParams[]) => sql.insertEvents.run(events));
  let events: EventParams[] = [];
  const start = now();
  const cpu = process.cpuUsage();
  if (rows.queue) enqueue.immediate();
  for (let i = 0; i < ITEMS; i += UNLEASED_BATCH) {
    complete.immediate(i);
    if (!rows.events) continue;
    for (let j = i; j < i + UNLEASED_BATCH; j++) {
      const data = { loop: 'bench', cycleId, key: `item-${j}`, attempts: 1, durationMs: 0 };
      events.push([j, 'item.succeeded', 'bench', JSON.stringify(data)]);
    }
    if (events.length >= EVENTS_PER_APPEND) {
      append.immediate(events);
      events = [];
    }
  }
  const spent = process.cpuUsage(cpu);
  const took = now() - start;
  db.close();
  return { ms: took, cpuUs: spent.user + spent.system };
}

/** `path` undefined: the in-memory store, so the figure is the engine's own cost per item. */
async function throughAutoloop(path: string | undefined, concurrency: number, lease: boolean): Promise<Timed> {
  const loop = defineLoop({
    name: 'bench',
    trigger: { manual: true },
    observe: () => Array.from({ length: ITEMS }, (_, i) => `item-${i}`),
    act: () => null,
    policies: { concurrency, lease },
  });
  const sqlite = path === undefined ? undefined : SqliteStore.open(path);
  const store: Store = sqlite ?? new MemoryStore();
  const runtime = createRuntime({ loops: [loop], store });
  await runtime.start({ schedule: false });
  const start = now();
  const cpu = process.cpuUsage();
  const commitsBefore = sqlite?.itemWriteCommits ?? 0;
  const record = await runtime.run('bench');
  const spent = process.cpuUsage(cpu);
  const took = now() - start;
  const commits = sqlite ? sqlite.itemWriteCommits - commitsBefore : undefined;
  await runtime.stop();
  await store.close();
  if (record.counts.succeeded !== ITEMS) throw new Error(`expected ${ITEMS} items, got ${record.counts.succeeded}`);
  return { ms: took, cpuUs: spent.user + spent.system, ...(commits === undefined ? {} : { commits }) };
}

export async function benchSqliteThroughput(): Promise<Record<string, number>> {
  heading(`(b) SQLite store: ${fmt(ITEMS)} items, one record each (WAL, synchronous=NORMAL)`);
  const dir = mkdtempSync(join(tmpdir(), 'autoloop-bench-'));
  try {
    const plain = plainInserts(join(dir, 'plain.db'));
    const plainRate = (ITEMS / plain.ms) * 1000;
    const plainCpu = plain.cpuUs / ITEMS;
    line(
      `plain better-sqlite3, one autocommit INSERT per row   ${fmt(plainRate)} rows/s   CPU ${fmt(plainCpu)} µs/row`,
    );
    const result: Record<string, number> = { plainRowsPerS: plainRate, plainCpuUsPerRow: plainCpu };
    const report = (label: string, name: string, timed: Timed, goal: string) => {
      const rate = (ITEMS / timed.ms) * 1000;
      const cpu = timed.cpuUs / ITEMS;
      Object.assign(result, { [`${name}ItemsPerS`]: rate, [`${name}CpuUsPerItem`]: cpu });
      if (timed.commits !== undefined) result[`${name}CommitsPerItem`] = timed.commits / ITEMS;
      const commits = timed.commits === undefined ? '' : `   ${fmt(timed.commits / ITEMS, 3)} commits/item`;
      line(
        `${label}  ${fmt(rate)} items/s   ratio to plain ${fmt(rate / plainRate, 2)}   CPU ${fmt(cpu)} µs/item (plain/autoloop ${fmt(plainCpu / cpu, 2)})${commits}   (goal ${goal})`,
      );
    };
    for (const concurrency of [1, 10, 100]) {
      const timed = await throughAutoloop(join(dir, `autoloop-${concurrency}.db`), concurrency, false);
      const label = `autoloop cycle, concurrency ${String(concurrency).padEnd(3)} (plan+queue+act+result+events)`;
      report(label, `autoloop_c${concurrency}`, timed, '>= 0.8');
    }
    // The cycle's SQLite statements alone, no engine: the floor under the concurrency 10 line above, and what
    // its queue rows and its event rows each add.
    const floors: Array<[string, string, ItemRows]> = [
      ['its queue, result and event rows', 'unleasedSqliteOnly_c10', { queue: true, events: true }],
      ['without its event rows          ', 'unleasedSqliteOnlyNoEvents_c10', { queue: true, events: false }],
      ['without its queue rows          ', 'unleasedSqliteOnlyNoQueue_c10', { queue: false, events: true }],
    ];
    // Three rounds, the variants alternating, each line its median round: one run of each moved its share
    // by a quarter from one process run to the next.
    const rounds = floors.map(() => [] as Timed[]);
    for (let round = 0; round < FLOOR_ROUNDS; round++) {
      for (const [i, [, name, rows]] of floors.entries()) {
        rounds[i]?.push(unleasedItemTransactions(join(dir, `${name}-${round}.db`), rows));
      }
    }
    for (const [i, [what, name]] of floors.entries()) {
      const label = `SQLite alone, 10 unleased items per transaction, ${what} (no engine, median of ${FLOOR_ROUNDS})`;
      report(label, name, medianRound(rounds[i] ?? []), 'the floor under the cycle at concurrency 10');
    }
    // The same cycle on the in-memory store: what the engine itself costs per item (CPU), without SQLite.
    const engine = await throughAutoloop(undefined, 10, false);
    report(
      'autoloop cycle, concurrency 10, in-memory store (the engine alone, no SQLite)  ',
      'engineMemory_c10',
      engine,
      'the engine share of the figures above',
    );
    // The engine alone at concurrency 1, without and with a lease per item: what the lease path costs in
    // the engine itself, apart from the commit per item it needs on SQLite (the commits/item figures).
    for (const lease of [false, true]) {
      const alone = await throughAutoloop(undefined, 1, lease);
      const label = `autoloop cycle, concurrency 1, in-memory store, ${lease ? 'lease per item' : 'no lease     '} (the engine alone)`;
      report(
        label,
        `engineMemory${lease ? 'Leased' : ''}_c1`,
        alone,
        'the engine share of the lines with and without a lease',
      );
    }
    const floor = leasedItemTransactions(join(dir, 'leased-floor.db'));
    report(
      'SQLite alone, one transaction per leased item (concurrency 1, no engine)      ',
      'leasedSqliteOnly_c1',
      floor,
      'the bound for concurrency 1 with a lease',
    );
    result.leasedSqliteOnlyWalFramesPerItem = floor.walFrames;
    line(`  WAL frames (pages) written per leased item on that line: ${fmt(floor.walFrames, 2)}`);
    // The engine alone at the default concurrency with a lease per item: the engine's share of the
    // default line below (concurrency 10, lease per item); the rest of that line's CPU is SQLite's.
    const leasedEngine = await throughAutoloop(undefined, 10, true);
    report(
      'autoloop cycle, concurrency 10, in-memory store, lease per item (the engine alone)',
      'engineMemoryLeased_c10',
      leasedEngine,
      'the engine share of the default line below',
    );
    // The default: every item also takes and frees its key's lease, in the same transactions as the
    // results of the items before it (src/storage/sqlite/sqlite-item-writes.ts).
    for (const concurrency of [1, 10]) {
      const timed = await throughAutoloop(join(dir, `autoloop-leased-${concurrency}.db`), concurrency, true);
      const label = `autoloop cycle, concurrency ${String(concurrency).padEnd(3)} with a per-key lease per item (the default)`;
      report(label, `autoloopLeased_c${concurrency}`, timed, '>= 0.6');
    }
    return result;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
