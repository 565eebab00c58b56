import type { CycleRecord, ItemResult } from '../core/cycle-record.ts';
import { type DroppedTicks, droppedNote } from '../core/dropped-ticks.ts';
import type { Logger } from '../core/logger.ts';
import type { WorkItem } from '../core/work-item.ts';
import type { CompleteOptions, Fence, QueuedItem, Store } from '../storage/store.ts';
import type { Clock } from '../time/clock.ts';
import { MAX_MISSED_TICKS } from './missed-ticks.ts';

/**
 * How much an outage may hold in memory. Past a cap the oldest entry goes:
 * counted (`autoloop_store_buffer_dropped_total{kind}`) and logged at error
 * once per outage. Items are the ones that matter most (work that would
 * otherwise never run), so they get the largest cap.
 */
export const OUTAGE_LIMITS = {
  /** Unacknowledged work items and held results, all loops together. */
  items: 10_000,
  /** Records of cycles that ran (started or finished) but could not be written. */
  cycles: 1_000,
  /** Skipped ticks per loop, as for missed ticks; older ones are summarised in the oldest kept record's reason. */
  skipsPerLoop: MAX_MISSED_TICKS,
  /** Leases whose release failed (they would otherwise block their key until their TTL). */
  leases: 10_000,
} as const;

/** What the buffer (and `OutageStore`) need from the store's breaker. */
export interface OutageSignal {
  unavailable(): string | undefined;
  readonly outages: number;
}

export interface OutageBufferOptions {
  readonly guard: OutageSignal;
  /** The (guarded) store, read when replaying. */
  readonly store: () => Store;
  /** This process: the owner of the claims to release. */
  readonly owner: string;
  readonly clock: Clock;
  readonly logger: Logger;
  /**
   * A held result the store took at replay, called once the replay's cycle
   * records are written too (the runtime publishes it, as the cycle would
   * have). Must not throw.
   */
  readonly onResultStored?: (result: ItemResult) => void;
}

interface HeldItem {
  readonly loop: string;
  readonly cycleId: string;
  /** The queue id when the item had been queued (its claim is released first). */
  readonly id: string | undefined;
  readonly item: WorkItem;
}

/** A finished item whose `queue.complete` failed: the write, made again at replay. */
export interface HeldResult {
  /** The row as handed out (its queue id, loop and cycle). */
  readonly row: QueuedItem;
  /** The claim's owner the write was made as. */
  readonly owner: string;
  readonly result: ItemResult;
  /** The item lease's fence, when the loop runs items under leases. */
  readonly fence?: Fence | undefined;
  readonly options?: CompleteOptions | undefined;
}

/** Counts of what is held now and what was dropped past a cap, by kind. */
export interface OutageCounts {
  readonly items: number;
  readonly cycles: number;
  readonly skips: number;
}

/**
 * What a store outage kept from being written, as `OutageStore` (the
 * Store decorator, outage-store.ts) hands it over: held in memory (bounded by
 * {@link OUTAGE_LIMITS}) and written by {@link replay} once the store answers
 * again.
 *
 * - Results whose write failed are written first, with the claim owner and
 *   the lease fence they carried: the store takes them only while the claim
 *   and the lease are still this process's (no peer adopted the item), so
 *   the item does not run again. A result the store refuses (a peer took the
 *   item over) is handled as an unacknowledged item, below.
 * - Leases whose release failed are released (compare-and-set on owner and
 *   token), so their keys can run again at once rather than after the TTL.
 * - Items planned but not acknowledged go back to the queue as pending (same
 *   loop, key, priority, payload and idempotency key): released when the
 *   store kept their row, enqueued again when it lost it with the rest of
 *   its data; the loop's next cycle or recovery cycle adopts and re-runs
 *   them. One whose result the store holds after all (a reply lost), or that
 *   a peer adopted and finished meanwhile, is not run again (see #requeue).
 * - Cycle records are written with `start` (the whole record), or `finish`
 *   when the store already has it.
 * - Skipped ticks are recorded with their reason, oldest first; ticks past
 *   the per-loop cap are counted in the oldest kept record's reason, as for
 *   missed ticks (see dropped-ticks.ts).
 */
