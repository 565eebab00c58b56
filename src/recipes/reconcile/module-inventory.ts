import { importModule } from '../../config/import-module.ts';
import { InventoryError, type InventoryObject } from './inventory.ts';
import { inventoryObjectOf, ListingInventory } from './listing-inventory.ts';

/** What a listing module exports: objects `{ key, size, modifiedAt }` as an array, an iterable or an async iterable. */
export type ListObjects = (request: {
  readonly signal: AbortSignal;
}) => Iterable<unknown> | AsyncIterable<unknown> | Promise<Iterable<unknown> | AsyncIterable<unknown>>;

export interface ModuleInventoryOptions {
  /** The module file (JavaScript or TypeScript). */
  readonly file: string;
  /** The exported function's name (after `#`; default `list`). */
  readonly exportName: string;
  /** Put before a key to say where a collector writes it (`{path}`): a directory or URL prefix. Default: none. */
  readonly root: string;
}

/**
 * HAVE from a function of your own (`inventory: { module: ./list.ts#list }`):
 * a database query, an API's catalogue, anything a few lines of TypeScript
 * can list. Each object it yields is `{ key, size, modifiedAt }`; one that is
 * not fails the scan, naming the module and the object's position. Imported
 * at the first scan, once; a module fixed on disk is picked up after a
 * failed import. `stat` and `probe` list again ({@link ListingInventory}).
 *
 * @example
 * // list.ts
 * export async function* list({ signal }) {
 *   for (const row of await db.query('select key, bytes, updated from objects', { signal }))
 *     yield { key: row.key, size: row.bytes, modifiedAt: row.updated };
 * }
 */
export class ModuleInventory extends ListingInventory {
  readonly description: string;
  readonly #o: ModuleInventoryOptions;
  #loaded: Promise<ListObjects> | null = null;

  constructor(options: ModuleInventoryOptions) {
    super(options.root);
    this.#o = options;
    this.description = `module ${options.file}#${options.exportName}`;
  }

  protected async list(signal: AbortSignal, add: (o: InventoryObject) => void): Promise<void> {
    signal.throwIfAborted();
    this.#loaded ??= this.#load();
    const list = await this.#loaded.catch((error: unknown) => {
      this.#loaded = null;
      throw error;
    });
    let n = 0;
    let listed: Iterable<unknown> | AsyncIterable<unknown>;
    try {
      listed = await list({ signal });
    } catch (error) {
      throw signal.aborted ? signal.reason : this.#error(`failed: ${(error as Error)?.message ?? String(error)}`);
    }
    for await (const value of listed) {
      n++;
      signal.throwIfAborted();
      const o = inventoryObjectOf(value);
      if (!o) {
        const got = JSON.stringify(value)?.slice(0, 200) ?? String(value);
        throw this.#error(`object ${n}: expected { key: "...", size: bytes, modifiedAt: ms or ISO time }, got ${got}`);
      }
      add(o);
    }
  }

  async #load(): Promise<ListObjects> {
    const exports = await importModule(this.#o.file);
    const fn = exports[this.#o.exportName];
    if (typeof fn !== 'function') {
      const found = Object.keys(exports).join(', ') || 'nothing';
      throw this.#error(`expected an exported function "${this.#o.exportName}", found exports: ${found}`);
    }
    return fn as ListObjects;
  }

  #error(message: string): InventoryError {
    return new InventoryError(`inventory ${this.description}: ${message}`);
  }
}
