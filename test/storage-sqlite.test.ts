import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { openStore, redactStoreUrl } from '../src/storage/open-store.ts';
import { SqliteStore } from '../src/storage/sqlite/sqlite-store.ts';
import { MIGRATIONS } from '../src/storage/sqlite/statements.ts';
import { StoreError } from '../src/storage/store.ts';
import { storageContract } from './storage-contract.ts';

const root = mkdtempSync(join(tmpdir(), 'autoloop-sqlite-'));
after(() => rmSync(root, { recursive: true, force: true }));

/** A succeeded item's result in loop `l`, cycle `c`. */
const result = (key: string) => ({
  cycleId: 'c',
  loop: 'l',
  key,
  idempotencyKey: key,
  priority: 2,
  status: 'succeeded' as const,
  attempts: 1,
  startedAt: 1,
  finishedAt: 2,
  durationMs: 1,
  output: null,
});

let files = 0;
/** A fresh database file per call, in a directory that does not exist yet. */
function freshPath(): string {
  files++;
  return join(root, `case-${files}`, 'state.db');
}

storageContract('SqliteStore', async () => SqliteStore.open(freshPath()));
storageContract('SqliteStore (synchronous=full)', async () => SqliteStore.open(freshPath(), { synchronous: 'full' }));

describe('SqliteStore', () => {
  it('opens in WAL mode with busy_timeout 5000, synchronous NORMAL by default, at the schema version', async () => {
    const path = freshPath();
    const store = SqliteStore.open(path);
    assert.equal(store.description, `sqlite:${path}`);
    const db = new Database(path, { readonly: true });
    try {
      assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
      assert.equal(db.pragma('user_version', { simple: true }), MIGRATIONS.length);
    } finally {
      db.close();
    }
    await store.close();
  });

  it('checkpoints its WAL every 4,000 pages (SQLite default 1,000): 2,400 pages of commits stay in the WAL', async () => {
    const path = freshPath();
    const store = SqliteStore.open(path);
    const value = 'x'.repeat(7000); // a row of two overflow pages: each put commits ~4 pages
    for (let i = 0; i < 600; i++) await store.documents.put('wal', `k${i}`, value, { now: i });
    const walPages = statSync(`${path}-wal`).size / 4096;
    // With SQLite's default the file would have been checkpointed and its WAL reused from the start.
    assert.ok(walPages > 2000 && walPages < 4000, `expected 2,000-4,000 pages in the WAL, got ${walPages}`);
    assert.ok(statSync(path).size < 200 * 4096, `expected the file not checkpointed yet, got ${statSync(path).size} B`);
    const reader = SqliteStore.open(path); // another connection reads what the WAL holds
    assert.equal((await reader.documents.get('wal', 'k599'))?.value, value);
    await reader.close();
    await store.close();
    assert.ok(statSync(path).size > 600 * 7000, 'close checkpoints the WAL into the file');
  });

  it('keeps data across close and reopen, and reopening does not migrate again', async () => {
    const path = freshPath();
    const first = SqliteStore.open(path);
    await first.queue.enqueue(
      'alpha',
      'c1',
      [{ key: 'a', priority: 1, payload: { n: 1 }, idempotencyKey: 'k' }],
      null,
      5,
    );
    await first.events.append([{ at: 5, type: 'x', loop: null, data: null }]);
    await first.close();
    const second = SqliteStore.open(path);
    const [row] = await second.queue.list();
    assert.deepEqual(row?.payload, { n: 1 });
    assert.deepEqual(
      (await second.events.latest()).map((e) => e.data),
      [null],
    );
    await second.close();
  });

  it('keeps documents and journals across close and reopen; versions and seqs continue', async () => {
    const path = freshPath();
    const first = SqliteStore.open(path);
    const version = await first.documents.put('supervise', 'api', { restarts: 2 }, { now: 5 });
    await first.journals.append('decide/audit', ['a', 'b', 'c'], 5);
    await first.journals.trim('decide/audit', { keepLast: 0 });
    await first.close();
    const second = SqliteStore.open(path);
    assert.deepEqual(await second.documents.get('supervise', 'api'), { value: { restarts: 2 }, version, updatedAt: 5 });
    assert.equal(await second.documents.put('supervise', 'api', 'stale', { now: 6, expectVersion: 0 }), undefined);
    const next = await second.documents.put('supervise', 'api', { restarts: 3 }, { now: 6, expectVersion: version });
    assert.ok(next !== undefined && version !== undefined && next > version);
    assert.deepEqual(await second.journals.append('decide/audit', ['d'], 6), [4], 'trimmed seqs are not reused');
    await second.close();
  });

  it('never reuses a queue id, even after the queue drained and the file was reopened', async () => {
    const path = freshPath();
    const item = (k: string) => ({ key: k, priority: 2, payload: null, idempotencyKey: k });
    const claim = { owner: 'o', until: 1_000 };
    const first = SqliteStore.open(path);
    const early = await first.queue.enqueue('l', 'c', [item('a'), item('b')], claim, 1);
    for (const row of early) assert.equal(await first.queue.complete(row.id, 'o', result(row.key)), true);
    await first.close();
    const second = SqliteStore.open(path);
    const [late] = await second.queue.enqueue('l', 'c', [item('c')], claim, 2);
    assert.ok(late && !early.some((row) => row.id === late.id), 'a drained queue hands out a fresh id');
    // A stale completion for an early id must not touch the new row.
    assert.equal(await second.queue.complete(early[1]?.id ?? '', 'o', result('b')), false);
    assert.equal((await second.queue.list('l')).length, 1);
    await second.close();
  });

  it('upgrades a file at schema version 1 step by step, keeping its data', async () => {
    const path = freshPath();
    mkdirSync(dirname(path), { recursive: true });
    const old = new Database(path);
    old.pragma('journal_mode = WAL');
    old.exec(MIGRATIONS[0] as string);
    old.pragma('user_version = 1');
    old.prepare('INSERT INTO events (at, type, loop, data) VALUES (?, ?, ?, ?)').run(5, 'before-upgrade', null, 'null');
    old.close();

    const store = SqliteStore.open(path);
    try {
      assert.deepEqual(
        (await store.events.latest()).map((e) => e.type),
        ['before-upgrade'],
      );
      assert.equal((await store.leases.acquire('k', 'w', 1000, 0))?.token, 1);
      await store.instances.beat({ id: 'h:1:x', host: 'h', pid: 1, startedAt: 0, loops: [] }, 1000, 0);
      assert.deepEqual(await store.buckets.take('b', 1, 1000, 0), { granted: true, waitMs: 0 });
      assert.equal(await store.documents.put('recipe', 'k', { v: 1 }, { now: 0 }), 1);
      assert.deepEqual(await store.journals.append('recipe', ['x'], 0), [1]);
    } finally {
      await store.close();
    }
    const db = new Database(path, { readonly: true });
    assert.equal(db.pragma('user_version', { simple: true }), MIGRATIONS.length);
    db.close();
  });

  it('upgrades a file whose tokens live in lease_tokens: held leases hold, every token continues upward', async () => {
    const path = freshPath();
    mkdirSync(dirname(path), { recursive: true });
    const old = new Database(path);
    old.pragma('journal_mode = WAL');
    for (const sql of MIGRATIONS.slice(0, 6)) old.exec(sql);
    old.pragma('user_version = 6');
    // As the schema before one leases table wrote them: a row per held or expired lease, every key's
    // latest token in lease_tokens (kept when its lease was released).
    const lease = old.prepare('INSERT INTO leases VALUES (?, ?, ?, ?, ?)');
    lease.run('held', 'w1', 3, 0, 10_000); // held until 10 s
    lease.run('lapsed', 'w2', 2, 0, 500); // expired, not yet swept
    const token = old.prepare('INSERT INTO lease_tokens VALUES (?, ?)');
    for (const [key, latest] of [
      ['held', 3],
      ['lapsed', 2],
      ['freed', 5], // released: its lease row was gone, its token kept
    ] as const)
      token.run(key, latest);
    old
      .prepare(
        `INSERT INTO queue (loop, cycle_id, key, priority, payload, idempotency_key, enqueued_at, claim_owner, claim_until)
         VALUES ('l', 'c', 'held', 0, NULL, 'l/held', 0, 'w1', 60000)`,
      )
      .run();
    old.close();

    const store = SqliteStore.open(path);
    try {
      const { leases } = store;
      assert.deepEqual(
        [await leases.currentToken('held'), await leases.currentToken('lapsed'), await leases.currentToken('freed')],
        [3, 2, 5],
      );
      assert.deepEqual(await leases.list(1000), [
        { key: 'held', owner: 'w1', token: 3, acquiredAt: 0, expiresAt: 10_000 },
      ]);
      assert.equal(await leases.acquire('held', 'w3', 1000, 1000), undefined, 'a held lease stays held');
      assert.equal(await leases.renew('held', 'w1', 3, 20_000, 1000), 21_000, 'its holder renews it');
      assert.deepEqual(await leases.acquire('freed', 'w3', 1000, 1000), {
        key: 'freed',
        owner: 'w3',
        token: 6,
        acquiredAt: 1000,
        expiresAt: 2000,
      });
      assert.equal((await leases.acquire('lapsed', 'w3', 1000, 1000))?.tookOverFrom, 'w2');
      assert.equal(await leases.currentToken('lapsed'), 3);
      // The holder stalls past its expiry; a peer takes the key over with the next token.
      const next = await leases.acquire('held', 'w3', 1000, 30_000);
      assert.deepEqual([next?.token, next?.tookOverFrom], [4, 'w1']);
      // The stale holder's fenced write is refused, even once the newer holder released.
      assert.equal(await leases.release('held', 'w3', 4), true);
      const [row] = await store.queue.list('l');
      const stale = { key: 'held', token: 3 };
      assert.equal(await store.queue.complete(row!.id, 'w1', result('held'), stale, { releaseLease: true }), false);
      assert.equal((await leases.acquire('held', 'w1', 1000, 30_000))?.token, 5);
    } finally {
      await store.close();
    }
    const db = new Database(path, { readonly: true });
    const tables = db.prepare<[], { n: number }>("SELECT count(*) AS n FROM sqlite_master WHERE name = 'lease_tokens'");
    assert.equal(tables.get()?.n, 0);
    db.close();
  });

  it('a completed item is gone from every read and claim at once; its row is deleted in groups, at close, or by prune', async () => {
    const path = freshPath();
    const rows = () => {
      const db = new Database(path, { readonly: true });
      try {
        return db.prepare<[], { n: number }>('SELECT count(*) AS n FROM queue').get()?.n;
      } finally {
        db.close();
      }
    };
    const item = (k: string) => ({ key: k, priority: 2, payload: null, idempotencyKey: k });
    const claim = { owner: 'o', until: 1_000 };
    const store = SqliteStore.open(path);
    const keys = Array.from({ length: 70 }, (_, i) => `k${i}`);
    const queued = await store.queue.enqueue('l', 'c', keys.map(item), claim, 1);
    const [first] = queued;
    assert.equal(await store.queue.complete(first!.id, 'o', result('k0')), true);
    assert.equal(await store.queue.complete(first!.id, 'o', result('k0')), false, 'completed once only');
    assert.equal(await store.queue.release([first!.id], 'o'), 0, 'a completed item cannot be released');
    assert.deepEqual(await store.queue.extend([first!.id], 'o', 5_000), [], 'nor its claim extended');
    assert.deepEqual(await store.queue.claimStale('l', 'c2', { owner: 'p', until: 9_000 }, 2_000, 100), [
      ...queued.slice(1).map((row) => ({ ...row, cycleId: 'c2', claim: { owner: 'p', until: 9_000 } })),
    ]);
    assert.deepEqual(await store.queue.depth('l'), [{ loop: 'l', priority: 2, count: 69 }]);
    assert.equal((await store.queue.list('l')).length, 69);
    // Its idempotency key can be queued again at once, as a new item.
    const [again] = await store.queue.enqueue('l', 'c3', [item('k0')], null, 3);
    assert.ok(again && again.id !== first!.id);
    assert.equal(await store.queue.complete(first!.id, 'o', result('k0')), false, 'the old id stays spent');
    // The rows of 64 completed items are deleted together with a later write; the rest at close.
    for (const row of queued.slice(1)) assert.equal(await store.queue.complete(row.id, 'p', result(row.key)), true);
    assert.equal(await store.queue.complete(again.id, 'x', result('k0')), false);
    assert.ok((rows() ?? 0) < 70, `some completed rows deleted while running (${rows()} left)`);
    assert.equal((await store.queue.list('l')).length, 1);
    await store.close();
    assert.equal(rows(), 1, 'only the item queued again is left');

    // Rows a process left completed when it died go at the next prune.
    const crashed = SqliteStore.open(path);
    const [lost] = await crashed.queue.enqueue('l', 'c4', [item('z')], claim, 4);
    assert.equal(await crashed.queue.complete(lost!.id, 'o', result('z')), true); // never closed
    const next = SqliteStore.open(path);
    assert.equal(rows(), 2);
    await next.prune(0);
    assert.equal(rows(), 1);
    assert.equal((await next.queue.list('l')).length, 1);
    await next.close();
    await crashed.close();
  });

  it('keeps lease tokens across close and reopen', async () => {
    const path = freshPath();
    const first = SqliteStore.open(path);
    const lease = await first.leases.acquire('k', 'w', 1000, 0);
    await first.leases.release('k', 'w', lease!.token);
    await first.close();
    const second = SqliteStore.open(path);
    assert.equal(await second.leases.currentToken('k'), 1);
    assert.equal((await second.leases.acquire('k', 'w', 1000, 0))?.token, 2);
    await second.close();
  });

  it('refuses a file written by a newer schema, naming the file', async () => {
    const path = freshPath();
    await SqliteStore.open(path).close();
    const db = new Database(path);
    db.pragma(`user_version = ${MIGRATIONS.length + 1}`);
    db.close();
    assert.throws(
      () => SqliteStore.open(path),
      (error: unknown) => {
        assert.ok(error instanceof StoreError);
        assert.match(error.message, new RegExp(`^sqlite ${path}: open: schema version`));
        return true;
      },
    );
  });

  it('wraps driver errors in StoreError with the path, the operation and the SQLite code', async () => {
    const path = freshPath();
    const store = SqliteStore.open(path);
    const db = new Database(path);
    db.exec('DROP TABLE events');
    db.close();
    await assert.rejects(store.events.latest(), (error: unknown) => {
      assert.ok(error instanceof StoreError);
      assert.match(error.message, new RegExp(`^sqlite ${path}: events.latest: SQLITE_`));
      assert.ok(error.cause instanceof Error);
      return true;
    });
    await store.close();
  });
});

