/**
 * One runtime file per running instance, so the CLI finds every process
 * started from a config: in the foreground (`start --foreground`, `npm
 * start`, systemd, a container) or as a background daemon.
 *
 *   <config dir>/.autoloop/instances/<pid>.json   {@link InstanceFile}; mode 0600 in a 0700 directory
 *
 * Life of a file:
 *   written   by the instance once its HTTP server listens (the real port is known)
 *   removed   by the instance when it exits, on every path that runs code
 *             (SIGTERM, SIGINT, POST /shutdown, a failed start)
 *   stale     its pid is gone (SIGKILL, crash, reboot) or names a process that is
 *             not autoloop: {@link listInstances} removes it when it reads the directory
 *
 * Why the file holds the admin token: the CLI runs as the same user, reads
 * the file and sends the token, so `pause`/`resume`/`service` work without
 * the operator copying it by hand. Only that user (and root) can read it
 * (0600 file, 0700 directory); anyone who can is also able to signal the
 * process, so the file grants nothing new. A local socket would do the same
 * with a second listener to start, stop and clean up; the file is already
 * there for discovery.
 */
import { chmodSync, mkdirSync, readdirSync, readFileSync, rmdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { writeFileAtomic } from '../backup/atomic-file.ts';
import { type DaemonState, isAlive } from './daemon-files.ts';

/** What a running instance says about itself. A superset of the daemon's state file. */
export interface InstanceFile extends DaemonState {
  /** The runtime's instance id, as in the store's heartbeats (`host:pid:id`). */
  instance: string;
  /** The HTTP bind address and the port actually bound (null without HTTP). */
  host: string | null;
  port: number | null;
  /** The pidfile it claimed (a background daemon, or `--pid-file`), else null. */
  pidFile: string | null;
  /** The admin token it accepts ('' when admin routes are off). Never printed. */
  token: string;
}

/** `<config dir>/.autoloop/instances`. */
export function instancesDir(configFile: string): string {
  return join(dirname(configFile), '.autoloop', 'instances');
}

function fileOf(configFile: string, pid: number): string {
  return join(instancesDir(configFile), `${pid}.json`);
}

/** Writes this instance's file (atomically, mode 0600) and returns its path. */
export function writeInstanceFile(record: InstanceFile): string {
  const dir = instancesDir(record.config);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  // mkdir's mode applies only when it creates the directory, and only through the umask.
  chmodSync(dir, 0o700);
  const path = fileOf(record.config, record.pid);
  writeFileAtomic(path, `${JSON.stringify(record, null, 2)}\n`, 0o600);
  return path;
}

/**
 * Removes the file of `pid` under `configFile`'s directory, if any, then the
 * `instances` directory and the `.autoloop` one above it when they are left
 * empty (an instance whose store and log live elsewhere leaves nothing behind).
 */
export function removeInstanceFile(configFile: string, pid: number): void {
  rmSync(fileOf(configFile, pid), { force: true });
  const dir = instancesDir(configFile);
  for (const empty of [dir, dirname(dir)]) {
    try {
      rmdirSync(empty);
    } catch {
      return; // not empty (another instance, the store, the log) or already gone
    }
  }
}

/**
 * The live instances of `configFile`, oldest first. Stale files (their pid
 * is gone) and garbled ones are removed on the way. Never throws for a
 * missing directory or unreadable files.
 */
export function listInstances(configFile: string): InstanceFile[] {
  const dir = instancesDir(configFile);
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => /^\d+\.json$/.test(n));
  } catch {
    return [];
  }
  const live: InstanceFile[] = [];
  for (const name of names) {
    const pid = Number(name.slice(0, -'.json'.length));
    const record = readInstance(join(dir, name));
    if (record?.pid === pid && isAlive(pid)) live.push(record);
    else if (record !== undefined) removeQuietly(join(dir, name));
  }
  return live.sort((a, b) => a.startedAt.localeCompare(b.startedAt) || a.pid - b.pid);
}

/** Cleaning up is a courtesy: a file this user may not remove is left for its owner. */
function removeQuietly(path: string): void {
  try {
    rmSync(path, { force: true });
  } catch {
    // EACCES/EPERM: another user's directory.
  }
}

/** undefined: unreadable now (another user's file, or gone); null: garbled. */
function readInstance(path: string): InstanceFile | null | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
  try {
    const parsed = JSON.parse(text) as InstanceFile;
    return typeof parsed.pid === 'number' && typeof parsed.config === 'string' ? parsed : null;
  } catch {
    // Half-written files cannot happen (atomic rename), so this one is garbage.
    return null;
  }
}
