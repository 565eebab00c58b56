/**
 * What happened, as the shared store saw it and as the act models saw it:
 * the simulation's books. {@link Ledger.hooks}, run in every instance's
 * fault wrapper as the shared backend answers (so only calls that reached
 * it count), record ticks claimed, cycles finished, items enqueued,
 * adopted and completed; the act models report every act they start and
 * every act that succeeded.
 *
 * Memory stays bounded over a month: finished items leave the books; the
 * ids of items already completed or executed are kept for
 * {@link DUPLICATE_HORIZON_MS} (two rotating sets), so a second execution
 * is caught when it comes within that horizon of the first.
 *
 * A second successful execution of one item is one of two things:
 * - a **duplicate**, a broken guarantee: the item ran again after its result
 *   was stored, had two results stored, or a run of its key started while
 *   another owner's lease on that key was still valid (the backend granted
 *   overlapping leases: what a store that skips the fencing check does);
 * - a **re-run**, at least once by design: the first success was never
 *   acknowledged by the store, because its instance was killed before the
 *   write (`crash`), the write failed while the store was unreachable and
 *   the held result could not be written before another instance took the
 *   item over (`storeOutage`), or the holder's lease lapsed (a freeze, a
 *   slow store), a peer ran the item and the holder's own act finished late
 *   (`leaseLapsed`; its write is fenced off).
 */
import type { CycleRecord, ItemResult } from '../core/cycle-record.ts';
import type { CycleStore, LeaseStore, QueuedItem, WorkQueue } from '../storage/store.ts';
import type { CallHook, StoreHooks } from '../testing/crashable-store.ts';

export const DUPLICATE_HORIZON_MS = 6 * 3600_000;

/**
 * After a store outage ends, how long instances may still refuse writes:
 * their store breaker closes on the first probe that answers (every 500 ms,
 * see store-guard.ts), so a success this soon after the end was written
 * into a breaker still open.
 */
const OUTAGE_TAIL_MS = 2_000;

/** Why an item ran again after a success the store never acknowledged. */
export type ReRunCause = 'crash' | 'storeOutage' | 'leaseLapsed';

/**
 * What the books know of one item's executions, packed in one small integer
 * (a month holds millions of items; an object each was most of the books'
 * memory and garbage): flag bits, and the number of successes above them.
 */
type Execution = number;
/** Its result was stored. */
const STORED = 1;
/** Its holder was killed while it was open. */
const HOLDER_CRASHED = 2;
/** Its first success came while the store was unreachable, or its write failed: the write could not be made. */
const WRITE_FAILED = 4;
/** Counted as a duplicate already (at most once per item). */
const DUPLICATE = 8;
/** One success (the count sits above the flags). */
const SUCCESS = 16;

/** The one entry of every tick that ran (a month has hundreds of thousands). */
const RAN: TickEntry = Object.freeze({ state: 'run' });

/** A lease as the backend granted it. */
interface GrantedLease {
  readonly owner: string;
  readonly token: number;
  expiresAt: number;
}

/** An item the queue holds (planned, not finished). */
interface OpenItem {
  readonly loop: string;
  readonly idem: string;
  readonly plannedAt: number;
  owner: string | null;
}

/** Per loop tallies. */
export interface LoopBooks {
  ticks: Map<number, TickEntry>;
  planned: number;
  succeeded: number;
  failed: number;
  skipped: number;
  /** Guarantee violations: items run again after their result was stored or stored twice, and overlapping leases. */
  duplicates: number;
  /** Items completed (result stored) more than once. */
  storedTwice: number;
  /** Leases of this loop's keys granted while another owner's lease on the key was valid. */
  overlappingLeases: number;
  /** Items run again after a success the store never acknowledged (at least once), by cause. */
  reRuns: Record<ReRunCause, number>;
  durations: number[];
  lateness: number[];
}

/** One crash: when, how many claimed items it left behind, and how long each waited for another instance. */
export interface CrashBooks {
  readonly at: number;
  orphans: number;
  readonly takeovers: number[];
}

/** A scheduled tick as the store recorded it. */
export interface TickEntry {
  state: 'run' | 'skipped';
  reason?: string;
}

