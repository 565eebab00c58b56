import type { Logger } from '../core/logger.ts';
import { silentLogger } from '../core/logger.ts';
import type { Runnable } from '../lifecycle/runnable.ts';
import { backgroundTask } from '../lifecycle/runnable.ts';
import type { EventBus } from '../observability/events.ts';
import type { Clock } from '../time/clock.ts';
import { systemClock } from '../time/system-clock.ts';
import './backup-events.ts';
import type { BackupSpec } from './backup-spec.ts';
import { type Recovery, recoverSqlite } from './recover-sqlite.ts';
import { type BackupResult, backupSqlite, listBackups } from './sqlite-backup.ts';

/** `/status`'s `backup`. */
export interface BackupStatus {
  readonly dir: string;
  readonly everyMs: number;
  readonly keep: number;
  readonly last: { readonly file: string; readonly at: string; readonly bytes: number } | null;
  readonly lastError: string | null;
  /** The backup the store was restored from at this start, or null. */
  readonly restoredFrom: string | null;
}

/**
 * The backups of one SQLite store in a running daemon: the start-up check
 * and restore ({@link recover}, which the runtime calls before it opens the
 * store), and the scheduled backup as a runnable (`backup`), which also
 * puts the restore of this start into the event log once it is open.
 *
 * Schedule: at start, a backup at once when the newest is older than
 * `every` (a daemon restarted more often than `every` still gets backups),
 * else when it comes due; then every `every`. A failed backup is an event
 * (`backup.failed`) and a log line; the next is tried at the next interval.
 *
 * @example
 * const backups = new StoreBackups({ dbPath: '/srv/.autoloop/state.db', spec, logger });
 * createRuntime({ loops, store: 'sqlite:///srv/.autoloop/state.db',
 *   beforeStoreOpen: () => backups.recover(), runnables: (host) => [backups.runnable(host.bus)] });
 */
export class StoreBackups {
  readonly #db: string;
  readonly #spec: BackupSpec;
  readonly #clock: Clock;
  readonly #logger: Logger;
  #recovery: Recovery | null = null;
  #last: (BackupResult & { at: number }) | null = null;
  #lastError: string | null = null;

  constructor(options: { dbPath: string; spec: BackupSpec; clock?: Clock; logger?: Logger }) {
    this.#db = options.dbPath;
    this.#spec = options.spec;
    this.#clock = options.clock ?? systemClock;
    this.#logger = options.logger ?? silentLogger;
  }

  /** Checks the store file and restores the newest valid backup when it is corrupt (see {@link recoverSqlite}). */
  recover(): Recovery {
    this.#recovery = recoverSqlite(this.#db, this.#spec.dir, { logger: this.#logger, clock: this.#clock });
    return this.#recovery;
  }

  /** One backup now. */
  async backup(): Promise<BackupResult> {
    const result = await backupSqlite(this.#db, this.#spec, this.#clock);
    this.#last = { ...result, at: this.#clock.now() };
    this.#lastError = null;
    return result;
  }

  /** The scheduled backups as the runnable `backup`. */
  runnable(bus: EventBus): Runnable {
    return backgroundTask('backup', (signal) => this.#run(signal, bus), {
      ready: () => {
        const r = this.#recovery;
        if (r?.kind === 'restored') {
          bus.emit('backup.restored', { store: this.#db, backup: r.backup, corrupt: r.corrupt, detail: r.detail });
        }
      },
    });
  }

  status(): BackupStatus {
    const last = this.#last;
    return {
      dir: this.#spec.dir,
      everyMs: this.#spec.everyMs,
      keep: this.#spec.keep,
      last: last && { file: last.file, at: new Date(last.at).toISOString(), bytes: last.bytes },
      lastError: this.#lastError,
      restoredFrom: this.#recovery?.kind === 'restored' ? this.#recovery.backup : null,
    };
  }

  async #run(signal: AbortSignal, bus: EventBus): Promise<void> {
    const newest = listBackups(this.#spec.dir, this.#db)[0];
    let waitMs = newest ? Math.max(0, newest.at + this.#spec.everyMs - this.#clock.now()) : 0;
    while (!signal.aborted) {
      try {
        await this.#clock.sleep(waitMs, signal);
      } catch {
        return;
      }
      waitMs = this.#spec.everyMs;
      try {
        const result = await this.backup();
        bus.emit('backup.completed', {
          file: result.file,
          bytes: result.bytes,
          durationMs: result.durationMs,
          removed: result.removed,
        });
        this.#logger.info({ file: result.file, bytes: result.bytes, durationMs: result.durationMs }, 'store backed up');
      } catch (error) {
        this.#lastError = (error as Error).message;
        bus.emit('backup.failed', { error: this.#lastError });
        this.#logger.error({ err: error }, 'store backup failed; the previous backups are kept');
      }
    }
  }
}
