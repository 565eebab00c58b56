import { resolve } from 'node:path';
import type { Command } from 'commander';
import { BACKUP_DEFAULTS, type BackupSpec } from '../../backup/backup-spec.ts';
import { systemClock } from '../../time/system-clock.ts';
import { CliExit, type ConfigFlags, EXIT, loadCliConfig } from '../context.ts';
import { type Output, relativeTime, table } from '../output.ts';

interface BackupFlags extends ConfigFlags {
  json?: boolean;
  dir?: string;
  keep?: string;
  list?: boolean;
}

export function registerBackup(program: Command, output: Output): void {
  program
    .command('backup')
    .description('back up the SQLite store now (online, while the daemon runs), checked and rotated; --list shows them')
    .option('-c, --config <file>', 'config file (default: $AUTOLOOP_CONFIG or ./autoloop.yaml)')
    .option('--store <url>', 'store URL, overrides `store:` (a sqlite:// URL)')
    .option('--dir <dir>', "backup directory, overrides backup.dir (default: the config's, else .autoloop/backups)")
    .option('--keep <n>', 'backups kept, overrides backup.keep (default 7)')
    .option('--list', 'list the backups, newest first; take none')
    .option('--json', 'print as JSON')
    .addHelpText(
      'after',
      `
Uses SQLite's online backup API from a connection of its own: the daemon and
other processes keep writing. The copy is checked with PRAGMA integrity_check
before it is renamed into place as <store>-<UTC time>.db; then the oldest
beyond --keep go. Exit 1 when the backup fails (the previous ones are kept).
The daemon takes them on a schedule with \`backup: { every: 1h, keep: 7 }\`,
and restores the newest valid one at start when the store file is corrupt.`,
    )
    .action(async (flags: BackupFlags) => {
      const config = await loadCliConfig(flags, process.env, process.cwd());
      const [{ sqliteFile }, { backupSqlite, listBackups }] = await Promise.all([
        import('../../config/backup-schema.ts'),
        import('../../backup/sqlite-backup.ts'),
      ]);
      const db = sqliteFile(config.store);
      if (db === null) {
        throw new CliExit(
          EXIT.usage,
          `backup: expected a sqlite:// store, got "${config.store.split('?')[0]}" (Redis keeps its own RDB/AOF)`,
        );
      }
      const spec = backupSpec(flags, config.backup, config.dir);
      if (flags.list) {
        const files = listBackups(spec.dir, db).map((b) => ({ ...b, takenAt: new Date(b.at).toISOString() }));
        if (flags.json) output.out(JSON.stringify({ store: db, dir: spec.dir, backups: files }, null, 2));
        else if (files.length === 0) output.out(`no backups of ${db} in ${spec.dir}`);
        else
          output.out(
            table(
              ['file', 'taken at', 'bytes'],
              files.map((b) => [b.file, relativeTime(b.at, systemClock.now()), String(b.bytes)]),
            ),
          );
        return;
      }
      try {
        const result = await backupSqlite(db, spec, systemClock);
        if (flags.json) output.out(JSON.stringify({ store: db, ...result, keep: spec.keep }, null, 2));
        else {
          output.out(
            `backed up ${db} to ${result.file} (${result.bytes} bytes, ${result.durationMs} ms, integrity ok)`,
          );
          if (result.removed > 0) output.out(`removed ${result.removed} old backup(s); keeping ${spec.keep}`);
        }
      } catch (error) {
        throw new CliExit(EXIT.failed, (error as Error).message);
      }
    });
}

function backupSpec(flags: BackupFlags, configured: BackupSpec | null, dir: string): BackupSpec {
  let keep = configured?.keep ?? BACKUP_DEFAULTS.keep;
  if (flags.keep !== undefined) {
    keep = Number(flags.keep);
    if (!Number.isInteger(keep) || keep < 1) {
      throw new CliExit(EXIT.usage, `--keep: expected a whole number >= 1, got "${flags.keep}"`);
    }
  }
  return {
    everyMs: configured?.everyMs ?? BACKUP_DEFAULTS.everyMs,
    keep,
    maxAgeMs: configured?.maxAgeMs ?? null,
    dir: flags.dir ? resolve(process.cwd(), flags.dir) : (configured?.dir ?? resolve(dir, BACKUP_DEFAULTS.dir)),
  };
}
