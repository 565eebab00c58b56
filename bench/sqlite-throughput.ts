/**
 * (b) Items/s through the SQLite store with a record per item: one cycle of
 * N no-op items through the whole engine (queue write before the item runs,
 * result stored with the queue removal in one transaction, events batched),
 * beside plain better-sqlite3 inserting the same number of rows one
 * autocommit statement at a time, in the same run, on the same disk.
 * Leases are off for the three main figures (the "record per item");
 * a fourth figure shows the default, with a lease taken and released per item.
 * Durability: WAL with synchronous=NORMAL (a commit survives a process crash;
 * the last commits may be lost on power loss), autoloop's default.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { defineLoop } from '../src/config/define-loop.ts';
import { createRuntime } from '../src/runtime/runtime.ts';
import { SqliteStore } from '../src/storage/sqlite/sqlite-store.ts';
import { fmt, heading, line, now } from './report.ts';

const ITEMS = 20_000;

function plainInserts(path: string): number {
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.exec(
    'CREATE TABLE results (id TEXT PRIMARY KEY, cycle_id TEXT, key TEXT, status TEXT, output TEXT, finished_at INTEGER)',
  );
  const insert = db.prepare('INSERT INTO results VALUES (?, ?, ?, ?, ?, ?)');
  const start = now();
  for (let i = 0; i < ITEMS; i++) insert.run(`r${i}`, 'c1', `item-${i}`, 'succeeded', 'null', i);
  const took = now() - start;
  db.close();
  return took;
}

async function throughAutoloop(path: string, concurrency: number, lease: boolean): Promise<number> {
  const loop = defineLoop({
    name: 'bench',
    trigger: { manual: true },
    observe: () => Array.from({ length: ITEMS }, (_, i) => `item-${i}`),
    act: () => null,
    policies: { concurrency, lease },
  });
  const store = SqliteStore.open(path);
  const runtime = createRuntime({ loops: [loop], store });
  await runtime.start({ schedule: false });
  const start = now();
  const record = await runtime.run('bench');
  const took = now() - start;
  await runtime.stop();
  await store.close();
  if (record.counts.succeeded !== ITEMS) throw new Error(`expected ${ITEMS} items, got ${record.counts.succeeded}`);
  return took;
}

export async function benchSqliteThroughput(): Promise<Record<string, number>> {
  heading(`(b) SQLite store: ${fmt(ITEMS)} items, one record each (WAL, synchronous=NORMAL)`);
  const dir = mkdtempSync(join(tmpdir(), 'autoloop-bench-'));
  try {
    const plainMs = plainInserts(join(dir, 'plain.db'));
    const plainRate = (ITEMS / plainMs) * 1000;
    line(`plain better-sqlite3, one autocommit INSERT per row   ${fmt(plainRate)} rows/s`);
    const result: Record<string, number> = { plainRowsPerS: plainRate };
    for (const concurrency of [1, 10, 100]) {
      const ms = await throughAutoloop(join(dir, `autoloop-${concurrency}.db`), concurrency, false);
      const rate = (ITEMS / ms) * 1000;
      result[`autoloopItemsPerS_c${concurrency}`] = rate;
      line(
        `autoloop cycle, concurrency ${String(concurrency).padEnd(3)} (plan+queue+act+result+events)  ${fmt(rate)} items/s   ratio to plain ${fmt(rate / plainRate, 2)}   (goal >= 20,000 items/s)`,
      );
    }
    // The default: every item also takes and releases its key's lease (two more transactions).
    const leasedMs = await throughAutoloop(join(dir, 'autoloop-leased.db'), 10, true);
    const leasedRate = (ITEMS / leasedMs) * 1000;
    result.autoloopLeasedItemsPerS_c10 = leasedRate;
    line(
      `autoloop cycle, concurrency 10, with a per-key lease per item (the default)  ${fmt(leasedRate)} items/s   ratio to plain ${fmt(leasedRate / plainRate, 2)}`,
    );
    return result;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
