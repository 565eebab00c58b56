import type { CycleRecord, ItemResult } from '../core/cycle-record.ts';
import type { Logger } from '../core/logger.ts';
import type { CycleStore, LeaseStore, QueuedItem, Store, WorkQueue } from '../storage/store.ts';
import type { Clock } from '../time/clock.ts';
import { type HeldResult, OutageBuffer, type OutageCounts, type OutageSignal } from './outage-buffer.ts';

export interface OutageStoreOptions {
  /** The store's breaker (store-guard.ts): whether the store is down, and how often it failed so far. */
  readonly guard: OutageSignal & { readonly failures: number };
  /** This process: the owner of the claims and leases to release. */
  readonly owner: string;
  readonly clock: Clock;
  readonly logger: Logger;
  /** A result held through the outage that the store took at replay (see OutageBufferOptions.onResultStored). */
  readonly onResultStored?: (result: ItemResult) => void;
}

/** A queue row handed to a cycle (claimed by this process) and not yet settled. */
interface Handed {
  readonly row: QueuedItem;
  /** {@link OutageStore.trouble} when it was handed out. */
  readonly trouble: number;
}

/**
 * The Store decorator that makes "a store outage stops nothing for good"
 * true: it wraps the guarded store (store-guard.ts) and, when a write the
 * core makes does not go through, keeps what it needs in an
 * {@link OutageBuffer} (capped, see OUTAGE_LIMITS) and writes it once the
 * store answers again ({@link replay}, called by the runtime when the
 * breaker's probe succeeds). The core knows nothing of it: it sees the
 * Store port, whose answers below are all ones the port allows.
 *
 * | call that fails | kept | answer to the core |
 * | --- | --- | --- |
 * | `cycles.start` of a skipped record (not sent while `unavailable()`) | the record | `true` (taken; a peer's record of the tick wins at replay) |
 * | `cycles.start` of a running record | the rows already handed to that cycle (a recovery cycle's adoptions) | the error: the tick is not claimed, the core skips it |
 * | `cycles.finish` | the record | resolves |
 * | `queue.enqueue`, `queue.claimStale` | the items, and the rows already handed to that cycle | the error: the cycle fails its act step |
 * | `queue.complete` | the result, with its claim owner and fence | the error: the core counts it unacknowledged |
 * | `queue.release` | the item (its row, as handed out) | the error: the core counts it unacknowledged |
 * | `leases.release` | the lease (key, token) | `false` (not freed yet) |
 *
 * Rows handed out (by `enqueue` with a claim, or `claimStale`) are tracked
 * until a `complete` stores them, a `release` frees them, or their cycle's
 * `finish`. Rows still open at the finish (their lease lapsed, a peer took
 * their claim, the store answered `false`) are kept too when a store call
 * failed or an outage began since they were handed out: the store may have
 * lost them with its data (a Redis restart without persistence). Replay
 * decides from what the store still knows, so a row a peer finished is not
 * run twice (see OutageBuffer).
 *
 * Every other call passes through, including `unavailable()`, the port's
 * signal that loops skip their ticks with (here the breaker's reason).
 *
 * @example
 * const outage = new OutageStore({ guard, owner, clock, logger });
 * const store = outage.wrap(guard.wrap(raw)); // what loop runners and the lease manager use
 * guard.onHealthy(() => void outage.replay());
 */
export class OutageStore {
  readonly #o: OutageStoreOptions;
  readonly #buffer: OutageBuffer;
  #inner: Store | null = null;
  /** By queue id. */
  readonly #handed = new Map<string, Handed>();

  constructor(options: OutageStoreOptions) {
    this.#o = options;
    this.#buffer = new OutageBuffer({ ...options, store: () => this.#target() });
  }

  /** What is held now. */
  get held(): OutageCounts {
    return this.#buffer.held;
  }

  /** What was dropped past a cap since the runtime started. */
  get dropped(): OutageCounts {
    return this.#buffer.dropped;
  }

  get empty(): boolean {
    return this.#buffer.empty;
  }

  /** Writes what is held to the wrapped store (see OutageBuffer.replay); a no-op while it is unavailable. */
  replay(): Promise<void> {
    return this.#buffer.replay();
  }

