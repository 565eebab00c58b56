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
  readonly leases: LeaseStore;
  readonly instances: InstanceRegistry;
  readonly buckets: RateLimitStore;
  /** Recipes' own state: versioned JSON documents, by namespace and key. */
  readonly documents: DocumentStore;
  /** Recipes' own history: append-only journals of JSON entries (audit trails, snapshots). */
  readonly journals: JournalStore;
  /**
   * Why the store should not be asked now, e.g. `store unavailable: <last
   * error>` while a breaker in front of it is open; undefined while it may
   * be. Loops skip their ticks with this text as the reason rather than
   * start cycles that cannot be recorded. Absent on a backend itself (it has
   * no such state): always askable.
   */
  unavailable?(): string | undefined;
  /** Resolves when the backend answers a trivial request; rejects otherwise. */
  ping(): Promise<void>;
  /**
   * Deletes cycle records, item results and events older than `beforeMs`
   * (epoch): records that started before it (with their item results), item
   * results that finished before it, events whose `at` is before it.
   * Never touches `documents` or `journals`: a recipe's state is kept until
   * the recipe deletes or trims it.
   */
  prune(beforeMs: number): Promise<{ cycles: number; events: number }>;
  /** Releases the backend. Further calls reject. Closing twice is harmless. */
  close(): Promise<void>;
  /** A description for logs and status, with any password removed. */
  readonly description: string;
  /**
   * Problems found when the store opened that do not stop it from working
   * (e.g. Redis's `maxmemory-policy` may evict keys). The runtime logs each
   * one at start. Absent or empty when there are none.
   */
  readonly warnings?: readonly string[];
  /**
   * Messages to every process sharing the store (Redis pub/sub). Absent on
   * backends that live in one process (memory) or need none (SQLite, whose
   * readers poll the file).
   */
  readonly broadcast?: Broadcast;
}

/**
 * Fire-and-forget messages between the processes sharing a store. Delivery is
 * at most once and only to subscribers connected at the time: use it to wake
 * readers of the durable parts (event log, cycles), never as the only copy.
 * Channel names are used as given (no key prefix), so other programs can
 * subscribe to them.
 */
export interface Broadcast {
  /** Sends `message` on `channel`. Resolves with how many subscribers got it. */
  publish(channel: string, message: string): Promise<number>;
  /**
   * Calls `onMessage` for every message on `channel` until the returned
   * function is called. Survives reconnects (re-subscribes).
   */
  subscribe(channel: string, onMessage: (message: string) => void): Promise<() => Promise<void>>;
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
  /** Records of every loop still marked running (finishedAt null), oldest first: live or abandoned. */
  running(): Promise<CycleRecord[]>;
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
   * holds its claim and, when `fence` is given, `fence.token` is not lower
   * than the latest token of `fence.key` (see {@link LeaseStore}; a backend
   * whose counters can be lost, Redis without persistence, also refuses
   * tokens from before its current epoch). Returns false (and writes
   * nothing) otherwise.
   *
   * With `options.releaseLease` and a fence, the same atomic operation also
   * frees the fence's lease when `owner` holds it with `fence.token` (as
   * {@link LeaseStore.release}), whether or not the item was completed: the
   * holder's last two writes in one round trip.
   */
  complete(id: string, owner: string, result: ItemResult, fence?: Fence, options?: CompleteOptions): Promise<boolean>;
  /**
   * Extends the claims `owner` holds on `ids` to `until` (heartbeat while the
   * items run). Returns the ids still claimed by `owner` (the others were lost).
   */
  extend(ids: readonly string[], owner: string, until: number): Promise<string[]>;
  /** Moves items claimed by `owner` back to pending. Returns how many moved. */
  release(ids: readonly string[], owner: string): Promise<number>;
  /** Item counts per loop and priority, pending and claimed together, sorted by loop then priority. */
  depth(loop?: string): Promise<Array<{ loop: string; priority: number; count: number }>>;
  /** Items in the queue, lowest priority number first, then oldest; all when no limit. */
  list(loop?: string, options?: { limit?: number }): Promise<QueuedItem[]>;
}

