import { existsSync } from 'node:fs';
import Database from 'better-sqlite3';

/** What {@link checkSqliteFile} found. */
export type SqliteFileCheck =
  | { readonly kind: 'ok' }
  | { readonly kind: 'missing' }
  /** Not a database, malformed, or the check reported problems (`detail`: the first lines). */
  | { readonly kind: 'corrupt'; readonly detail: string };

/** SQLite result codes that mean the file itself is bad (not busy, not a permission). */
const CORRUPT_CODES = /^SQLITE_(CORRUPT|NOTADB)/;

/**
 * Opens `path` and runs `PRAGMA quick_check` (`mode: 'quick'`, O(pages),
 * for the start-up check) or `integrity_check` (`'full'`, also checks
 * indexes against tables, for backups). The primary is opened read-write so
 * a WAL left by a crash is recovered exactly as the store would; a backup
 * may be opened read-only.
 *
 * Returns `corrupt` only for a file that is bad: SQLITE_CORRUPT,
 * SQLITE_NOTADB, or a check that does not answer "ok". Any other failure (a
 * lock held too long, a permission) is thrown: restoring over a healthy
 * file another process holds would lose its writes.
 */
export function checkSqliteFile(
  path: string,
  options: { mode: 'quick' | 'full'; readonly?: boolean },
): SqliteFileCheck {
  if (!existsSync(path)) return { kind: 'missing' };
  let db: Database.Database | undefined;
  try {
    db = new Database(path, { fileMustExist: true, readonly: options.readonly ?? false });
    db.pragma('busy_timeout = 5000');
    const rows = db.pragma(options.mode === 'quick' ? 'quick_check(20)' : 'integrity_check(20)') as Array<
      Record<string, string>
    >;
    const lines = rows.map((row) => String(Object.values(row)[0]));
    return lines.length === 1 && lines[0] === 'ok' ? { kind: 'ok' } : { kind: 'corrupt', detail: lines.join('; ') };
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (typeof code === 'string' && CORRUPT_CODES.test(code)) {
      return { kind: 'corrupt', detail: `${code}: ${(error as Error).message}` };
    }
    throw error;
  } finally {
    try {
      db?.close();
    } catch {
      // closing a connection to a malformed file may fail too; nothing is held
    }
  }
}
