import type { LeaseStore } from '../storage/store.ts';
import type { Clock } from '../time/clock.ts';
import { TimerGroup } from '../time/timer-group.ts';
import { HeldLease, type HeldLeaseOptions } from './held-lease.ts';

export interface LeaseManagerOptions {
  readonly store: LeaseStore;
  readonly clock: Clock;
  /** This process: `<host>:<pid>:<random>`. */
  readonly owner: string;
  /** Default lease TTL. 10 s unless configured. */
  readonly ttlMs: number;
  /** Called when a held lease is lost. */
  readonly onLost?: (key: string, token: number, reason: string) => void;
  /** Called with each expired lease a sweep removed (stale recovery). */
  readonly onStaleRecovered?: (key: string, previousOwner: string) => void;
}

/** Acquisition misses trigger a sweep at most this often. */
const MISS_SWEEP_MIN_INTERVAL_MS = 250;

/**
 * This process's leases: acquires them (sweeping expired leases on a miss),
 * tracks those held, and releases them all on shutdown so peers can take the
 * work at once instead of after the TTL. The periodic sweep (every second)
 * is driven by the runtime's recovery loop through {@link sweep}.
 */
export class LeaseManager {
  readonly #o: LeaseManagerOptions;
  readonly #held = new Set<HeldLease>();
  /** One clock timer for every held lease's renewal, not one per lease (a lease per item took and freed thousands a second). */
  readonly #renewals: TimerGroup;
  /** What every lease taken with the default TTL shares (one object, not one per lease). */
  readonly #leaseOptions: HeldLeaseOptions;
  #lastMissSweep = Number.NEGATIVE_INFINITY;

  constructor(options: LeaseManagerOptions) {
    this.#o = options;
    this.#renewals = new TimerGroup(options.clock);
    const { store, clock, owner, ttlMs } = options;
    this.#leaseOptions = {
      store,
      clock,
      owner,
      ttlMs,
      timers: this.#renewals,
      onLost: (h, reason) => {
        this.#held.delete(h);
        this.#o.onLost?.(h.key, h.token, reason);
      },
    };
  }

  /** Leases this process holds now. */
  get active(): number {
    return this.#held.size;
  }

  /**
   * Takes `key` for this process, or returns undefined when a live peer (or
   * this process) holds it. An expired holder is taken over.
   */
  async acquire(key: string, ttlMs = this.#o.ttlMs): Promise<HeldLease | undefined> {
    const { store, clock, owner } = this.#o;
    const sentAt = clock.monotonic();
    let lease = await store.acquire(key, owner, ttlMs, clock.now());
    if (!lease && clock.monotonic() - this.#lastMissSweep >= MISS_SWEEP_MIN_INTERVAL_MS) {
      this.#lastMissSweep = clock.monotonic();
      if ((await this.sweep()) > 0) lease = await store.acquire(key, owner, ttlMs, clock.now());
    }
    if (!lease) return undefined;
    if (lease.tookOverFrom) {
      if (lease.tookOverFrom === owner) {
        for (const held of this.#held)
          if (held.key === key) held.expire('this process took its own expired lease over');
      }
      this.#o.onStaleRecovered?.(key, lease.tookOverFrom);
    }
    const shared = this.#leaseOptions;
    const held = new HeldLease(lease, sentAt, ttlMs === shared.ttlMs ? shared : { ...shared, ttlMs });
    this.#held.add(held);
    return held;
  }

  /** Runs `write`, which frees `lease` along with the holder's last write (see HeldLease.releaseWith), then forgets it. */
  async releaseWith<T>(lease: HeldLease, write: () => Promise<T>): Promise<T> {
    // No longer counted as held once the write that frees it is sent: the pool slot it ran in may
    // already start the next item, and `active` must not count both (a store decorator's extra
    // promise hop would otherwise decide whether it does).
    this.#held.delete(lease);
    try {
      return await lease.releaseWith(write);
    } catch (error) {
      if (lease.state === 'held') this.#held.add(lease);
      throw error;
    }
  }

  /** Releases `lease` and forgets it. */
  async release(lease: HeldLease): Promise<void> {
    this.#held.delete(lease);
    await lease.release();
  }

  /** Removes expired leases from the store. Returns how many were recovered. */
  async sweep(): Promise<number> {
    const expired = await this.#o.store.sweep(this.#o.clock.now());
    for (const lease of expired) {
      if (lease.owner === this.#o.owner) {
        // Our own lease expired (we stalled): stop its work before this process or a peer re-adopts it.
        for (const held of this.#held) {
          if (held.key === lease.key && held.token === lease.token)
            held.expire('the lease expired before it was renewed');
        }
      }
      this.#o.onStaleRecovered?.(lease.key, lease.owner);
    }
    return expired.length;
  }

  /** Releases every lease still held (graceful shutdown) and clears the renewal timer. */
  async releaseAll(): Promise<void> {
    const held = [...this.#held];
    this.#held.clear();
    await Promise.allSettled(held.map((lease) => lease.release()));
    if (this.#held.size === 0) this.#renewals.dispose(); // none taken meanwhile: nothing left to renew
  }
}