export class OutageBuffer {
  readonly #o: OutageBufferOptions;
  /** By loop and idempotency key, oldest first (Map keeps insertion order). */
  readonly #items = new Map<string, HeldItem>();
  /** Results whose write failed, by queue id, oldest first. */
  readonly #results = new Map<string, HeldResult>();
  #cycles: CycleRecord[] = [];
  readonly #skips = new Map<string, { records: CycleRecord[]; dropped: DroppedTicks | null }>();
  #skipCount = 0;
  /** Lease key -> token of leases to release. */
  readonly #leases = new Map<string, number>();
  readonly #dropped = { items: 0, cycles: 0, skips: 0 };
  #droppedLogged = false;
  #replaying: Promise<void> | null = null;

  constructor(options: OutageBufferOptions) {
    this.#o = options;
  }

  unavailable(): string | undefined {
    return this.#o.guard.unavailable();
  }

  /** What is held now. */
  get held(): OutageCounts {
    return { items: this.#items.size + this.#results.size, cycles: this.#cycles.length, skips: this.#skipCount };
  }

  /** What was dropped past a cap since the runtime started. */
  get dropped(): OutageCounts {
    return { ...this.#dropped };
  }

  get empty(): boolean {
    return (
      this.#items.size === 0 &&
      this.#results.size === 0 &&
      this.#cycles.length === 0 &&
      this.#skipCount === 0 &&
      this.#leases.size === 0
    );
  }

  /**
   * A lease whose release failed: released at replay (a compare-and-set on
   * owner and token, so a lease taken over meanwhile is left alone), so its
   * key need not wait for the TTL to run again.
   */
  unreleased(lease: { readonly key: string; readonly token: number }): void {
    this.#leases.delete(lease.key);
    this.#leases.set(lease.key, lease.token);
    // Past the cap the oldest is forgotten: its key waits for the lease's TTL, as it would without this.
    if (this.#leases.size > OUTAGE_LIMITS.leases) this.#leases.delete(this.#leases.keys().next().value as string);
  }

  /**
   * Items planned but not acknowledged (their enqueue, `complete` or
   * `release` failed, or their lease lapsed during an outage): back in the
   * queue as pending for `loop` at replay (see #requeue), so the loop re-runs
   * them at least once.
   */
  unacked(loop: string, cycleId: string, items: ReadonlyArray<WorkItem | QueuedItem>, error: unknown): void {
    for (const item of items) {
      const key = `${loop}\u0000${item.idempotencyKey}`;
      const id = 'id' in item ? item.id : undefined;
      const { key: itemKey, priority, payload, idempotencyKey } = item;
      const previous = this.#items.get(key);
      this.#items.delete(key); // re-inserted as the newest
      this.#items.set(key, {
        loop,
        cycleId,
        id: id ?? previous?.id,
        item: { key: itemKey, priority, payload, idempotencyKey },
      });
    }
    while (this.#items.size > OUTAGE_LIMITS.items) {
      const oldest = this.#items.keys().next().value as string;
      const gone = this.#items.get(oldest);
      this.#items.delete(oldest);
      this.#drop('items', { loop: gone?.loop, key: gone?.item.key, err: error });
    }
  }

  /**
   * A finished item whose result write failed: written at replay with its
   * owner and fence (see the class comment). Shares the items' cap: past it
   * the oldest result goes back to being an unacknowledged item, run again.
   */
  unwritten(held: HeldResult, error: unknown): void {
    this.#results.delete(held.row.id);
    this.#results.set(held.row.id, held);
    if (this.#results.size + this.#items.size <= OUTAGE_LIMITS.items) return;
    const oldest = this.#results.values().next().value as HeldResult;
    this.#results.delete(oldest.row.id);
    this.unacked(oldest.row.loop, oldest.row.cycleId, [oldest.row], error);
  }

  /** A cycle record (running, finished or skipped) whose write failed: written at replay. */
  unrecorded(record: CycleRecord): void {
    if (record.outcome.kind === 'skipped') {
      this.#holdSkip(record);
      return;
    }
    // A later version of the same record (its finish after its start) replaces the earlier one.
    this.#cycles = this.#cycles.filter((r) => r.id !== record.id);
    this.#cycles.push(record);
    if (this.#cycles.length > OUTAGE_LIMITS.cycles) {
      const gone = this.#cycles.shift();
      this.#drop('cycles', { loop: gone?.loop, cycleId: gone?.id });
    }
  }

  #holdSkip(record: CycleRecord): void {
    let held = this.#skips.get(record.loop);
    if (!held) {
      held = { records: [], dropped: null };
      this.#skips.set(record.loop, held);
    }
    held.records.push(record);
    this.#skipCount++;
    if (held.records.length <= OUTAGE_LIMITS.skipsPerLoop) return;
    const gone = held.records.shift() as CycleRecord;
    this.#skipCount--;
    this.#dropped.skips++;
    // Not lost: counted in the reason of the oldest record kept.
    const at = gone.scheduledAt;
    held.dropped = held.dropped
      ? { count: held.dropped.count + 1, firstAt: held.dropped.firstAt, lastAt: at }
      : { count: 1, firstAt: at, lastAt: at };
  }

  #drop(kind: 'items' | 'cycles', fields: object): void {
    this.#dropped[kind]++;
    if (this.#droppedLogged) return;
    this.#droppedLogged = true;
    const cap = OUTAGE_LIMITS[kind];
    this.#o.logger.error(
      { ...fields, cap, kind },
      `store outage buffer full: the oldest held ${kind === 'items' ? 'work items' : 'cycle records'} are dropped (${cap} kept); dropped ones are counted in autoloop_store_buffer_dropped_total`,
    );
  }

