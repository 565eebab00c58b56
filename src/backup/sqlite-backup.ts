import { mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import Database from 'better-sqlite3';
import type { Clock } from '../time/clock.ts';
import { fsyncDir, fsyncFile, renameInto } from './atomic-file.ts';
import { BackupError } from './backup-error.ts';
import type { BackupSpec } from './backup-spec.ts';
import { checkSqliteFile } from './sqlite-check.ts';

/**
 * One backup of a SQLite store, as the steps go (each safe to kill -9 at):
 *
 *   1. stale temp files of dead processes are removed;
 *   2. the online backup API (better-sqlite3's `db.backup`) copies the live
 *      database page by page into `.<base>-<stamp>.<pid>.tmp` in the backup
 *      directory, from a read-only connection of its own: writers go on;
 *   3. the copy is switched to a rollback journal (a single file, no -wal),
 *      checked with `PRAGMA integrity_check`, and fsynced;
 *   4. old backups beyond `keep - 1` (or older than `maxAge`, never the
 *      newest) are removed, so that after step 5 at most `keep` exist;
 *   5. the temp file is renamed to `<base>-<stamp>.db`, the directory fsynced.
 *
 * A kill before step 5 leaves a temp file (removed by the next backup) and
 * the old backups; only files that passed the check ever carry a backup's name.
 */
export interface BackupResult {
  readonly file: string;
  readonly bytes: number;
  readonly durationMs: number;
  /** Old backups removed by rotation. */
  readonly removed: number;
}

/** One backup file, as {@link listBackups} finds it. */
export interface BackupFile {
  readonly file: string;
  /** When it was taken (from its name), epoch ms. */
  readonly at: number;
  readonly bytes: number;
}

export async function backupSqlite(dbPath: string, spec: BackupSpec, clock: Clock): Promise<BackupResult> {
  const started = clock.monotonic();
  const base = baseName(dbPath);
  mkdirSync(spec.dir, { recursive: true });
  removeStaleTemps(spec.dir, base);
  const now = clock.now();
  const stamp = stampOf(now);
  const tmp = join(spec.dir, `.${base}-${stamp}.${process.pid}.tmp`);
  let source: Database.Database | undefined;
  try {
    source = new Database(dbPath, { readonly: true, fileMustExist: true });
    source.pragma('busy_timeout = 5000');
    await source.backup(tmp);
  } catch (error) {
    removeTemp(tmp);
    throw new BackupError(`backup of ${dbPath} to ${spec.dir} failed: ${(error as Error).message}`, { cause: error });
  } finally {
    source?.close();
  }
  try {
    singleFile(tmp);
    const check = checkSqliteFile(tmp, { mode: 'full' });
    if (check.kind !== 'ok') {
      throw new BackupError(
        `backup of ${dbPath} failed its integrity check (${check.kind === 'corrupt' ? check.detail : 'missing'}); kept the previous backups`,
      );
    }
    fsyncFile(tmp);
  } catch (error) {
    removeTemp(tmp);
    throw error instanceof BackupError
      ? error
      : new BackupError(`backup of ${dbPath}: ${(error as Error).message}`, { cause: error });
  }
  const removed = rotateBackups(spec.dir, base, {
    keep: spec.keep - 1,
    maxAgeMs: spec.maxAgeMs,
    now,
    keepNewest: false,
  });
  const file = join(spec.dir, `${base}-${stamp}.db`);
  renameInto(tmp, file);
  return { file, bytes: statSync(file).size, durationMs: Math.round(clock.monotonic() - started), removed };
}

/** The backups of the store `dbPath` in `dir`, newest first (temp files are never listed). */
export function listBackups(dir: string, dbPath: string): BackupFile[] {
  const base = baseName(dbPath);
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const pattern = new RegExp(`^${escapeRegExp(base)}-(\\d{8}T\\d{9}Z)\\.db$`);
  const files: BackupFile[] = [];
  for (const name of names) {
    const match = pattern.exec(name);
    if (!match) continue;
    const file = join(dir, name);
    try {
      files.push({ file, at: parseStamp(match[1] as string), bytes: statSync(file).size });
    } catch {
      // removed meanwhile by another rotation
    }
  }
  return files.sort((a, b) => b.at - a.at || b.file.localeCompare(a.file));
}

/**
 * Removes backups beyond the newest `keep`, and those older than `maxAgeMs`
 * (the newest one stays when `keepNewest`). Returns how many went.
 */
export function rotateBackups(
  dir: string,
  base: string,
  options: { keep: number; maxAgeMs: number | null; now: number; keepNewest: boolean },
): number {
  const files = listBackups(dir, join(dir, `${base}.db`));
  let removed = 0;
  files.forEach((backup, index) => {
    const tooMany = index >= options.keep;
    const tooOld = options.maxAgeMs !== null && options.now - backup.at > options.maxAgeMs;
    if (!(tooMany || tooOld) || (options.keepNewest && index === 0)) return;
    rmSync(backup.file, { force: true });
    removed += 1;
  });
  if (removed > 0) fsyncDir(dir);
  return removed;
}

/** `state.db` → `state`: the prefix of its backups' names. */
export function baseName(dbPath: string): string {
  return basename(dbPath).replace(/\.(db|sqlite3?)$/i, '');
}

/** A sortable UTC stamp: `20250102T030405678Z`. */
function stampOf(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:.]/g, '');
}

function parseStamp(stamp: string): number {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})(\d{3})Z$/.exec(stamp);
  if (!m) return 0;
  return Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]), Number(m[7]));
}

/** A backup of a WAL database says "WAL" in its header; make it a plain single file that opens anywhere. */
function singleFile(path: string): void {
  const db = new Database(path, { fileMustExist: true });
  try {
    db.pragma('journal_mode = DELETE');
  } finally {
    db.close();
  }
}

/** Temp files (and their journals) left by a backup that was killed: those of pids no longer alive. */
function removeStaleTemps(dir: string, base: string): void {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  const pattern = new RegExp(`^\\.${escapeRegExp(base)}-\\d{8}T\\d{9}Z\\.(\\d+)\\.tmp(-journal|-wal|-shm)?$`);
  for (const name of names) {
    const pid = Number(pattern.exec(name)?.[1]);
    if (!pid || pid === process.pid || alive(pid)) continue;
    rmSync(join(dir, name), { force: true });
  }
}

function removeTemp(tmp: string): void {
  for (const suffix of ['', '-journal', '-wal', '-shm']) rmSync(`${tmp}${suffix}`, { force: true });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
