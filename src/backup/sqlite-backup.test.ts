import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { capturingLogger } from '../../test/support/capturing-logger.ts';
import { corruptMiddle } from '../../test/support/corrupt-file.ts';
import { SqliteStore } from '../storage/sqlite/sqlite-store.ts';
import { VirtualClock } from '../time/virtual-clock.ts';
import { BackupError } from './backup-error.ts';
import type { BackupSpec } from './backup-spec.ts';
import { recoverSqlite } from './recover-sqlite.ts';
import { backupSqlite, listBackups } from './sqlite-backup.ts';
import { checkSqliteFile } from './sqlite-check.ts';

let dir: string;
let db: string;
let spec: BackupSpec;
let clock: VirtualClock;

beforeEach(() => {
  clock = new VirtualClock({ now: Date.UTC(2025, 0, 2, 3, 4, 5, 678) });
  dir = mkdtempSync(join(tmpdir(), 'autoloop-backup-'));
  db = join(dir, 'state.db');
  spec = { everyMs: 3_600_000, keep: 3, maxAgeMs: null, dir: join(dir, 'backups') };
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** Writes `count` documents `n0..` with value `{ n, generation }`, and closes the store (checkpointing its WAL). */
async function fill(count: number, generation: number): Promise<void> {
  const store = SqliteStore.open(db);
  for (let n = 0; n < count; n++) {
    await store.documents.put('t', `n${n}`, { n, generation, pad: 'x'.repeat(50) }, { now: clock.now() });
  }
  await store.close();
}

async function generationOf(path: string): Promise<number | undefined> {
  const store = SqliteStore.open(path);
  try {
    return ((await store.documents.get('t', 'n0'))?.value as { generation: number } | undefined)?.generation;
  } finally {
    await store.close();
  }
}

describe('backupSqlite', () => {
  it('writes a single-file copy that passes integrity_check, named by its time', async () => {
    await fill(50, 1);
    const result = await backupSqlite(db, spec, clock);
    assert.equal(result.file, join(spec.dir, 'state-20250102T030405678Z.db'));
    assert.ok(result.bytes > 0);
    assert.deepEqual(checkSqliteFile(result.file, { mode: 'full', readonly: true }), { kind: 'ok' });
    // A plain rollback-journal file: no -wal or -shm beside it, no temp left.
    assert.deepEqual(readdirSync(spec.dir), ['state-20250102T030405678Z.db']);
    assert.equal(await generationOf(result.file), 1);
  });

  it('keeps the newest `keep`: never more than `keep` files at any step', async () => {
    await fill(10, 1);
    for (let i = 0; i < 6; i++) {
      await clock.advance(60_000);
      const result = await backupSqlite(db, spec, clock);
      assert.ok(listBackups(spec.dir, db).length <= 3);
      assert.equal(listBackups(spec.dir, db)[0]?.file, result.file);
    }
    assert.equal(listBackups(spec.dir, db).length, 3);
  });

  it('maxAge removes old backups and keeps the new one', async () => {
    await fill(5, 1);
    await backupSqlite(db, spec, clock);
    await clock.advance(3 * 86_400_000);
    const result = await backupSqlite(db, { ...spec, maxAgeMs: 86_400_000 }, clock);
    assert.equal(result.removed, 1);
    assert.deepEqual(
      listBackups(spec.dir, db).map((b) => b.file),
      [result.file],
    );
  });

  it('removes the temp files of a backup killed by a process that is gone', async () => {
    await fill(5, 1);
    await backupSqlite(db, spec, clock);
    const stale = join(spec.dir, '.state-20250101T000000000Z.999999999.tmp');
    writeFileSync(stale, 'half a backup');
    writeFileSync(`${stale}-journal`, '');
    await clock.advance(1_000);
    await backupSqlite(db, spec, clock);
    assert.equal(existsSync(stale), false);
    assert.equal(existsSync(`${stale}-journal`), false);
  });

  it('fails with a BackupError naming the store when it cannot be read', async () => {
    await assert.rejects(backupSqlite(join(dir, 'none.db'), spec, clock), (error: Error) => {
      assert.ok(error instanceof BackupError);
      assert.match(error.message, /none\.db/);
      return true;
    });
    assert.deepEqual(readdirSync(spec.dir), []);
  });
});

describe('recoverSqlite', () => {
  it('leaves a healthy store alone, and a missing one missing', async () => {
    const { logger } = capturingLogger();
    assert.deepEqual(recoverSqlite(db, spec.dir, { logger, clock }), { kind: 'missing' });
    await fill(5, 1);
    assert.deepEqual(recoverSqlite(db, spec.dir, { logger, clock }), { kind: 'ok' });
  });

  it('restores the newest valid backup over a corrupted store, names it in the log, keeps the corrupt file', async () => {
    await fill(400, 1);
    await backupSqlite(db, spec, clock);
    await fill(400, 2);
    await clock.advance(60_000);
    const newest = await backupSqlite(db, spec, clock);
    await fill(400, 3);
    corruptMiddle(db);
    assert.equal(checkSqliteFile(db, { mode: 'quick' }).kind, 'corrupt');

    const { logger, lines } = capturingLogger();
    const recovery = recoverSqlite(db, spec.dir, { logger, clock });
    assert.equal(recovery.kind, 'restored');
    assert.equal(recovery.kind === 'restored' && recovery.backup, newest.file);
    assert.ok(lines.some((l) => l.level === 'error' && l.message.startsWith('the store file is corrupt')));
    assert.ok(lines.some((l) => l.message === `store restored from backup ${newest.file.split('/').pop()}`));
    assert.equal(await generationOf(db), 2);
    assert.ok(recovery.kind === 'restored' && existsSync(recovery.corrupt));
  });

  it('skips a backup that fails its check and takes the next older one', async () => {
    await fill(400, 1);
    await backupSqlite(db, spec, clock);
    await fill(400, 2);
    await clock.advance(60_000);
    const bad = await backupSqlite(db, spec, clock);
    corruptMiddle(bad.file);
    corruptMiddle(db);
    const { logger } = capturingLogger();
    const recovery = recoverSqlite(db, spec.dir, { logger, clock });
    assert.equal(recovery.kind === 'restored' && recovery.skipped[0], bad.file);
    assert.equal(await generationOf(db), 1);
  });

  it('without a valid backup throws a BackupError and leaves the file as it is', async () => {
    await fill(400, 1);
    corruptMiddle(db);
    const { logger } = capturingLogger();
    assert.throws(
      () => recoverSqlite(db, spec.dir, { logger, clock }),
      (error: Error) => error instanceof BackupError && /is corrupt .* no backup in/.test(error.message),
    );
    assert.equal(checkSqliteFile(db, { mode: 'quick' }).kind, 'corrupt');
  });

  it('a file that is not a database at all counts as corrupt', async () => {
    await fill(5, 1);
    await backupSqlite(db, spec, clock);
    writeFileSync(db, 'this is not a database, it is a text file of some length '.repeat(200));
    const { logger } = capturingLogger();
    assert.equal(recoverSqlite(db, spec.dir, { logger, clock }).kind, 'restored');
    assert.equal(await generationOf(db), 1);
  });
});
