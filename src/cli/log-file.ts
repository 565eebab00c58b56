import { closeSync, fstatSync, openSync, readSync, statSync } from 'node:fs';
import { systemClock } from '../time/system-clock.ts';

/** At most this much of a file's end is read for a tail: a tail is for people, not a full export. */
const TAIL_WINDOW_BYTES = 1024 * 1024;

/**
 * The last `lines` lines of a text file (of what was written after byte
 * `from`, when given) and the offset its end had, or undefined when the
 * file does not exist. Reads at most the last MiB.
 */
export function tailLines(file: string, lines: number, from = 0): { lines: string[]; end: number } | undefined {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return undefined;
  }
  try {
    const { size } = fstatSync(fd);
    const start = Math.max(Math.min(from, size), size - TAIL_WINDOW_BYTES);
    const buffer = Buffer.alloc(size - start);
    readSync(fd, buffer, 0, buffer.length, start);
    const all = buffer.toString('utf8').split('\n');
    if (all.at(-1) === '') all.pop();
    // A window cut short of `from` starts mid-line: drop that fragment.
    if (start > from) all.shift();
    return { lines: lines === 0 ? [] : all.slice(-lines), end: size };
  } finally {
    closeSync(fd);
  }
}

/**
 * Calls `onLine` for every complete line appended to `file` after `offset`,
 * polling every `intervalMs`, until `signal` aborts. A file that shrinks
 * (truncated, or rotated and recreated) is read again from its start.
 */
export async function followLines(
  file: string,
  offset: number,
  onLine: (line: string) => void,
  signal: AbortSignal,
  intervalMs = 250,
): Promise<void> {
  let position = offset;
  let partial = '';
  while (!signal.aborted) {
    let size: number;
    try {
      size = statSync(file).size;
    } catch {
      size = 0; // rotated away and not yet recreated
    }
    if (size < position) {
      position = 0;
      partial = '';
    }
    if (size > position) {
      const fd = openSync(file, 'r');
      try {
        const buffer = Buffer.alloc(size - position);
        const read = readSync(fd, buffer, 0, buffer.length, position);
        position += read;
        const text = partial + buffer.subarray(0, read).toString('utf8');
        const parts = text.split('\n');
        partial = parts.pop() ?? '';
        for (const line of parts) onLine(line);
      } finally {
        closeSync(fd);
      }
    }
    await systemClock.sleep(intervalMs, signal).catch(() => {});
  }
}