/** Options of {@link WorkQueue.complete}. */
export interface CompleteOptions {
  /** Also release the fence's lease (owner and token must match), in the same operation. Ignored without a fence. */
  readonly releaseLease?: boolean;
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

/**
 * A time-bounded exclusive ownership of a key, with a fencing token.
 *
 * Tokens: every successful `acquire` of a key returns a token greater than
 * every token that key was ever given (in this store), across releases,
 * expiries and takeovers. Writes that carry a fence (`queue.complete`) are
 * refused when their token is lower than the key's latest token, so a holder
 * that lost its lease (paused, partitioned, slow) cannot overwrite the work
 * of the one that took over.
 */
export interface Lease {
  readonly key: string;
  readonly owner: string;
  readonly token: number;
  readonly acquiredAt: number;
  readonly expiresAt: number;
}

/** A fence a write carries: "I hold `key` with `token`". */
export interface Fence {
  readonly key: string;
  readonly token: number;
}

/**
 * Per-key leases. States of a key: free -> held(owner, token, expiresAt)
 * -> free (release by its holder, or expiry). An expired lease counts as
 * free for `acquire` (a takeover) even before `sweep` removed it.
 */
export interface LeaseStore {
  /**
   * Takes `key` for `owner` until `now + ttlMs` when it is free or expired.
   * Returns the new lease (with `tookOverFrom` naming the previous owner when
   * an unreleased, expired lease was taken over), or undefined when another
   * owner holds an unexpired lease. An owner acquiring a key it already holds
   * unexpired gets undefined too: leases are not re-entrant.
   */
  acquire(
    key: string,
    owner: string,
    ttlMs: number,
    now: number,
  ): Promise<(Lease & { tookOverFrom?: string }) | undefined>;
  /**
   * Extends the lease to `now + ttlMs` if `owner` still holds `key` with
   * `token` and it has not expired. Returns the new expiry, or undefined when
   * the lease is lost (expired, released, or taken over). Compare-and-set:
   * never extends someone else's lease.
   */
  renew(key: string, owner: string, token: number, ttlMs: number, now: number): Promise<number | undefined>;
  /** Frees `key` if `owner` holds it with `token`. Returns whether it did. The key's token counter is kept. */
  release(key: string, owner: string, token: number): Promise<boolean>;
  /** Removes leases that expired before `now` and returns them (for stale-lease metrics and logs). */
  sweep(now: number): Promise<Lease[]>;
  /** Unexpired leases at `now`, optionally those whose key starts with `prefix`, ordered by key. */
  list(now: number, options?: { prefix?: string }): Promise<Lease[]>;
  /**
   * The latest token given for `key`; for a key never leased, a base that
   * its first token will exceed (0 on memory and SQLite; on Redis the base of
   * the current epoch, so tokens also grow across a server restart).
   */
  currentToken(key: string): Promise<number>;
}

/** One process of a deployment, as its heartbeat last described it. */
export interface InstanceRecord {
  /** The owner id: `<host>:<pid>:<random>`. */
  readonly id: string;
  readonly host: string;
  readonly pid: number;
  readonly startedAt: number;
  readonly lastBeatAt: number;
  readonly expiresAt: number;
  readonly loops: readonly string[];
}

/** Instance heartbeats (seed 002's `runner:heartbeat:{instance}`). */
export interface InstanceRegistry {
  /** Records that the instance is alive until `now + ttlMs` (insert or update). */
  beat(instance: Omit<InstanceRecord, 'lastBeatAt' | 'expiresAt'>, ttlMs: number, now: number): Promise<void>;
  /** Instances whose heartbeat has not expired at `now`, ordered by id. */
  list(now: number): Promise<InstanceRecord[]>;
  /** Removes the instance (graceful shutdown). */
  remove(id: string): Promise<void>;
}

/**
 * Rate-limit buckets shared by every process on the store: each grants at
 * most `limit` calls in any window of `windowMs`, judged by the `now`s its
 * callers pass (a sliding-window log of the bucket's last `limit` grants;
 * the arithmetic is `takeFromLog` in src/policies/window-log.ts, identical
 * on every backend). Callers pass the window they want enforced, margin
 * included (`windowWithMarginMs`).
 *
 * Deliberately left out: the log's layout, cleanup of buckets no process
 * uses any more (a bucket is at most `limit` numbers), and fairness between
 * waiting processes (whoever asks first once a slot opens gets it).
 */
export interface RateLimitStore {
  /**
   * Grants one call from bucket `name` at `now` (creating the bucket empty)
   * when fewer than `limit` grants lie in `(now - windowMs, now]` and no
   * pause forbids it, and records the grant. Returns `{ granted: true,
   * waitMs: 0 }`, or `{ granted: false, waitMs }` with the whole ms until a
   * call would be granted (a caller that waits that long is granted unless a
   * peer took the slot meanwhile); a refused take writes nothing. Atomic
   * across processes. Rejects with a RangeError naming the bucket when
   * `limit` is not an integer >= 1 or `windowMs` not a number > 0.
   */
  take(name: string, limit: number, windowMs: number, now: number): Promise<{ granted: boolean; waitMs: number }>;
  /**
   * Grants nothing from `name` before `untilMs` (a 429 with Retry-After),
   * then restarts at the steady rate: the k-th call after the pause is
   * granted no earlier than `untilMs + k * windowMs / limit`, on top of the
   * window rule. Never shortens an existing pause.
   */
  pause(name: string, untilMs: number): Promise<void>;
}

/** A document as {@link DocumentStore} keeps it. */
export interface StoredDocument {
  /** The JSON value as written (a JSON round trip of it). */
  readonly value: unknown;
  /**
   * Greater than every version the key had before, also across a delete and
   * re-create (so a compare-and-set against a deleted document's version
   * never passes). Never 0; not consecutive.
   */
  readonly version: number;
  /** The `now` of the write that made this version (epoch ms). */
  readonly updatedAt: number;
}

/** Options of {@link DocumentStore.put}. */
export interface PutOptions {
  /** The write's time (epoch ms), kept as `updatedAt`. */
  readonly now: number;
  /**
   * Write only if the document's current version is this one; 0: only if
   * there is no document. Absent: write whatever is there.
   */
  readonly expectVersion?: number;
}

/** Options of {@link DocumentStore.list}. */
export interface ListDocumentsOptions {
  /** Only keys that start with it. */
  readonly prefix?: string;
  /** Only keys after it (exclusive): pass the last key of a page to read the next. */
  readonly after?: string;
  /** At most this many; all when absent. */
  readonly limit?: number;
}

/**
 * Recipes' durable state: JSON documents, one per (namespace, key), each
 * with a version for compare-and-set (a supervisor's per-service state, a
 * decision engine's open decisions, a controller's inventory snapshot).
 * Namespaces share nothing; use the recipe's name as (the start of) one.
 *
 * Values must be JSON: null, booleans, finite numbers, strings, arrays and
 * plain objects (object properties that are `undefined` are left out, as
 * JSON does). Anything else (undefined, NaN, bigint, a Date, a Map, a class
 * instance, a cycle) is rejected with a TypeError naming where it is,
 * before anything is written. Keys are ordered by their UTF-8 bytes.
 *
 * Left out on purpose: transactions across keys, partial updates, watches,
 * expiry (nothing expires; `Store.prune` leaves documents alone), and any
 * query but a key prefix.
 *
 * @example
 * const doc = await store.documents.get('supervise', 'api');
 * const version = await store.documents.put('supervise', 'api', { restarts: 3 }, {
 *   now: clock.now(),
 *   expectVersion: doc?.version ?? 0,
 * });
 * if (version === undefined) {
 *   // someone else wrote it first: read again and retry
 * }
 */
export interface DocumentStore {
  /** The document, or undefined when there is none. */
  get(namespace: string, key: string): Promise<StoredDocument | undefined>;
  /**
   * Writes `value` as the document's new version, and returns that version;
   * returns undefined, writing nothing, when `expectVersion` was given and
   * does not match (compare-and-set). Rejects with a TypeError when `value`
   * is not JSON, and with a RangeError for a bad `now` or `expectVersion`.
   */
  put(namespace: string, key: string, value: unknown, options: PutOptions): Promise<number | undefined>;
  /**
   * Deletes the document, if `expectVersion` is absent or matches its
   * version. Returns whether a document was deleted (false: none, or
   * another version).
   */
  delete(namespace: string, key: string, expectVersion?: number): Promise<boolean>;
  /** The namespace's documents with their keys, ordered by key. */
  list(namespace: string, options?: ListDocumentsOptions): Promise<Array<StoredDocument & { readonly key: string }>>;
}

/** An entry of a journal. */
export interface JournalEntry {
  /** 1 for a journal's first entry, then consecutive; never reused, also after a trim. */
  readonly seq: number;
  /** The `now` of its append (epoch ms). */
  readonly at: number;
  /** The JSON value as appended. */
  readonly value: unknown;
}

/** Options of {@link JournalStore.trim}. An entry goes when either rule removes it. */
export interface TrimOptions {
  /** Remove the oldest entries while their `at` is before this (epoch ms). */
  readonly before?: number;
  /** Keep at most this many, the newest. */
  readonly keepLast?: number;
}

/**
 * Recipes' durable history: append-only journals, each named (by the recipe,
 * e.g. `decide/audit`), whose entries are JSON values numbered 1, 2, 3...
 * A reader resumes with `read(name, { after: lastSeq })`, and can tell that
 * entries it never read were trimmed when the first seq it gets is greater
 * than `lastSeq + 1`.
 *
 * Trim only ever removes the oldest entries, so a journal always holds one
 * run of consecutive seqs. `Store.prune` leaves journals alone: a journal
 * grows until its recipe trims it.
 *
 * Values follow {@link DocumentStore}'s rule (JSON only, else a TypeError,
 * nothing appended). Left out on purpose: changing or deleting one entry,
 * reading newest first, blocking reads (wake readers with
 * {@link Store.broadcast}), and listing journals.
 *
 * @example
 * const [seq] = await store.journals.append('decide/audit', [{ decision: 'scale-up', by: 'rule-3' }], clock.now());
 * const page = await store.journals.read('decide/audit', { after: lastSeq, limit: 100 });
 * await store.journals.trim('decide/audit', { before: clock.now() - 30 * DAY_MS, keepLast: 10_000 });
 */
export interface JournalStore {
  /**
   * Appends `entries` in order, in one atomic write, all at `now`. Returns
   * their seqs (empty for no entries).
   */
  append(journal: string, entries: readonly unknown[], now: number): Promise<number[]>;
  /** Entries with seq > `after` (default 0), oldest first, at most `limit` (default 1000). */
  read(journal: string, options?: { after?: number; limit?: number }): Promise<JournalEntry[]>;
  /**
   * Removes the oldest entries: those before the first whose `at` is not
   * before `options.before`, and those older than the newest
   * `options.keepLast`. Returns how many went. With neither option, removes
   * nothing. The next append still continues the seqs.
   */
  trim(journal: string, options: TrimOptions): Promise<number>;
}