  /**
   * Writes what is held, in order: lease releases, items (so the next cycle
   * re-runs them), cycle records, skipped ticks. Stops at the first failure and keeps the
   * rest for the next call. One replay at a time; a call during one joins it.
   */
  replay(): Promise<void> {
    if (this.#replaying !== null) return this.#replaying;
    if (this.empty || this.unavailable()) return Promise.resolve();
    this.#replaying = this.#replay()
      .catch((error) =>
        this.#o.logger.warn({ err: error }, 'replaying writes held during the store outage failed; will retry'),
      )
      .finally(() => {
        this.#replaying = null;
      });
    return this.#replaying;
  }

  async #replay(): Promise<void> {
    const counts = { results: 0, leases: 0, items: 0, cycles: 0, skips: 0 };
    // Results before lease releases: a released lease lets a peer take the key with a newer fence.
    const stored = await this.#replayResults();
    counts.results = stored.length;
    counts.leases = await this.#replayLeases();
    counts.items = await this.#replayItems();
    counts.cycles = await this.#replayCycles();
    counts.skips = await this.#replaySkips();
    for (const result of stored) this.#o.onResultStored?.(result);
    const dropped = this.dropped;
    this.#o.logger.info({ written: counts, droppedSinceStart: dropped }, 'wrote what the store outage held back');
    this.#droppedLogged = false;
  }