/** Two sets rotated every horizon: membership lasts between one and two horizons. */
class RecentSet<V> {
  #current = new Map<string, V>();
  #previous = new Map<string, V>();
  #rotatedAt: number;
  readonly #horizon: number;

  constructor(now: number, horizon: number) {
    this.#rotatedAt = now;
    this.#horizon = horizon;
  }

  get(key: string, now: number): V | undefined {
    this.#rotate(now);
    return this.#current.get(key) ?? this.#previous.get(key);
  }

  set(key: string, value: V, now: number): void {
    this.#rotate(now);
    this.#current.set(key, value);
  }

  /** Replaces the value of a key `get` just found, where it is (its membership does not start again). */
  update(key: string, value: V): void {
    if (this.#current.has(key)) this.#current.set(key, value);
    else this.#previous.set(key, value);
  }

  #rotate(now: number): void {
    if (now - this.#rotatedAt < this.#horizon) return;
    this.#previous = now - this.#rotatedAt < 2 * this.#horizon ? this.#current : new Map();
    this.#current = new Map();
    this.#rotatedAt = now;
  }
}

export class Ledger {
  readonly loops = new Map<string, LoopBooks>();
  readonly #open = new Map<string, OpenItem>();
  readonly #openByIdem = new Map<string, string>();
  /** Idempotency key -> its executions so far. */
  readonly #executed: RecentSet<Execution>;
  /** Lease key -> the lease the backend granted last (until released). */
  readonly #leases = new Map<string, GrantedLease>();
  readonly #completed: RecentSet<true>;
  /** Items orphaned by a crash, waiting for another instance to start them: idem -> the crash. */
  readonly #orphans = new Map<string, CrashBooks>();
  /** Every crash, in order, with how long each of its orphaned items waited to be started again. */
  readonly crashes: CrashBooks[] = [];
  readonly takeovers: number[] = [];
  /** Orphans never started again by another instance. */
  notTakenOver = 0;
  readonly #now: () => number;
  /** The last store outage: [from, until) in absolute ms. */
  #outage: [number, number] = [0, 0];

  constructor(loopNames: readonly string[], now: () => number) {
    this.#now = now;
    this.#executed = new RecentSet(now(), DUPLICATE_HORIZON_MS);
    this.#completed = new RecentSet(now(), DUPLICATE_HORIZON_MS);
    for (const name of loopNames) this.loops.set(name, newBooks());
  }

  books(loop: string): LoopBooks {
    let books = this.loops.get(loop);
    if (!books) {
      books = newBooks();
      this.loops.set(loop, books);
    }
    return books;
  }

