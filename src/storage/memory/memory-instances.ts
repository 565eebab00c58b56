import type { InstanceRecord, InstanceRegistry } from '../store.ts';

/**
 * Instance heartbeats in this process's memory, for `MemoryStore`. A record
 * is live while `expiresAt > now`; an expired one stays until `remove`, as
 * in the durable backends, but `list` no longer shows it.
 *
 * @example
 * const instances = new MemoryInstanceRegistry(() => {});
 * await instances.beat({ id, host, pid, startedAt, loops: ['signals'] }, 30_000, now);
 */
export class MemoryInstanceRegistry implements InstanceRegistry {
  readonly #instances = new Map<string, InstanceRecord>();
  readonly #open: (op: string) => void;

  /** `open(op)` throws when the store is closed. */
  constructor(open: (op: string) => void) {
    this.#open = open;
  }

  async beat(instance: Omit<InstanceRecord, 'lastBeatAt' | 'expiresAt'>, ttlMs: number, now: number): Promise<void> {
    this.#open('instances.beat');
    // Only the record's own fields, copied: what a durable backend's columns would keep.
    const { id, host, pid, startedAt, loops } = instance;
    this.#instances.set(id, { id, host, pid, startedAt, lastBeatAt: now, expiresAt: now + ttlMs, loops: [...loops] });
  }

  /** Whether `id` has a heartbeat live at `now` (what `list(now)` would show). */
  isLive(id: string, now: number): boolean {
    const record = this.#instances.get(id);
    return record !== undefined && record.expiresAt > now;
  }

  async list(now: number): Promise<InstanceRecord[]> {
    this.#open('instances.list');
    return [...this.#instances.values()]
      .filter((record) => record.expiresAt > now)
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
      .map((record) => ({ ...record, loops: [...record.loops] }));
  }

  async remove(id: string): Promise<void> {
    this.#open('instances.remove');
    this.#instances.delete(id);
  }
}
