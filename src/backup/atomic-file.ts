import { closeSync, copyFileSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * Replaces `path` with `data` so that a reader, or the next start after a
 * kill -9 or a power cut, sees either the old content or the new, never
 * half of it: write a temp file beside it, fsync it, rename it over `path`
 * (atomic on POSIX), fsync the directory so the rename itself is durable.
 * The temp file carries the pid, so two writers never share one.
 *
 * @example
 * writeFileAtomic('.autoloop/autoloop.json', JSON.stringify(state));
 */
export function writeFileAtomic(path: string, data: string | Uint8Array, mode = 0o644): void {
  const tmp = `${path}.${process.pid}.tmp`;
  const fd = openSync(tmp, 'w', mode);
  try {
    writeSync(fd, typeof data === 'string' ? Buffer.from(data, 'utf8') : data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameInto(tmp, path);
}

/** Copies `source` over `dest` the same way: a synced temp copy, then one rename. */
export function copyFileAtomic(source: string, dest: string): void {
  const tmp = `${dest}.${process.pid}.tmp`;
  copyFileSync(source, tmp);
  fsyncFile(tmp);
  renameInto(tmp, dest);
}

/** Renames `tmp` over `dest` and syncs their directory; removes `tmp` when the rename fails. */
export function renameInto(tmp: string, dest: string): void {
  try {
    renameSync(tmp, dest);
  } catch (error) {
    rmSync(tmp, { force: true });
    throw error;
  }
  fsyncDir(dirname(dest));
}

export function fsyncFile(path: string): void {
  const fd = openSync(path, 'r+');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Makes a rename or unlink in `dir` durable. Some filesystems refuse to fsync a directory: that is not an error. */
export function fsyncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    // EISDIR/EINVAL/EPERM on some platforms and filesystems: nothing more can be done.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
