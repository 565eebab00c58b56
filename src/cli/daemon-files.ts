/**
 * The files a background daemon keeps beside its config, and what they say.
 *
 *   <config dir>/.autoloop/autoloop.pid   the daemon's pid, written by the daemon itself
 *   <config dir>/.autoloop/autoloop.json  {@link DaemonState}: pid, url (the real port), start time
 *   <config dir>/.autoloop/autoloop.log   its log (the config's log.file, rotated by the logger;
 *                                         with log.file: false, its stdout and stderr)
 *   <config dir>/.autoloop/autoloop.out   its own stdout and stderr when the logger writes the log
 *                                         file (a start-up error, a crash), appended
 *
 * States, as {@link readDaemon} reads them:
 *   stopped  no pidfile
 *   stale    a pidfile whose process is gone (crash, SIGKILL, reboot): safe to replace
 *   running  a pidfile whose process is alive; `state` is its autoloop.json, or
 *            null while it is still starting (the file is written once HTTP listens)
 * The daemon removes both files when it exits; a stale pair is replaced by the next start.
 * These files serve `start`'s one-daemon-per-pidfile rule; how the CLI finds
 * every running instance, daemon or foreground, is instance-files.ts.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { writeFileAtomic } from '../backup/atomic-file.ts';
import { CliExit, EXIT } from './context.ts';

export interface DaemonPaths {
  readonly pidFile: string;
  /** Next to the pidfile: `autoloop.pid` -> `autoloop.json`. */
  readonly stateFile: string;
  /** `--log-file`, else the config's `log.file`, else `<config dir>/.autoloop/autoloop.log`. */
  readonly logFile: string;
  /** Next to the pidfile: `autoloop.out`, the daemon's stdout and stderr when its logger writes `logFile`. */
  readonly outFile: string;
}

/** What a running daemon says about itself in its state file. */
export interface DaemonState {
  pid: number;
  /** Base URL of its HTTP surface with the port actually bound, e.g. `http://127.0.0.1:41234`. */
  url: string | null;
  startedAt: string;
  /** Where its output goes, when `start` redirected it (null in the foreground). */
  logFile: string | null;
  config: string;
  /** Its shutdown grace: `stop` waits at least this long (plus a margin) before SIGKILL. */
  graceMs: number;
}

export type DaemonStatus =
  | { kind: 'stopped'; paths: DaemonPaths }
  | { kind: 'stale'; paths: DaemonPaths; pid: number }
  | { kind: 'running'; paths: DaemonPaths; pid: number; state: DaemonState | null };

/**
 * Where the daemon files of `configFile` live: `--pid-file`/`--log-file`
 * when given (relative to `cwd`), else `.autoloop/` beside the config file;
 * the log at the config's `log.file` when it has one (`configuredLog`).
 */
export function daemonPaths(
  configFile: string,
  flags: { pidFile?: string; logFile?: string },
  cwd: string,
  configuredLog?: string | null,
): DaemonPaths {
  const dir = join(dirname(configFile), '.autoloop');
  const pidFile = flags.pidFile ? resolve(cwd, flags.pidFile) : join(dir, 'autoloop.pid');
  const base = join(dirname(pidFile), basename(pidFile).replace(/\.pid$/, ''));
  const logFile = flags.logFile ? resolve(cwd, flags.logFile) : (configuredLog ?? join(dir, 'autoloop.log'));
  return { pidFile, stateFile: `${base}.json`, logFile, outFile: `${base}.out` };
}

/** Reads the pidfile and the state file and checks the process. Never throws for missing or garbled files. */
export function readDaemon(paths: DaemonPaths): DaemonStatus {
  const pid = readPid(paths.pidFile);
  if (pid === undefined) return { kind: 'stopped', paths };
  if (!isAlive(pid)) return { kind: 'stale', paths, pid };
  const state = readState(paths.stateFile);
  return { kind: 'running', paths, pid, state: state?.pid === pid ? state : null };
}

function readPid(file: string): number | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8').trim();
  } catch {
    return undefined;
  }
  const pid = Number(text);
  // A garbled pidfile names no process; treat it as stale (pid 0 is never alive here).
  return Number.isInteger(pid) && pid > 0 ? pid : 0;
}

function readState(file: string): DaemonState | null {
  try {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as DaemonState;
    return typeof parsed.pid === 'number' ? parsed : null;
  } catch {
    return null;
  }
}

/**
 * Whether `pid` is a live autoloop process. A zombie is dead; on Linux a
 * live pid whose command line does not mention autoloop is a pid reused
 * after a reboot or crash, so the pidfile is stale.
 */
export function isAlive(pid: number): boolean {
  if (pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    if (/^\d+ \(.*\) Z/s.test(stat)) return false;
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return cmdline === '' || cmdline.includes('autoloop');
  } catch {
    return true; // no /proc (or hidden): trust kill(0)
  }
}

/**
 * Writes `pid` into the pidfile, exclusively. Another live daemon's pidfile
 * ends the start with exit 1; a stale one is replaced (its pid is returned
 * so the caller can say so).
 */
export function claimPidFile(paths: DaemonPaths, pid: number): { replaced: number | null } {
  mkdirSync(dirname(paths.pidFile), { recursive: true });
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = openSync(paths.pidFile, 'wx', 0o644);
      writeSync(fd, `${pid}\n`);
      fsyncSync(fd);
      closeSync(fd);
      return { replaced: null };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const current = readDaemon(paths);
    if (current.kind === 'running' && current.pid !== pid) {
      throw new CliExit(EXIT.failed, `already running (pid ${current.pid}); pidfile ${paths.pidFile}`);
    }
    if (current.kind !== 'stopped') {
      const stale = current.pid;
      rmSync(paths.stateFile, { force: true });
      writeFileAtomic(paths.pidFile, `${pid}\n`);
      return { replaced: stale === pid ? null : stale };
    }
    // Removed between our attempt and the read: try the exclusive create again.
  }
  throw new CliExit(EXIT.failed, `could not claim the pidfile ${paths.pidFile}: it keeps changing`);
}

/** Writes the state file atomically and durably (temp file, fsync, rename): a reader, or a start after a crash, never sees half of it. */
export function writeState(paths: DaemonPaths, state: DaemonState): void {
  writeFileAtomic(paths.stateFile, `${JSON.stringify(state, null, 2)}\n`);
}

/** Removes the pidfile and state file if they still name `pid` (a newer daemon's files are left alone). */
export function removeDaemonFiles(paths: DaemonPaths, pid: number): void {
  if (readPid(paths.pidFile) !== pid) return;
  rmSync(paths.stateFile, { force: true });
  rmSync(paths.pidFile, { force: true });
}

/** Removes a stale pidfile and state file. */
export function removeStaleFiles(paths: DaemonPaths): void {
  rmSync(paths.stateFile, { force: true });
  rmSync(paths.pidFile, { force: true });
}
