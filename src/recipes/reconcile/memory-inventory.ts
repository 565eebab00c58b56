import { HaveIndex } from './have-index.ts';
import { type Inventory, InventoryError, type InventoryObject } from './inventory.ts';

/**
 * An inventory held in memory, for tests and simulations: collectors
 * written in TypeScript `put` into it, a test `remove`s objects to make
 * gaps, and `unreachable` makes every call fail as a broken source would.
 *
 * @example
 * const inventory = new MemoryInventory({ now: () => clock.now() });
 * const collector: Collector = async ({ gap }) => inventory.put(gap.key, 100);
 */
export class MemoryInventory implements Inventory {
  readonly description = 'memory';
  readonly #objects = new Map<string, { size: number; modifiedAt: number }>();
  readonly #now: () => number;
  /** When set, every call rejects with it. */
  unreachable: string | null = null;
  /** How many scans ran. */
  scans = 0;

  constructor(options: { now: () => number }) {
    this.#now = options.now;
  }

  put(key: string, size: number, modifiedAt = this.#now()): void {
    this.#objects.set(key, { size, modifiedAt });
  }

  remove(key: string): void {
    this.#objects.delete(key);
  }

  has(key: string): boolean {
    return this.#objects.has(key);
  }

  keys(): string[] {
    return [...this.#objects.keys()].sort();
  }

  async scan(signal: AbortSignal): Promise<HaveIndex> {
    this.#check(signal);
    this.scans++;
    const index = new HaveIndex();
    for (const [key, o] of this.#objects) index.add(key, o.size, o.modifiedAt);
    return index;
  }

  async stat(key: string, signal: AbortSignal): Promise<InventoryObject | undefined> {
    this.#check(signal);
    const o = this.#objects.get(key);
    return o ? { key, ...o } : undefined;
  }

  async probe(signal: AbortSignal): Promise<void> {
    this.#check(signal);
  }

  locate(key: string): string {
    return `memory:${key}`;
  }

  #check(signal: AbortSignal): void {
    if (signal.aborted) throw signal.reason;
    if (this.unreachable !== null) throw new InventoryError(`inventory memory: ${this.unreachable}`);
  }
}
