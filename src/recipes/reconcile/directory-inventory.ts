import { opendir, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { HaveIndex } from './have-index.ts';
import { type Inventory, InventoryError, type InventoryObject } from './inventory.ts';

export interface DirectoryInventoryOptions {
  /** The root; keys are paths below it with `/` separators. */
  readonly dir: string;
  /** Only keys matching one of these globs (`**` any depth, `*` within a segment, `?` one character). Default all. */
  readonly include?: readonly string[];
  /** Leave out keys matching any of these. Default: none (files whose name starts with `.` are always left out). */
  readonly exclude?: readonly string[];
}

/** How many `stat` calls one scan keeps in flight. */
const STAT_BATCH = 64;

/**
 * HAVE from a local directory: a recursive walk (symlinks are not
 * followed), each file's size and modification time. Hidden files
 * (`.name`) are left out, so a collector may write `.name.tmp` and rename
 * it into place without its half-written file counting.
 *
 * @example
 * const have = await new DirectoryInventory({ dir: './data', include: ['**\/*.json'] }).scan(signal);
 */
export class DirectoryInventory implements Inventory {
  readonly description: string;
  readonly #dir: string;
  readonly #include: RegExp[] | null;
  readonly #exclude: RegExp[];

  constructor(options: DirectoryInventoryOptions) {
    this.#dir = options.dir;
    this.description = `dir ${options.dir}`;
    this.#include = options.include && options.include.length > 0 ? options.include.map(globRegExp) : null;
    this.#exclude = (options.exclude ?? []).map(globRegExp);
  }

  async scan(signal: AbortSignal): Promise<HaveIndex> {
    const index = new HaveIndex();
    try {
      await this.#walk(this.#dir, index, signal);
    } catch (error) {
      if (signal.aborted) throw signal.reason;
      throw new InventoryError(`inventory ${this.description}: cannot be read: ${messageOf(error)}`, { cause: error });
    }
    return index;
  }

  async stat(key: string, signal: AbortSignal): Promise<InventoryObject | undefined> {
    if (signal.aborted) throw signal.reason;
    try {
      const s = await stat(this.locate(key));
      return s.isFile() ? { key, size: s.size, modifiedAt: s.mtimeMs } : undefined;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new InventoryError(`inventory ${this.description}: cannot stat ${key}: ${messageOf(error)}`, {
        cause: error,
      });
    }
  }

  async probe(): Promise<void> {
    let s: Awaited<ReturnType<typeof stat>>;
    try {
      s = await stat(this.#dir);
    } catch (error) {
      throw new InventoryError(`inventory ${this.description}: ${messageOf(error)}`, { cause: error });
    }
    if (!s.isDirectory()) throw new InventoryError(`inventory ${this.description}: not a directory`);
  }

  locate(key: string): string {
    return join(this.#dir, ...key.split('/'));
  }

  async #walk(dir: string, index: HaveIndex, signal: AbortSignal): Promise<void> {
    const files: string[] = [];
    const subdirs: string[] = [];
    for await (const entry of await opendir(dir)) {
      if (entry.name.startsWith('.')) continue;
      const path = join(dir, entry.name);
      if (entry.isDirectory()) subdirs.push(path);
      else if (entry.isFile()) files.push(path);
    }
    for (let i = 0; i < files.length; i += STAT_BATCH) {
      if (signal.aborted) throw signal.reason;
      const batch = files.slice(i, i + STAT_BATCH).flatMap((path) => {
        const key = relative(this.#dir, path).split(sep).join('/');
        return this.#wanted(key) ? [{ key, path }] : [];
      });
      const stats = await Promise.all(batch.map(({ path }) => stat(path).catch(() => undefined)));
      // A file removed between the listing and its stat is simply not there.
      stats.forEach((s, j) => {
        if (s) index.add((batch[j] as { key: string }).key, s.size, s.mtimeMs);
      });
    }
    for (const sub of subdirs) await this.#walk(sub, index, signal);
  }

  #wanted(key: string): boolean {
    if (this.#include && !this.#include.some((re) => re.test(key))) return false;
    return !this.#exclude.some((re) => re.test(key));
  }
}

/** A glob as a RegExp over `/`-separated keys. */
export function globRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i] as string;
    if (c === '*' && glob[i + 1] === '*') {
      // `**/` matches zero or more whole segments.
      if (glob[i + 2] === '/') {
        re += '(?:.*/)?';
        i += 2;
      } else {
        re += '.*';
        i += 1;
      }
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
