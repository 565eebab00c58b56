/**
 * Kill -9 at random points during backups and state writes (issue 15): a
 * process writes the SQLite store, takes a backup every few milliseconds
 * (keep 3) and rewrites the daemon's state file, all at once, and is
 * SIGKILLed at a random moment. Afterwards the store always opens and
 * passes its check, every file named as a backup passes integrity_check,
 * never more than `keep` exist, the state file is absent or whole JSON, and
 * the next backup clears what the killed one left.
 *
 * A quarter of the trials kill the start-up restore of a corrupt store
 * instead: afterwards the next check either finds the restored store or
 * restores again, and the store holds the newest valid backup's data.
 *
 * 20 trials in `npm test`, 200 under AUTOLOOP_LONG=1. The kill delays come
 * from a seeded generator; the seed is printed, and AUTOLOOP_KILL9_SEED
 * replays a run.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, describe, it } from 'node:test';
import { recoverSqlite } from '../src/backup/recover-sqlite.ts';
import { backupSqlite, listBackups } from '../src/backup/sqlite-backup.ts';
import { checkSqliteFile } from '../src/backup/sqlite-check.ts';
import { silentLogger } from '../src/core/logger.ts';
import { SqliteStore } from '../src/storage/sqlite/sqlite-store.ts';
import { systemClock } from '../src/time/system-clock.ts';
import { corruptMiddle } from './support/corrupt-file.ts';
import { LONG, PROJECT_ROOT } from './support/guarantees-children.ts';

const VICTIM = join(PROJECT_ROOT, 'test/fixtures/backup/crash-writer.mts');
const TRIALS = LONG ? 200 : 20;
const KEEP = 3;
const SEED = Number(process.env.AUTOLOOP_KILL9_SEED ?? Math.floor(Math.random() * 2 ** 31));
const root = mkdtempSync(join(tmpdir(), 'autoloop-backup-kill9-'));
const children = new Set<ChildProcess>();

after(() => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  rmSync(root, { recursive: true, force: true });
});

/** Park–Miller: the same seed, the same kill points. */
function seeded(seed: number): () => number {
  let state = seed % 2147483647 || 1;
  return () => {
    state = (state * 48271) % 2147483647;
    return state / 2147483647;
  };
}

/** Spawns the victim, waits for `ready`, sleeps `delayMs`, SIGKILLs it; resolves with what it printed. */
async function killAt(env: Record<string, string>, delayMs: number): Promise<string[]> {
  const child = spawn(process.execPath, ['--import', 'tsx', VICTIM], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.add(child);
  const lines: string[] = [];
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('victim not ready within 60 s')), 60_000);
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      lines.push(line);
      if (line === 'ready') {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      if (!lines.includes('ready')) reject(new Error(`victim exited before ready: ${code ?? signal}`));
    });
  });
  await new Promise((r) => setTimeout(r, delayMs));
  child.kill('SIGKILL');
  await exited;
  children.delete(child);
  assert.equal(child.signalCode, 'SIGKILL', 'the victim was still running when killed');
  return lines;
}

async function documentValue(db: string, key: string): Promise<unknown> {
  const store = SqliteStore.open(db);
  try {
    return (await store.documents.get('victim', key))?.value;
  } finally {
    await store.close();
  }
}

interface Tally {
  write: number;
  restore: number;
  tempLeft: number;
  backupsAtKill: Record<number, number>;
  restoreOutcome: Record<string, number>;
  maxDelayMs: number;
}

async function writeTrial(index: number, delayMs: number, tally: Tally): Promise<void> {
  const dir = join(root, `w${index}`);
  const db = join(dir, 'state.db');
  const backups = join(dir, 'backups');
  mkdirSync(dir, { recursive: true });
  await killAt({ MODE: 'write', DB: db, BACKUP_DIR: backups, KEEP: String(KEEP), STATE_DIR: dir }, delayMs);
  const at = `trial ${index} (kill ${delayMs} ms after ready, seed ${SEED})`;

  const found = listBackups(backups, db);
  tally.backupsAtKill[found.length] = (tally.backupsAtKill[found.length] ?? 0) + 1;
  assert.ok(found.length >= 1 && found.length <= KEEP, `${at}: ${found.length} backups, expected 1..${KEEP}`);
  for (const backup of found) {
    assert.deepEqual(
      checkSqliteFile(backup.file, { mode: 'full', readonly: true }),
      { kind: 'ok' },
      `${at}: ${backup.file}`,
    );
  }
  if (readdirSync(backups).some((name) => name.startsWith('.'))) tally.tempLeft += 1;

  const stateFile = join(dir, 'autoloop.json');
  if (existsSync(stateFile)) {
    const state = JSON.parse(readFileSync(stateFile, 'utf8')) as { pid: number };
    assert.equal(typeof state.pid, 'number', `${at}: state file`);
  }

  assert.equal(
    recoverSqlite(db, backups, { logger: silentLogger, clock: systemClock }).kind,
    'ok',
    `${at}: store check`,
  );
  const store = SqliteStore.open(db);
  await store.documents.put('victim', 'after', { ok: true }, { now: systemClock.now() });
  await store.close();
  assert.deepEqual(checkSqliteFile(db, { mode: 'full' }), { kind: 'ok' }, `${at}: store integrity`);

  await backupSqlite(db, { everyMs: 1, keep: KEEP, maxAgeMs: null, dir: backups }, systemClock);
  assert.deepEqual(
    readdirSync(backups).filter((name) => name.startsWith('.')),
    [],
    `${at}: the next backup removes what the killed one left`,
  );
  assert.ok(listBackups(backups, db).length <= KEEP, `${at}: retention`);
  rmSync(dir, { recursive: true, force: true });
}

