/**
 * `backup:`: scheduled backups of the SQLite store and the restore at start
 * (seed 003's "automatic state backup and recovery"). Validated with
 * defaults here (stage 2), resolved to a frozen {@link BackupSpec} by
 * {@link resolveBackup} (stage 3).
 *
 * Seed 003's keys map onto it as: `enable_persistence` → the section being
 * there, `backup_retention_days: 7` → `maxAge: 7d` (with `keep` as a
 * count cap).
 */
import { isAbsolute, resolve } from 'node:path';
import type { z } from 'zod';
import { BACKUP_DEFAULTS, type BackupSpec } from '../backup/backup-spec.ts';
import type { ConfigIssue } from './config-error.ts';
import { durationMs } from './schema.ts';
import { zod } from './zod-on-use.ts';

/** `backup:`'s schema, built when a config file is checked (zod loads then, not at import). */
export function backupSchema() {
  const z = zod();
  return z
    .union([
      z.literal(false),
      z.strictObject({
        every: durationMs({ minMs: 1_000 }).default(BACKUP_DEFAULTS.everyMs),
        keep: z.number().int().min(1).max(1000).default(BACKUP_DEFAULTS.keep),
        maxAge: durationMs({ minMs: 1_000 }).optional(),
        dir: z.string().trim().min(1).default(BACKUP_DEFAULTS.dir),
      }),
    ])
    .optional();
}

export type FileBackup = z.output<ReturnType<typeof backupSchema>>;

/** Stage 3: the directory absolute against the config's; null when there is no `backup:`. Only a sqlite store has backups. */
export function resolveBackup(
  backup: FileBackup,
  store: string,
  dir: string,
  file: string,
): { spec: BackupSpec | null; issues: ConfigIssue[] } {
  if (backup === undefined || backup === false) return { spec: null, issues: [] };
  if (!store.startsWith('sqlite://')) {
    const scheme = store.split(':')[0];
    return {
      spec: null,
      issues: [
        {
          file,
          path: 'backup',
          expected: 'a sqlite store (backups copy the SQLite file)',
          got: `a ${scheme}:// store`,
          hint: 'remove `backup:` (Redis has its own persistence: RDB/AOF), or use store: sqlite://./.autoloop/state.db',
        },
      ],
    };
  }
  return {
    spec: Object.freeze({
      everyMs: backup.every,
      keep: backup.keep,
      maxAgeMs: backup.maxAge ?? null,
      dir: isAbsolute(backup.dir) ? backup.dir : resolve(dir, backup.dir),
    }),
    issues: [],
  };
}

/** The file path of a `sqlite://` URL the config loader made absolute, else null. */
export function sqliteFile(store: string): string | null {
  const match = /^sqlite:\/\/([^?]*)/.exec(store);
  if (!match || match[1] === ':memory:') return null;
  return decodeURIComponent(match[1] as string);
}
