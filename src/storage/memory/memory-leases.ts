import type { Lease, LeaseStore } from '../store.ts';

/**
 * Per-key leases in this process's memory, for `MemoryStore`.
 *
 * A key is free (no entry in `#leases`), or held by the entry's owner until
 * its `expiresAt`; an entry with `expiresAt <= now` is expired: free for
 * `acquire` (a takeover, reported as `tookOverFrom`), dropped by `sweep`.
 * Tokens live apart from the entries, in `#tokens`, so that a key's counter
 * survives every way its lease ends.
 *
 * @example
 * const leases = new MemoryLeaseStore(() => {});
 * const lease = await leases.acquire('BTC/USD', 'host:1:abc', 10_000, now);
 */
export class MemoryLeaseStore implements LeaseStore {
  readonly #leases = new Map<string, Lease>();
  readonly #tokens = new Map<string, number>();
  readonly #open: (op: string) => void;

  /** `open(op)` throws when the store is closed. */
  constructor(open: (op: string) => void) {
    this.#open = open;
  }

  /** The key's latest token (0 when never leased): what a fenced write is checked against. */
  latestToken(key: string): number {
    return this.#tokens.get(key) ?? 0;
  }

  /** Whether some lease expired by `now` (what `sweep(now)` would drop). */
  anyExpired(now: number): boolean {
    for (const lease of this.#leases.values()) if (lease.expiresAt <= now) return true;
    return false;
  }

  async acquire(
    key: string,
    owner: string,
    ttlMs: number,
    now: number,
  ): Promise<(Lease & { tookOverFrom?: string }) | undefined> {
    this.#open('leases.acquire');
    const previous = this.#leases.get(key);
    if (previous && previous.expiresAt > now) return undefined;
    const token = this.latestToken(key) + 1;
    const lease: Lease = { key, owner, token, acquiredAt: now, expiresAt: now + ttlMs };
    this.#tokens.set(key, token);
    this.#leases.set(key, lease);
    return previous ? { ...lease, tookOverFrom: previous.owner } : { ...lease };
  }

  async renew(key: string, owner: string, token: number, ttlMs: number, now: number): Promise<number | undefined> {
    this.#open('leases.renew');
    const lease = this.#leases.get(key);
    if (!lease || !holds(lease, owner, token) || lease.expiresAt <= now) return undefined;
    const expiresAt = now + ttlMs;
    this.#leases.set(key, { ...lease, expiresAt });
    return expiresAt;
  }

  async release(key: string, owner: string, token: number): Promise<boolean> {
    this.#open('leases.release');
    return this.releaseNow(key, owner, token);
  }

  /** `release`, synchronously: for the queue's complete, which frees the lease in the same step. */
  releaseNow(key: string, owner: string, token: number): boolean {
    const lease = this.#leases.get(key);
    if (!lease || !holds(lease, owner, token)) return false;
    this.#leases.delete(key);
    return true;
  }

  async sweep(now: number): Promise<Lease[]> {
    this.#open('leases.sweep');
    const expired = this.#ordered((lease) => lease.expiresAt <= now);
    for (const lease of expired) this.#leases.delete(lease.key);
    return expired.map((lease) => ({ ...lease }));
  }

  async list(now: number, options?: { prefix?: string }): Promise<Lease[]> {
    this.#open('leases.list');
    const prefix = options?.prefix ?? '';
    return this.#ordered((lease) => lease.expiresAt > now && lease.key.startsWith(prefix)).map((lease) => ({
      ...lease,
    }));
  }

  async currentToken(key: string): Promise<number> {
    this.#open('leases.currentToken');
    return this.latestToken(key);
  }

  /** Every entry, expired or not, ordered by key (code units, as SQLite's BINARY collation for ASCII). */
  /** The leases `where` picks, by key. Picked first, sorted after: the sweep runs every second and usually picks none. */
  #ordered(where: (lease: Lease) => boolean): Lease[] {
    const found: Lease[] = [];
    for (const lease of this.#leases.values()) if (where(lease)) found.push(lease);
    return found.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }
}

function holds(lease: Lease, owner: string, token: number): boolean {
  return lease.owner === owner && lease.token === token;
}
