import { HaveIndex } from './have-index.ts';
import type { Inventory, InventoryObject } from './inventory.ts';

/**
 * An inventory that lists everything each time it is asked (a command's
 * output, a function's objects): `scan` builds the index from the listing,
 * `stat` and `probe` list again (one listing per collection: fit for
 * inventories listed in seconds), `locate` puts `root` before a key.
 */
export abstract class ListingInventory implements Inventory {
  abstract readonly description: string;
  readonly #root: string;

  constructor(root: string) {
    this.#root = root;
  }

  /** Calls `add` for each object listed; rejects naming the source and what was wrong. */
  protected abstract list(signal: AbortSignal, add: (o: InventoryObject) => void): Promise<void>;

  async scan(signal: AbortSignal): Promise<HaveIndex> {
    const index = new HaveIndex();
    await this.list(signal, (o) => index.add(o.key, o.size, o.modifiedAt));
    return index;
  }

  async stat(key: string, signal: AbortSignal): Promise<InventoryObject | undefined> {
    return (await this.scan(signal)).get(key);
  }

  async probe(signal: AbortSignal): Promise<void> {
    await this.list(signal, () => {});
  }

  locate(key: string): string {
    return `${this.#root}${key}`;
  }
}

/** `{ key, size, modifiedAt }` (epoch ms or an ISO time) as an {@link InventoryObject}, or undefined when it is not one. */
export function inventoryObjectOf(value: unknown): InventoryObject | undefined {
  const o = value as { key?: unknown; size?: unknown; modifiedAt?: unknown } | null;
  if (typeof o?.key !== 'string' || o.key === '' || typeof o.size !== 'number' || !(o.size >= 0)) return undefined;
  const at = typeof o.modifiedAt === 'string' ? Date.parse(o.modifiedAt) : o.modifiedAt;
  if (typeof at !== 'number' || !Number.isFinite(at)) return undefined;
  return { key: o.key, size: o.size, modifiedAt: at };
}