  /**
   * `inner` with the writes above kept when they fail. Replays go to
   * `inner` itself, so a replay that fails is not kept twice.
   */
  wrap(inner: Store): Store {
    this.#inner = inner;
    return {
      cycles: overlay(inner.cycles, this.#cycles(inner)),
      queue: overlay(inner.queue, this.#queue(inner.queue)),
      events: inner.events,
      leases: overlay(inner.leases, this.#leases(inner.leases)),
      instances: inner.instances,
      buckets: inner.buckets,
      documents: inner.documents,
      journals: inner.journals,
      ...(inner.unavailable && { unavailable: () => inner.unavailable?.() }),
      ping: () => inner.ping(),
      prune: (before) => inner.prune(before),
      close: () => inner.close(),
      description: inner.description,
      ...(inner.warnings && { warnings: inner.warnings }),
      ...(inner.broadcast && { broadcast: inner.broadcast }),
    };
  }

  #target(): Store {
    if (!this.#inner) throw new Error('OutageStore: wrap(store) was not called');
    return this.#inner;
  }

  /** Grows with every failed store call and every outage: a row handed out before a change may be gone. */
  get #trouble(): number {
    return this.#o.guard.failures + this.#o.guard.outages;
  }

  #cycles(inner: Store): Partial<CycleStore> {
    const { cycles } = inner;
    const skipped = (record: CycleRecord) => {
      this.#buffer.unrecorded(record);
      return true;
    };
    return {
      start: (record) => {
        // Not sent while the store is unavailable: a skip must not take the breaker's half-open trial.
        if (record.outcome.kind === 'skipped' && inner.unavailable?.()) return Promise.resolve(skipped(record));
        return cycles.start(record).catch((error: unknown) => {
          if (record.outcome.kind === 'skipped') return skipped(record);
          this.#keepCycle(record.id, error);
          throw error;
        });
      },
      finish: (record) =>
        cycles
          .finish(record)
          .catch(() => this.#buffer.unrecorded(copy(record)))
          .finally(() => this.#settle(record.id)),
    };
  }

  #queue(queue: WorkQueue): Partial<WorkQueue> {
    return {
      enqueue: (loop, cycleId, items, claim, now) =>
        queue.enqueue(loop, cycleId, items, claim, now).then(
          (rows) => {
            if (claim) this.#hand(rows);
            return rows;
          },
          (error: unknown) => {
            this.#keepCycle(cycleId, error);
            this.#buffer.unacked(loop, cycleId, items, error);
            throw error;
          },
        ),
      claimStale: (loop, cycleId, claim, now, limit) =>
        queue.claimStale(loop, cycleId, claim, now, limit).then(
          (rows) => {
            this.#hand(rows);
            return rows;
          },
          (error: unknown) => {
            this.#keepCycle(cycleId, error);
            throw error;
          },
        ),
      // The caller gets the backend's own promise, not one chained after it: every item's last write comes
      // through here, and an extra promise hop delays the next item's lease past the store's group commit.
      // The bookkeeping runs first anyway (its handlers are attached before the caller's).
      complete: (id, owner, result, fence, options) => {
        const sent = queue.complete(id, owner, result, fence, options);
        sent.then(
          (stored) => {
            if (stored) this.#handed.delete(id);
          },
          (error: unknown) => this.#keepResult(id, { owner, result, fence, options }, error),
        );
        return sent;
      },
      release: (ids, owner) => {
        const sent = queue.release(ids, owner);
        sent.then(
          (moved) => {
            if (moved === ids.length) for (const id of ids) this.#handed.delete(id);
          },
          (error: unknown) => this.#keep(ids, error),
        );
        return sent;
      },
    };
  }

  #leases(leases: LeaseStore): Partial<LeaseStore> {
    return {
      release: (key, owner, token) =>
        leases.release(key, owner, token).catch(() => {
          this.#buffer.unreleased({ key, token });
          return false;
        }),
    };
  }

  #hand(rows: readonly QueuedItem[]): void {
    const trouble = this.#trouble;
    for (const row of rows) this.#handed.set(row.id, { row, trouble });
  }

  /** The handed-out rows `ids` were not acknowledged: kept. */
  #keep(ids: readonly string[], error: unknown): void {
    for (const id of ids) {
      const handed = this.#handed.get(id);
      if (!handed) continue;
      this.#handed.delete(id);
      this.#buffer.unacked(handed.row.loop, handed.row.cycleId, [handed.row], error);
    }
  }

  /**
   * The handed-out row `id` finished but its result was not acknowledged:
   * the result is kept and written at replay with its fence, so the item
   * does not run again while its claim and lease are still this process's.
   */
  #keepResult(id: string, write: Omit<HeldResult, 'row'>, error: unknown): void {
    const handed = this.#handed.get(id);
    if (!handed) return;
    this.#handed.delete(id);
    this.#buffer.unwritten({ row: handed.row, ...write }, error);
  }

  /** The cycle will not run the rows handed to it: kept. */
  #keepCycle(cycleId: string, error: unknown): void {
    this.#keep(this.#rowsOf(cycleId), error);
  }

  /** The cycle finished: its open rows are kept if the store had trouble since they were handed out, else forgotten. */
  #settle(cycleId: string): void {
    const trouble = this.#trouble;
    for (const id of this.#rowsOf(cycleId)) {
      const handed = this.#handed.get(id) as Handed;
      this.#handed.delete(id);
      if (trouble > handed.trouble) this.#buffer.unacked(handed.row.loop, cycleId, [handed.row], null);
    }
  }

  #rowsOf(cycleId: string): string[] {
    const ids: string[] = [];
    for (const [id, handed] of this.#handed) if (handed.row.cycleId === cycleId) ids.push(id);
    return ids;
  }
}

/** A snapshot: the core goes on mutating its record after handing it over. */
function copy(record: CycleRecord): CycleRecord {
  return { ...record, steps: { ...record.steps }, counts: { ...record.counts } };
}

/**
 * `target` with `overrides` in place of some of its methods; every other
 * member read from `target` (methods bound to it, so class-based parts and
 * the guard's proxies work alike).
 */
function overlay<T extends object>(target: T, overrides: Partial<T>): T {
  const bound = new Map<PropertyKey, unknown>();
  return new Proxy(target, {
    get(obj, prop) {
      if (Object.hasOwn(overrides, prop)) return overrides[prop as keyof T];
      const value = Reflect.get(obj, prop, obj) as unknown;
      if (typeof value !== 'function') return value;
      let fn = bound.get(prop);
      if (!fn) {
        fn = (value as (...a: unknown[]) => unknown).bind(obj);
        bound.set(prop, fn);
      }
      return fn;
    },
  });
}