/** A store of ~4 MB at generation 2 with backups of generations 1 and 2, then corrupted: copied for each restore trial. */
async function restoreTemplate(): Promise<{ db: string; backups: string }> {
  const dir = join(root, 'template');
  const db = join(dir, 'state.db');
  const backups = join(dir, 'backups');
  const spec = { everyMs: 1, keep: KEEP, maxAgeMs: null, dir: backups };
  for (const generation of [1, 2]) {
    const store = SqliteStore.open(db);
    for (let n = 0; n < 4000; n++) {
      await store.documents.put('victim', `k${n}`, { generation, pad: 'y'.repeat(800) }, { now: systemClock.now() });
    }
    await store.close();
    await backupSqlite(db, spec, systemClock);
    await new Promise((r) => setTimeout(r, 5));
  }
  const store = SqliteStore.open(db);
  await store.documents.put('victim', 'k0', { generation: 3 }, { now: systemClock.now() });
  await store.close();
  corruptMiddle(db, 8);
  return { db, backups };
}

async function restoreTrial(
  index: number,
  delayMs: number,
  template: { db: string; backups: string },
  tally: Tally,
): Promise<void> {
  const dir = join(root, `r${index}`);
  const db = join(dir, 'state.db');
  const backups = join(dir, 'backups');
  mkdirSync(backups, { recursive: true });
  copyFileSync(template.db, db);
  for (const b of listBackups(template.backups, template.db))
    copyFileSync(b.file, join(backups, b.file.split('/').pop() as string));
  const lines = await killAt({ MODE: 'restore', DB: db, BACKUP_DIR: backups, KEEP: String(KEEP) }, delayMs);
  const at = `restore trial ${index} (kill ${delayMs} ms after ready, seed ${SEED})`;
  const victimSaw = lines.includes('restored') ? 'finished' : 'killed before the end';
  const next = recoverSqlite(db, backups, { logger: silentLogger, clock: systemClock }).kind;
  assert.ok(next === 'ok' || next === 'restored', `${at}: ${next}`);
  if (victimSaw === 'finished') assert.equal(next, 'ok', `${at}: a finished restore is not done again`);
  tally.restoreOutcome[`${victimSaw}, then ${next}`] = (tally.restoreOutcome[`${victimSaw}, then ${next}`] ?? 0) + 1;
  assert.deepEqual(
    ((await documentValue(db, 'k0')) as { generation: number }).generation,
    2,
    `${at}: newest backup's data`,
  );
  assert.deepEqual(checkSqliteFile(db, { mode: 'full' }), { kind: 'ok' }, `${at}: restored store integrity`);
  rmSync(dir, { recursive: true, force: true });
}

describe('kill -9 during backups, state writes and restores', { timeout: LONG ? 3_600_000 : 600_000 }, () => {
  it(`${TRIALS} random kill points: the store always opens, or the newest valid backup is restored; retention keeps ${KEEP}`, async (t) => {
    const random = seeded(SEED);
    const tally: Tally = { write: 0, restore: 0, tempLeft: 0, backupsAtKill: {}, restoreOutcome: {}, maxDelayMs: 0 };
    const template = await restoreTemplate();
    const started = systemClock.monotonic();
    for (let i = 0; i < TRIALS; i++) {
      if (i % 4 === 3) {
        const delayMs = Math.floor(random() * 60);
        tally.restore += 1;
        await restoreTrial(i, delayMs, template, tally);
      } else {
        const delayMs = 20 + Math.floor(random() * 1_200);
        tally.maxDelayMs = Math.max(tally.maxDelayMs, delayMs);
        tally.write += 1;
        await writeTrial(i, delayMs, tally);
      }
    }
    const seconds = ((systemClock.monotonic() - started) / 1000).toFixed(1);
    t.diagnostic(`seed ${SEED}: ${tally.write} write trials, ${tally.restore} restore trials in ${seconds} s`);
    t.diagnostic(`killed with a backup's temp file on disk: ${tally.tempLeft}/${tally.write}`);
    t.diagnostic(`backups on disk at the kill (count: trials): ${JSON.stringify(tally.backupsAtKill)}`);
    t.diagnostic(`restore trials (victim, then next check): ${JSON.stringify(tally.restoreOutcome)}`);
    assert.equal(tally.write + tally.restore, TRIALS);
  });
});
