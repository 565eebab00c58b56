import type { CycleRecord, ItemResult } from '../core/cycle-record.ts';
import type { WorkItem } from '../core/work-item.ts';

/**
 * The storage port. autoloop's core knows only these interfaces; memory,
 * SQLite and (later) Redis implement them, and one contract suite
 * (`test/storage-contract.ts`) runs against every backend.
 *
 * Every method is async so that a networked backend fits; an embedded backend
 * simply resolves at once. The port deliberately leaves out connections,
 * transactions and key layouts: each method is one atomic operation.
 *
 * Errors: any method may reject with a {@link StoreError} when the backend is
 * unreachable or broken. Methods never reject for "not found"; they return
 * `undefined`, `false` or an empty list.
 */
export interface Store {
  readonly cycles: CycleStore;
  readonly queue: WorkQueue;
  readonly events: EventLog;
  /** Resolves when the backend answers a trivial request; rejects otherwise. */
  ping(): Promise<void>;
  /**
   * Deletes cycle records, item results and events older than `beforeMs`
   * (epoch): records that started before it (with their item results), item
   * results that finished before it, events whose `at` is before it.
   */
  prune(beforeMs: number): Promise<{ cycles: number; events: number }>;
  /** Releases the backend. Further calls reject. Closing twice is harmless. */
  close(): Promise<void>;
  /** A description for logs and status, with any password removed. */
  readonly description: string;
}

/** Cycle records and the per-item results that belong to them. */
export interface CycleStore {
  /**
   * Records that a cycle started (or was skipped: a record whose outcome is
   * already `skipped`). Returns false, and writes nothing, when a record for
   * the same `tickId` (or with the same `id`) exists: at most one record per
   * tick, across every process sharing the store.
   */
  start(record: CycleRecord): Promise<boolean>;
  /**
   * Overwrites the record with the same id (outcome, counts, steps,
   * finishedAt). Writes nothing when no record has that id.
   */
  finish(record: CycleRecord): Promise<void>;
  get(id: string): Promise<CycleRecord | undefined>;
  /** The loop's most recent records, newest first (by startedAt, then id); all when no limit. */
  list(loop: string, options?: { limit?: number }): Promise<CycleRecord[]>;
  /** The item results written for a cycle, in the order they finished. */
  items(cycleId: string): Promise<ItemResult[]>;
  /**
   * The latest record of the loop, and the finish time of its latest cycle
   * whose outcome was `ok` or `partial` (undefined when none).
   */
  summary(loop: string): Promise<{ last?: CycleRecord; lastSuccessAt?: number }>;
}

/** A claim on a queued item: who runs it, and until when (epoch ms). */
export interface Claim {
  readonly owner: string;
  readonly until: number;
}

/** A work item as the queue holds it. */
export interface QueuedItem<P = unknown> extends WorkItem<P> {
  /** Queue-assigned id, unique in the store. */
  readonly id: string;
  readonly loop: string;
  /** The cycle that planned it (or that last adopted it). */
  readonly cycleId: string;
  readonly enqueuedAt: number;
  readonly claim: Claim | null;
}

/**
 * The durable priority queue of work items. An item is written here before
 * it runs and removed only together with its result, so a crash between the
 * two leaves it in the queue for a later cycle to adopt: nothing planned is
 * silently lost.
 *
 * States: pending (claim null or expired) -> claimed (claim.until > now)
 * -> gone (complete). `release` moves claimed back to pending.
 */
export interface WorkQueue {
  /**
   * Adds items for `loop`, claimed at once by `claim` when given. An item
   * whose idempotency key is already in the queue is not added again.
   * Returns the rows that were added, in the order given.
   */
  enqueue(
    loop: string,
    cycleId: string,
    items: readonly WorkItem[],
    claim: Claim | null,
    now: number,
  ): Promise<QueuedItem[]>;
  /**
   * Claims up to `limit` of the loop's items that are pending or whose claim
   * expired (`claim.until <= now`), lowest priority number first, then
   * oldest. The claimed rows are re-assigned to `cycleId`.
   */
  claimStale(loop: string, cycleId: string, claim: Claim, now: number, limit: number): Promise<QueuedItem[]>;
  /**
   * Removes the item and stores its result, atomically, if `owner` still
   * holds its claim. Returns false (and writes nothing) when it does not.
   */
  complete(id: string, owner: string, result: ItemResult): Promise<boolean>;
  /** Moves items claimed by `owner` back to pending. Returns how many moved. */
  release(ids: readonly string[], owner: string): Promise<number>;
  /** Item counts per loop and priority, pending and claimed together, sorted by loop then priority. */
  depth(loop?: string): Promise<Array<{ loop: string; priority: number; count: number }>>;
  /** Items in the queue, lowest priority number first, then oldest; all when no limit. */
  list(loop?: string, options?: { limit?: number }): Promise<QueuedItem[]>;
}

/** A typed event as the log keeps it. `seq` increases in append order. */
export interface StoredEvent {
  readonly seq: number;
  readonly at: number;
  readonly type: string;
  readonly loop: string | null;
  readonly data: unknown;
}

/** The append-only event log, for resumable streams and history. */
export interface EventLog {
  /** Appends events in order, in one write. */
  append(events: ReadonlyArray<Omit<StoredEvent, 'seq'>>): Promise<void>;
  /** Events with seq > `afterSeq`, oldest first, at most `limit` (default 1000). */
  after(afterSeq: number, options?: { limit?: number; loop?: string }): Promise<StoredEvent[]>;
  /** The newest `limit` events (default 1000), oldest first. */
  latest(options?: { limit?: number; loop?: string }): Promise<StoredEvent[]>;
}

/** The backend failed or cannot be reached. `cause` holds the driver's error. */
export class StoreError extends Error {
  override name = 'StoreError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}
