/**
 * Scheduled backups of the SQLite store (seed 003's "automatic state backup
 * and recovery"), as the daemon runs them: stage 3 of `backup:` in the
 * config (`config/backup-schema.ts`), every duration in ms, the directory
 * absolute.
 */
export interface BackupSpec {
  /** How often a backup is taken while the daemon runs (and at start when the newest is older). */
  readonly everyMs: number;
  /** Backups kept: the oldest go once a new one has passed its check. */
  readonly keep: number;
  /** Backups older than this go too (the newest is always kept); null: only `keep` counts. */
  readonly maxAgeMs: number | null;
  /** Where backups are written (absolute). */
  readonly dir: string;
}

export const BACKUP_DEFAULTS = Object.freeze({
  everyMs: 3_600_000,
  keep: 7,
  dir: './.autoloop/backups',
});
