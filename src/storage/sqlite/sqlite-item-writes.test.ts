import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import type { ItemResult } from '../../core/cycle-record.ts';
import { queueId, toItemResultParams } from './rows.ts';
import { SqliteItemWrites } from './sqlite-item-writes.ts';
import { SqliteStore } from './sqlite-store.ts';
import { prepareStatements, type RunStatements } from './statements.ts';

const OWNER = 'host:1:a';

function result(key: string): ItemResult {
  return {
    cycleId: 'c1',
    loop: 'l',
    key,
    idempotencyKey: `l/${key}`,
    priority: 0,
    status: 'succeeded',
    attempts: 1,
    startedAt: 1,
    finishedAt: 2,
    durationMs: 1,
    output: null,
  };
}

describe('SqliteItemWrites', () => {
  let dir: string;
  let db: Database.Database;
  /** How many write transactions the item writes committed. */
  let commits: number;
  let writes: SqliteItemWrites;
  let sql: ReturnType<typeof prepareStatements>;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'autoloop-item-writes-'));
    const path = join(dir, 'state.db');
    await SqliteStore.open(path).close(); // creates the schema
    db = new Database(path);
    sql = prepareStatements(db);
    commits = 0;
    // The real database, with every transaction's BEGIN IMMEDIATE counted.
    const counting = new Proxy(db, {
      get(target, prop) {
        if (prop !== 'transaction') return Reflect.get(target, prop, target);
        return (fn: (...args: never[]) => unknown) => {
          const tx = target.transaction(fn);
          return Object.assign((...args: never[]) => tx(...args), {
            immediate: (...args: never[]) => {
              commits++;
              return tx.immediate(...args);
            },
          });
        };
      },
    });
    const run: RunStatements = (_op, fn) => fn(sql);
    writes = new SqliteItemWrites(counting, sql, run);
  });

  afterEach(() => {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  function enqueueClaimed(key: string): string {
    const row = sql.insertQueued.run('l', 'c1', key, 0, null, `l/${key}`, 1, OWNER, 100_000);
    return queueId(row.lastInsertRowid);
  }

  it('commits the results of finished items and the leases of the next ones in one transaction', async () => {
    const first = await Promise.all(['a', 'b'].map((key) => writes.acquire(`l/${key}`, OWNER, 10_000, 10)));
    assert.equal(commits, 1);
    const ids = ['a', 'b'].map(enqueueClaimed);
    // One turn: both results (each freeing its lease) and the leases of the next two items.
    const [doneA, doneB, leaseC, leaseD] = await Promise.all([
      writes.complete(completion(ids[0] as string, first[0]?.token as number, 'a')),
      writes.complete(completion(ids[1] as string, first[1]?.token as number, 'b')),
      writes.acquire('l/c', OWNER, 10_000, 20),
      writes.acquire('l/d', OWNER, 10_000, 20),
    ]);
    assert.equal(commits, 2);
    assert.equal(writes.commits, 2, 'the count the SQLite bench reports per item is the transactions run');
    assert.deepEqual([doneA, doneB], [true, true]);
    assert.deepEqual([leaseC?.key, leaseD?.key], ['l/c', 'l/d']);
    assert.deepEqual(
      sql.listLeases.all({ now: 20, prefix: null }).map((row) => row.key),
      ['l/c', 'l/d'],
    );
    assert.equal(sql.listItemResults.all('c1').length, 2);
  });

  it('runs the writes of one transaction in the order asked: a release before an acquire of its key frees it', async () => {
    const held = await writes.acquire('l/k', OWNER, 10_000, 10);
    assert.ok(held);
    const [released, again, renewed] = await Promise.all([
      writes.release('l/k', OWNER, held.token),
      writes.acquire('l/k', 'host:2:b', 10_000, 11),
      writes.renew('l/k', OWNER, held.token, 10_000, 12),
    ]);
    assert.equal(released, true);
    assert.equal(again?.owner, 'host:2:b');
    assert.ok((again?.token ?? 0) > held.token);
    assert.equal(renewed, undefined, 'the old holder cannot renew a lease that changed hands');
    assert.equal(commits, 2);
  });

  it('refuses a result fenced by a token that a lease taken earlier in the same transaction superseded', async () => {
    const old = await writes.acquire('l/k', OWNER, 1, 10);
    assert.ok(old);
    const id = enqueueClaimed('k');
    const [taken, stored] = await Promise.all([
      writes.acquire('l/k', 'host:2:b', 10_000, 20), // the old lease expired at 11
      writes.complete(completion(id, old.token, 'k')),
    ]);
    assert.ok(taken);
    assert.equal(stored, false);
    assert.equal(sql.listItemResults.all('c1').length, 0);
  });
});

function completion(id: string, token: number, key: string) {
  return {
    seq: Number(id),
    owner: OWNER,
    result: toItemResultParams(result(key)),
    fence: { key: `l/${key}`, token },
    releaseLease: true,
  };
}
