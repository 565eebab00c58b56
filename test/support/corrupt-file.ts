import { closeSync, fstatSync, openSync, writeSync } from 'node:fs';

/**
 * Overwrites `pages` × 4096 bytes in the middle of `file` with a pattern
 * that is neither zeros nor a valid b-tree page: what a bad sector or a
 * stray write does to a database file.
 */
export function corruptMiddle(file: string, pages = 3): { offset: number; bytes: number } {
  const fd = openSync(file, 'r+');
  try {
    const size = fstatSync(fd).size;
    const bytes = Math.min(pages * 4096, Math.floor(size / 3));
    const offset = Math.floor(size / 2 / 4096) * 4096;
    const garbage = Buffer.alloc(bytes);
    for (let i = 0; i < bytes; i++) garbage[i] = (i * 131 + 7) & 0xff;
    writeSync(fd, garbage, 0, bytes, offset);
    return { offset, bytes };
  } finally {
    closeSync(fd);
  }
}