describe('openStore', () => {
  it('opens memory://', async () => {
    const store = await openStore('memory://');
    assert.equal(store.description, 'memory://');
    await store.close();
  });

  it('resolves sqlite://./relative paths against cwd, sqlite:///absolute paths as given', async () => {
    const cwd = join(root, 'cwd');
    const relative = await openStore('sqlite://./sub/state.db?synchronous=full', { cwd });
    assert.equal(relative.description, `sqlite:${join(cwd, 'sub', 'state.db')}`);
    await relative.close();
    const absolute = join(root, 'abs', 'x.db');
    const store = await openStore(`sqlite://${absolute}`);
    assert.equal(store.description, `sqlite:${absolute}`);
    await store.close();
  });

  it('rejects unknown schemes and options with a message naming what was given and what exists', async () => {
    await assert.rejects(openStore('ftp://:secret@localhost:6379/0'), (error: Error) => {
      assert.match(error.message, /unknown scheme "ftp:\/\/"; expected memory:\/\/, .*redis:\/\/host:6379\/0/);
      assert.match(error.message, /ftp:\/\/:\*\*\*@localhost/);
      assert.doesNotMatch(error.message, /secret/);
      return true;
    });
    await assert.rejects(
      openStore('postgres://db/x'),
      /"postgres:\/\/db\/x": unknown scheme.*memory:\/\/.*sqlite:\/\//,
    );
    await assert.rejects(openStore('./state.db'), /expected <scheme>:\/\//);
    await assert.rejects(openStore('sqlite://'), /expected a database file/);
    await assert.rejects(openStore('sqlite://./x.db?synchronous=off'), /got "off"/);
    await assert.rejects(openStore('sqlite://./x.db?journal=wal'), /unknown option "journal"/);
  });

  it('redactStoreUrl hides passwords and leaves other URLs alone', () => {
    assert.equal(redactStoreUrl('redis://:secret@host:6379/0'), 'redis://:***@host:6379/0');
    assert.equal(redactStoreUrl('redis://user:p@ss@host'), 'redis://user:***@host');
    assert.equal(redactStoreUrl('redis://host?password=x&db=1'), 'redis://host?password=***&db=1');
    assert.equal(redactStoreUrl('sqlite://./a@b.db'), 'sqlite://./a@b.db');
    assert.equal(redactStoreUrl('sqlite:///var/x.db'), 'sqlite:///var/x.db');
  });
});