  /**
   * What to book of each instance's store calls, run in its fault wrapper
   * (crashableStore): ticks claimed, cycles finished, items enqueued,
   * claimed, released and completed, leases granted, renewed and freed as
   * the shared backend answers them (so only calls that reached it count,
   * even when their process died or froze before the answer arrived), and
   * result writes refused as the process gets the refusal.
   */
  readonly hooks: StoreHooks = {
    queue: {
      enqueue: answered<WorkQueue['enqueue']>((rows) => {
        for (const row of rows) this.#enqueued(row);
      }),
      claimStale: answered<WorkQueue['claimStale']>((rows, args) => {
        for (const row of rows) this.#claimed(row.id, args[2].owner);
      }),
      complete: {
        ...answered<WorkQueue['complete']>((stored, [id, , result, fence, options]) => {
          if (fence && options?.releaseLease) this.#leaseFreed(fence.key, fence.token);
          if (stored) this.#completedItem(id, result);
        }),
        refused: (_error: unknown, args: Parameters<WorkQueue['complete']>) => this.writeFailed(args[2].idempotencyKey),
      },
      release: answered<WorkQueue['release']>((_moved, [ids, owner]) => {
        for (const id of ids) {
          const open = this.#open.get(id);
          if (open?.owner === owner) open.owner = null;
        }
      }),
    },
    leases: {
      acquire: answered<LeaseStore['acquire']>((lease, args) => {
        if (lease) this.#leaseGranted(lease, args[3]);
      }),
      renew: answered<LeaseStore['renew']>((until, args) => {
        const held = this.#leases.get(args[0]);
        if (until !== undefined && held?.token === args[2]) held.expiresAt = until;
      }),
      release: answered<LeaseStore['release']>((freed, args) => {
        if (freed) this.#leaseFreed(args[0], args[2]);
      }),
    },
    cycles: {
      start: answered<CycleStore['start']>((claimed, [record]) => {
        if (claimed) this.#tickClaimed(record);
      }),
      finish: answered<CycleStore['finish']>((_none, [record]) => this.#cycleFinished(record)),
    },
  };

  /** An act model started an item. A start after the item's result was stored breaks the guarantee. */
  actStarted(loop: string, idem: string): void {
    const seen = this.#executed.get(idem, this.#now());
    if (seen !== undefined && (seen & STORED) !== 0) this.#duplicate(this.books(loop), idem, seen);
    const crashedAt = this.#orphans.get(idem);
    // Only live incarnations run code, so whoever starts an orphan took it over.
    if (crashedAt === undefined) return;
    this.#orphans.delete(idem);
    this.#tookOver(crashedAt);
  }

  /** An act model's act succeeded. */
  actSucceeded(loop: string, idem: string): void {
    const now = this.#now();
    const seen = this.#executed.get(idem, now);
    if (seen === undefined) {
      const writeFailed = now >= this.#outage[0] && now < this.#outage[1] + OUTAGE_TAIL_MS;
      this.#executed.set(idem, SUCCESS | (writeFailed ? WRITE_FAILED : 0), now);
      return;
    }
    const execution = seen + SUCCESS;
    this.#executed.update(idem, execution);
    // A second success that is no duplicate: a run that began before any result was stored. The first
    // success was never acknowledged (else the second run could not have started), or it is a holder
    // finishing late after its lease lapsed and a peer's run was stored: at least once, by design.
    if (execution >>> 4 !== 2 || (execution & DUPLICATE) !== 0) return;
    const cause = execution & HOLDER_CRASHED ? 'crash' : execution & WRITE_FAILED ? 'storeOutage' : 'leaseLapsed';
    this.books(loop).reRuns[cause]++;
  }

  /** The store is unreachable for every instance from now for `forMs`. */
  storeOutage(forMs: number): void {
    const now = this.#now();
    this.#outage = [now, now + forMs];
  }

  /** An instance's write of the item's result failed (its store did not answer). */
  writeFailed(idem: string): void {
    const seen = this.#executed.get(idem, this.#now());
    if (seen !== undefined) this.#executed.update(idem, seen | WRITE_FAILED);
  }

  /** An instance owning `owner` died: its claimed items are orphans until someone else starts them. */
  crashed(owner: string): number {
    const crash: CrashBooks = { at: this.#now(), orphans: 0, takeovers: [] };
    this.crashes.push(crash);
    const now = this.#now();
    for (const item of this.#open.values()) {
      if (item.owner !== owner) continue;
      this.#orphans.set(item.idem, crash);
      crash.orphans++;
      const seen = this.#executed.get(item.idem, now);
      if (seen !== undefined && (seen & STORED) === 0) this.#executed.update(item.idem, seen | HOLDER_CRASHED);
    }
    return crash.orphans;
  }

  get crashCount(): number {
    return this.crashes.length;
  }

  #tookOver(crash: CrashBooks): void {
    const waited = this.#now() - crash.at;
    crash.takeovers.push(waited);
    this.takeovers.push(waited);
  }

  /** Items planned before `cutoff` that never finished; the rest of the open ones are in flight at the end. */
  finish(cutoff: number): { lost: Map<string, number>; inFlight: number } {
    const lost = new Map<string, number>();
    let inFlight = 0;
    for (const item of this.#open.values()) {
      if (item.plannedAt < cutoff) lost.set(item.loop, (lost.get(item.loop) ?? 0) + 1);
      else inFlight++;
    }
    this.notTakenOver = this.#orphans.size;
    return { lost, inFlight };
  }

  #enqueued(row: QueuedItem): void {
    const previous = this.#openByIdem.get(row.idempotencyKey);
    if (previous !== undefined) this.#open.delete(previous);
    // Enqueued again after it finished (a bug the report must show): not planned twice.
    else if (!this.#completed.get(row.idempotencyKey, row.enqueuedAt)) this.books(row.loop).planned++;
    this.#open.set(row.id, {
      loop: row.loop,
      idem: row.idempotencyKey,
      plannedAt: row.enqueuedAt,
      owner: row.claim?.owner ?? null,
    });
    this.#openByIdem.set(row.idempotencyKey, row.id);
  }

