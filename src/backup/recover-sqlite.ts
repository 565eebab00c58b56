import { copyFileSync, existsSync, linkSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { Logger } from '../core/logger.ts';
import type { Clock } from '../time/clock.ts';
import { fsyncDir, fsyncFile } from './atomic-file.ts';
import { BackupError } from './backup-error.ts';
import { listBackups } from './sqlite-backup.ts';
import { checkSqliteFile } from './sqlite-check.ts';

/** What {@link recoverSqlite} did. */
export type Recovery =
  | { readonly kind: 'ok' }
  /** No file yet: the store starts empty (a missing file is not restored: deleting it is how one starts afresh). */
  | { readonly kind: 'missing' }
  | {
      readonly kind: 'restored';
      /** The backup now in place of the store. */
      readonly backup: string;
      /** Where the corrupt file (and its -wal) were kept, for a post-mortem. */
      readonly corrupt: string;
      readonly detail: string;
      /** Backups skipped because they failed their own check, newest first. */
      readonly skipped: readonly string[];
    };

/**
 * Run before the store opens: checks the SQLite file at `dbPath` (open and
 * `PRAGMA quick_check`), and when it is corrupt or not a database replaces it
 * with the newest backup in `dir` that passes `integrity_check`. Each step
 * is safe to kill -9 at:
 *
 *   1. the backup is copied to a temp file beside the store and fsynced;
 *   2. the corrupt file gets a second name, `<store>.corrupt-<stamp>` (a hard
 *      link: nothing is copied, nothing is lost), its `-wal` is moved there
 *      too (a stale WAL must never be applied to the restored file), `-shm` goes;
 *   3. the temp file is renamed over the store and the directory fsynced.
 *
 * A kill before step 3 leaves the corrupt file in place; the next start
 * finds it corrupt again and restores again.
 *
 * Throws a {@link BackupError} when the file is corrupt and no backup passes
 * its check (the file is left as it is), and rethrows failures that are not
 * corruption (a lock held by another process, a permission).
 */
export function recoverSqlite(dbPath: string, dir: string, options: { logger: Logger; clock: Clock }): Recovery {
  removeStaleRestores(dbPath);
  const check = checkSqliteFile(dbPath, { mode: 'quick' });
  if (check.kind !== 'corrupt') return check;
  const { logger } = options;
  logger.error({ store: dbPath, detail: check.detail }, 'the store file is corrupt: restoring the newest valid backup');
  const skipped: string[] = [];
  for (const candidate of listBackups(dir, dbPath)) {
    const verdict = checkSqliteFile(candidate.file, { mode: 'full', readonly: true });
    if (verdict.kind === 'ok') {
      const corrupt = replaceWith(dbPath, candidate.file, options.clock.now());
      logger.warn(
        { store: dbPath, backup: candidate.file, takenAt: new Date(candidate.at).toISOString(), corrupt, skipped },
        `store restored from backup ${basename(candidate.file)}`,
      );
      return { kind: 'restored', backup: candidate.file, corrupt, detail: check.detail, skipped };
    }
    logger.warn(
      { backup: candidate.file, detail: verdict.kind === 'corrupt' ? verdict.detail : 'gone' },
      'backup failed its check; trying an older one',
    );
    skipped.push(candidate.file);
  }
  const tried =
    skipped.length === 0
      ? `no backup in ${dir}`
      : `none of the ${skipped.length} backups in ${dir} passes integrity_check`;
  throw new BackupError(
    `store ${dbPath} is corrupt (${check.detail}) and ${tried}; the file is left as it is: move it aside to start with an empty store, or copy a backup over it by hand`,
  );
}

function replaceWith(dbPath: string, backup: string, now: number): string {
  const tmp = `${dbPath}.restore-${process.pid}.tmp`;
  copyFileSync(backup, tmp);
  fsyncFile(tmp);
  const corrupt = `${dbPath}.corrupt-${new Date(now).toISOString().replace(/[-:.]/g, '')}`;
  if (!existsSync(corrupt)) linkSync(dbPath, corrupt);
  if (existsSync(`${dbPath}-wal`)) renameSync(`${dbPath}-wal`, `${corrupt}-wal`);
  rmSync(`${dbPath}-shm`, { force: true });
  rmSync(`${dbPath}-journal`, { force: true });
  fsyncDir(dirname(dbPath));
  renameSync(tmp, dbPath);
  fsyncDir(dirname(dbPath));
  return corrupt;
}

/** Temp copies of a restore that was killed. */
function removeStaleRestores(dbPath: string): void {
  const dir = dirname(dbPath);
  const prefix = `${basename(dbPath)}.restore-`;
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names)
    if (name.startsWith(prefix) && name.includes('.tmp')) rmSync(join(dir, name), { force: true });
}