  /** Writes held results (returns those the store took); one the store refuses (claim or lease gone to a peer) becomes an unacknowledged item. */
  async #replayResults(): Promise<ItemResult[]> {
    const store = this.#o.store();
    const done: ItemResult[] = [];
    for (const [id, held] of [...this.#results]) {
      const { row, owner, result, fence, options } = held;
      const stored = await store.queue.complete(id, owner, result, fence, options);
      if (this.#results.get(id) === held) this.#results.delete(id);
      if (stored) done.push(result);
      else this.unacked(row.loop, row.cycleId, [row], null);
    }
    return done;
  }

  async #replayLeases(): Promise<number> {
    const store = this.#o.store();
    let done = 0;
    for (const [key, token] of [...this.#leases]) {
      await store.leases.release(key, this.#o.owner, token);
      if (this.#leases.get(key) === token) this.#leases.delete(key);
      done++;
    }
    return done;
  }

  async #replayItems(): Promise<number> {
    const store = this.#o.store();
    let done = 0;
    // Groups of the same loop and cycle, in the order they were held.
    const groups = new Map<string, Array<[string, HeldItem]>>();
    for (const entry of this.#items) {
      const group = `${entry[1].loop}\u0000${entry[1].cycleId}`;
      const list = groups.get(group) ?? [];
      list.push(entry);
      groups.set(group, list);
    }
    const queued = new Map<string, Set<string>>();
    for (const group of groups.values()) {
      const first = (group[0] as [string, HeldItem])[1];
      let present = queued.get(first.loop);
      if (!present) {
        present = new Set((await store.queue.list(first.loop)).map((q) => q.id));
        queued.set(first.loop, present);
      }
      done += await this.#requeue(store, first, group, present);
      for (const [key, held] of group) if (this.#items.get(key) === held) this.#items.delete(key);
    }
    return done;
  }

  /**
   * One group's items (same loop and cycle) back into the queue, each
   * according to what the store still knows of it:
   * - its result is stored (a `complete` applied whose reply was lost): done;
   * - its row is still queued: released to pending (if the claim is still
   *   ours), nothing re-added;
   * - its row is gone and so is its cycle's record: the store lost its data
   *   (a Redis restart without persistence): enqueued again;
   * - its row is gone but its cycle's record is there: a peer adopted and
   *   finished it while this process could not reach the store: done (not
   *   run twice);
   * - it never reached the queue (no id): enqueued (the queue dedups it by
   *   idempotency key if the enqueue did land).
   * Returns how many went back to the queue.
   */
  async #requeue(
    store: Store,
    first: HeldItem,
    group: Array<[string, HeldItem]>,
    present: Set<string>,
  ): Promise<number> {
    const { owner, clock } = this.#o;
    const stored = new Set((await store.cycles.items(first.cycleId)).map((r) => r.idempotencyKey));
    const open = group.map(([, held]) => held).filter((held) => !stored.has(held.item.idempotencyKey));
    const release = open.flatMap((held) => (held.id !== undefined && present.has(held.id) ? [held.id] : []));
    let enqueue = open.filter((held) => held.id === undefined || !present.has(held.id));
    if (enqueue.some((held) => held.id !== undefined) && (await store.cycles.get(first.cycleId)) !== undefined) {
      enqueue = enqueue.filter((held) => held.id === undefined);
    }
    if (release.length > 0) await store.queue.release(release, owner);
    if (enqueue.length > 0) {
      const items = enqueue.map((held) => held.item);
      await store.queue.enqueue(first.loop, first.cycleId, items, null, clock.now());
    }
    return release.length + enqueue.length;
  }

  async #replayCycles(): Promise<number> {
    const store = this.#o.store();
    let done = 0;
    while (this.#cycles.length > 0) {
      const record = this.#cycles[0] as CycleRecord;
      // `start` writes the whole record when the store lost it (or never had it); else finish overwrites.
      if (!(await store.cycles.start(record))) await store.cycles.finish(record);
      if (this.#cycles[0] === record) this.#cycles.shift();
      done++;
    }
    return done;
  }

  async #replaySkips(): Promise<number> {
    const store = this.#o.store();
    let done = 0;
    for (const [loop, held] of this.#skips) {
      while (held.records.length > 0) {
        const record = held.records[0] as CycleRecord;
        const note = droppedNote(held.dropped);
        const reason = record.outcome.kind === 'skipped' ? record.outcome.reason : '';
        // A peer that recorded the same tick meanwhile wins: start writes nothing then.
        await store.cycles.start(note ? { ...record, outcome: { kind: 'skipped', reason: reason + note } } : record);
        held.records.shift();
        held.dropped = null;
        this.#skipCount--;
        done++;
      }
      this.#skips.delete(loop);
    }
    return done;
  }
}
