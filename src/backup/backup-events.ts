/**
 * Backup events, added to the typed {@link EventMap} by declaration
 * merging: the event log records them, `/events` streams them, webhooks
 * receive the ones a target lists.
 */
declare module '../observability/events.ts' {
  interface EventMap {
    /** A backup was written and passed `PRAGMA integrity_check`. */
    'backup.completed': { file: string; bytes: number; durationMs: number; removed: number };
    /** A scheduled backup failed; the previous backups are untouched. */
    'backup.failed': { error: string };
    /**
     * At start the store file was corrupt or unreadable and was replaced by
     * the newest valid backup (emitted once the event log is open).
     */
    'backup.restored': { store: string; backup: string; corrupt: string; detail: string };
  }
}

export const BACKUP_EVENT_NAMES = ['backup.completed', 'backup.failed', 'backup.restored'] as const;