  #claimed(id: string, owner: string): void {
    const open = this.#open.get(id);
    if (open) open.owner = owner;
  }

  #completedItem(id: string, result: ItemResult): void {
    const now = this.#now();
    const open = this.#open.get(id);
    this.#open.delete(id);
    if (open) this.#openByIdem.delete(open.idem);
    const books = this.books(result.loop);
    const crashedAt = this.#orphans.get(result.idempotencyKey);
    if (crashedAt !== undefined) {
      // Finished by another instance without an act (e.g. skipped): it was taken over.
      this.#orphans.delete(result.idempotencyKey);
      this.#tookOver(crashedAt);
    }
    const idem = result.idempotencyKey;
    let executed = this.#executed.get(idem, now);
    if (executed === undefined) {
      executed = 0;
      this.#executed.set(idem, executed, now);
    }
    if (this.#completed.get(idem, now)) {
      books.storedTwice++;
      executed = this.#duplicate(books, idem, executed);
    }
    this.#completed.set(idem, true, now);
    this.#executed.update(idem, executed | STORED);
    if (result.status === 'succeeded') books.succeeded++;
    else if (result.status === 'failed') books.failed++;
    else books.skipped++;
  }

  /** Counts the item as a duplicate, once; returns its execution as now booked. */
  #duplicate(books: LoopBooks, idem: string, execution: Execution): Execution {
    if ((execution & DUPLICATE) !== 0) return execution;
    books.duplicates++;
    this.#executed.update(idem, execution | DUPLICATE);
    return execution | DUPLICATE;
  }

  /** The backend granted `key` to `owner`: a grant over another owner's valid lease breaks mutual exclusion. */
  #leaseGranted({ key, owner, token, expiresAt }: GrantedLease & { key: string }, now: number): void {
    // `now` as the caller passed it to the backend: a correct backend grants only when the last lease expired by it.
    const held = this.#leases.get(key);
    if (held && held.owner !== owner && held.expiresAt > now) {
      const slash = key.indexOf('/');
      const books = this.books(slash > 0 ? key.slice(0, slash) : key);
      books.overlappingLeases++;
      books.duplicates++;
    }
    this.#leases.set(key, { owner, token, expiresAt });
  }

  #leaseFreed(key: string, token: number): void {
    if (this.#leases.get(key)?.token === token) this.#leases.delete(key);
  }

  #tickClaimed(record: CycleRecord): void {
    if (record.trigger !== 'cron' && record.trigger !== 'interval') return;
    const books = this.books(record.loop);
    if (record.outcome.kind === 'skipped') {
      books.ticks.set(record.scheduledAt, { state: 'skipped', reason: record.outcome.reason });
    } else {
      books.ticks.set(record.scheduledAt, RAN);
      books.lateness.push(record.startedAt - record.scheduledAt);
    }
  }

  #cycleFinished(record: CycleRecord): void {
    if (record.trigger === 'recovery' || record.outcome.kind === 'skipped' || record.finishedAt === null) return;
    this.books(record.loop).durations.push(record.finishedAt - record.startedAt);
  }
}

function newBooks(): LoopBooks {
  return {
    ticks: new Map(),
    planned: 0,
    succeeded: 0,
    failed: 0,
    skipped: 0,
    duplicates: 0,
    storedTwice: 0,
    overlappingLeases: 0,
    reRuns: { crash: 0, storeOutage: 0, leaseLapsed: 0 },
    durations: [],
    lateness: [],
  };
}

/** A hook run with a method's answer (awaited) and its arguments. */
function answered<F extends (...args: never[]) => Promise<unknown>>(
  fn: (value: Awaited<ReturnType<F>>, args: Parameters<F>) => void,
): CallHook {
  return { answered: fn as CallHook['answered'] };
}
