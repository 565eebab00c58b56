import type { CycleRecord, ItemResult } from '../../core/cycle-record.ts';
import type { WorkItem } from '../../core/work-item.ts';
import type { Entropy } from '../../time/entropy.ts';
import { systemEntropy } from '../../time/system-entropy.ts';
import {
  type Claim,
  type CycleStore,
  type DocumentStore,
  type EventLog,
  type InstanceRegistry,
  type JournalStore,
  type LeaseStore,
  type QueuedItem,
  type RateLimitStore,
  type Store,
  type StoredEvent,
  StoreError,
  type WorkQueue,
} from '../store.ts';
import { jsonCopy } from './json-copy.ts';
import { MemoryRateLimitStore } from './memory-buckets.ts';
import { MemoryDocumentStore } from './memory-documents.ts';
import { MemoryInstanceRegistry } from './memory-instances.ts';
import { MemoryJournalStore } from './memory-journals.ts';
import { MemoryLeaseStore } from './memory-leases.ts';

const DEFAULT_EVENT_LIMIT = 1000;

/** A queued item as held here: mutable claim and cycle, plus insertion order for ties. */
interface QueueEntry {
  seq: number;
  item: QueuedItem;
}

/**
 * A store that lives in this process's memory and is lost when it exits: for
 * tests, the `simulate` command and trying things out. It keeps the same
 * contract as the durable backends, including their JSON round trip (values
 * come back as `JSON.parse(JSON.stringify(value))`), so a test that passes
 * here does not depend on sharing objects with the store.
 *
 * @example
 * const store = new MemoryStore();
 * await store.cycles.start(record);
 */
export class MemoryStore implements Store {
  readonly description = 'memory://';
  readonly cycles: CycleStore;
  readonly queue: WorkQueue;
  readonly events: EventLog;
  readonly leases: LeaseStore;
  readonly instances: InstanceRegistry;
  readonly buckets: RateLimitStore;
  readonly documents: DocumentStore;
  readonly journals: JournalStore;

  /** The same object as `leases`, with the synchronous token lookup that fenced completes need. */
  readonly #leases: MemoryLeaseStore;
  readonly #instances: MemoryInstanceRegistry;
  readonly #cycles = new Map<string, CycleRecord>();
  readonly #tickIds = new Set<string>();
  /** Ids of records not finished yet: `running()` is asked every second by every instance, the records are many. */
  readonly #unfinished = new Set<string>();
  /** Per cycle id, results in write order; `seq` breaks finishedAt ties. */
  readonly #results = new Map<string, Array<{ seq: number; result: ItemResult }>>();
  readonly #queue = new Map<string, QueueEntry>();
  readonly #idempotencyKeys = new Set<string>();
  #events: StoredEvent[] = [];
  #nextSeq = 1;
  #closed = false;
  readonly #entropy: Entropy;

  /** @param options.entropy where queued item ids come from (default: the system's) */
  constructor(options: { entropy?: Entropy } = {}) {
    this.#entropy = options.entropy ?? systemEntropy;
    this.cycles = this.#cycleStore();
    this.queue = this.#workQueue();
    this.events = this.#eventLog();
    const open = (op: string) => this.#open(op);
    this.#leases = new MemoryLeaseStore(open);
    this.leases = this.#leases;
    this.#instances = new MemoryInstanceRegistry(open);
    this.instances = this.#instances;
    this.buckets = new MemoryRateLimitStore(open);
    this.documents = new MemoryDocumentStore(open);
    this.journals = new MemoryJournalStore(open);
  }

  /**
   * Whether a recovery tick of `owner` at `now` would find nothing here: no
   * expired lease to sweep, no queued item to adopt (unclaimed, or its claim
   * lapsed) and no unfinished cycle record of another process whose
   * heartbeat lapsed. `autoloop simulate` lets its clock skip such ticks.
   */
  nothingToRecover(owner: string, now: number): boolean {
    if (this.#closed || this.#leases.anyExpired(now)) return false;
    for (const { item } of this.#queue.values()) {
      if (item.claim === null || item.claim.until <= now) return false;
    }
    for (const id of this.#unfinished) {
      const record = this.#cycles.get(id);
      if (record && record.owner !== owner && !this.#instances.isLive(record.owner, now)) return false;
    }
    return true;
  }

  async ping(): Promise<void> {
    this.#open('ping');
  }

  async prune(beforeMs: number): Promise<{ cycles: number; events: number }> {
    this.#open('prune');
    let cycles = 0;
    for (const [id, record] of this.#cycles) {
      if (record.startedAt >= beforeMs) continue;
      this.#cycles.delete(id);
      this.#unfinished.delete(id);
      this.#tickIds.delete(record.tickId);
      this.#results.delete(id);
      cycles++;
    }
    for (const [cycleId, list] of this.#results) {
      const kept = list.filter((r) => r.result.finishedAt >= beforeMs);
      if (kept.length === 0) this.#results.delete(cycleId);
      else this.#results.set(cycleId, kept);
    }
    const before = this.#events.length;
    this.#events = this.#events.filter((e) => e.at >= beforeMs);
    return { cycles, events: before - this.#events.length };
  }

  async close(): Promise<void> {
    this.#closed = true;
  }

  #open(op: string): void {
    if (this.#closed) throw new StoreError(`memory: ${op}: the store is closed`);
  }

  #cycleStore(): CycleStore {
    return {
      start: async (record) => {
        this.#open('cycles.start');
        if (this.#tickIds.has(record.tickId) || this.#cycles.has(record.id)) return false;
        this.#cycles.set(record.id, clone(record));
        this.#tickIds.add(record.tickId);
        if (record.finishedAt === null) this.#unfinished.add(record.id);
        return true;
      },
      finish: async (record) => {
        this.#open('cycles.finish');
        const stored = this.#cycles.get(record.id);
        if (!stored) return;
        // Only the fields a finish changes are copied (the record's other fields are stored already).
        const { finishedAt, steps, counts, outcome } = clone({
          finishedAt: record.finishedAt,
          steps: record.steps,
          counts: record.counts,
          outcome: record.outcome,
        });
        this.#cycles.set(record.id, { ...stored, finishedAt, steps, counts, outcome });
        if (finishedAt === null) this.#unfinished.add(record.id);
        else this.#unfinished.delete(record.id);
      },
      get: async (id) => {
        this.#open('cycles.get');
        const record = this.#cycles.get(id);
        return record && clone(record);
      },
      list: async (loop, options) => {
        this.#open('cycles.list');
        return take(this.#loopCycles(loop), options?.limit).map(clone);
      },
      items: async (cycleId) => {
        this.#open('cycles.items');
        const list = [...(this.#results.get(cycleId) ?? [])];
        list.sort((a, b) => a.result.finishedAt - b.result.finishedAt || a.seq - b.seq);
        return list.map((r) => clone(r.result));
      },
      running: async () => {
        this.#open('cycles.running');
        return [...this.#unfinished]
          .map((id) => this.#cycles.get(id) as CycleRecord)
          .sort((a, b) => a.startedAt - b.startedAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
          .map(clone);
      },
      summary: async (loop) => {
        this.#open('cycles.summary');
        const records = this.#loopCycles(loop);
        const last = records[0];
        const success = records.find((r) => r.outcome.kind === 'ok' || r.outcome.kind === 'partial');
        return {
          ...(last && { last: clone(last) }),
          ...(success?.finishedAt != null && { lastSuccessAt: success.finishedAt }),
        };
      },
    };
  }

  /** The loop's records, newest first (startedAt, then id), as stored (not cloned). */
  #loopCycles(loop: string): CycleRecord[] {
    return [...this.#cycles.values()]
      .filter((r) => r.loop === loop)
      .sort((a, b) => b.startedAt - a.startedAt || compareText(b.id, a.id));
  }

  #workQueue(): WorkQueue {
    return {
      enqueue: async (loop: string, cycleId: string, items: readonly WorkItem[], claim: Claim | null, now: number) => {
        this.#open('queue.enqueue');
        const added: QueuedItem[] = [];
        for (const item of items) {
          if (this.#idempotencyKeys.has(item.idempotencyKey)) continue;
          const queued: QueuedItem = {
            id: this.#entropy.id(),
            loop,
            cycleId,
            key: item.key,
            priority: item.priority,
            payload: clone(item.payload),
            idempotencyKey: item.idempotencyKey,
            enqueuedAt: now,
            claim: claim && { owner: claim.owner, until: claim.until },
          };
          this.#queue.set(queued.id, { seq: this.#nextSeq++, item: queued });
          this.#idempotencyKeys.add(item.idempotencyKey);
          added.push(copyQueued(queued));
        }
        return added;
      },
      claimStale: async (loop, cycleId, claim, now, limit) => {
        this.#open('queue.claimStale');
        const claimable = this.#ordered(loop, (e) => e.item.claim === null || e.item.claim.until <= now);
        return take(claimable, limit).map((entry) => {
          entry.item = { ...entry.item, cycleId, claim: { owner: claim.owner, until: claim.until } };
          return copyQueued(entry.item);
        });
      },
      complete: async (id, owner, result, fence, options) => {
        this.#open('queue.complete');
        if (fence && options?.releaseLease) this.#leases.releaseNow(fence.key, owner, fence.token);
        const entry = this.#queue.get(id);
        if (entry?.item.claim?.owner !== owner) return false;
        if (fence && fence.token < this.#leases.latestToken(fence.key)) return false;
        this.#queue.delete(id);
        this.#idempotencyKeys.delete(entry.item.idempotencyKey);
        const list = this.#results.get(result.cycleId) ?? [];
        list.push({ seq: this.#nextSeq++, result: clone(result) });
        this.#results.set(result.cycleId, list);
        return true;
      },
      extend: async (ids, owner, until) => {
        this.#open('queue.extend');
        const held: string[] = [];
        for (const id of new Set(ids)) {
          const entry = this.#queue.get(id);
          if (entry?.item.claim?.owner !== owner) continue;
          entry.item = { ...entry.item, claim: { owner, until } };
          held.push(id);
        }
        return held;
      },
      release: async (ids, owner) => {
        this.#open('queue.release');
        let moved = 0;
        for (const id of ids) {
          const entry = this.#queue.get(id);
          if (entry?.item.claim?.owner !== owner) continue;
          entry.item = { ...entry.item, claim: null };
          moved++;
        }
        return moved;
      },
      depth: async (loop) => {
        this.#open('queue.depth');
        const counts = new Map<string, { loop: string; priority: number; count: number }>();
        for (const { item } of this.#ordered(loop)) {
          const id = JSON.stringify([item.loop, item.priority]);
          const row = counts.get(id) ?? { loop: item.loop, priority: item.priority, count: 0 };
          row.count++;
          counts.set(id, row);
        }
        return [...counts.values()].sort((a, b) => compareText(a.loop, b.loop) || a.priority - b.priority);
      },
      list: async (loop, options) => {
        this.#open('queue.list');
        return take(this.#ordered(loop), options?.limit).map((e) => copyQueued(e.item));
      },
    };
  }

  /** Queue entries of `loop` (all loops when undefined): lowest priority number first, then oldest. */
  #ordered(loop: string | undefined, where: (entry: QueueEntry) => boolean = () => true): QueueEntry[] {
    const found: QueueEntry[] = [];
    for (const e of this.#queue.values()) if ((loop === undefined || e.item.loop === loop) && where(e)) found.push(e);
    return found.sort(
      (a, b) => a.item.priority - b.item.priority || a.item.enqueuedAt - b.item.enqueuedAt || a.seq - b.seq,
    );
  }

  #eventLog(): EventLog {
    let nextEventSeq = 1;
    const matching = (loop: string | undefined) =>
      loop === undefined ? this.#events : this.#events.filter((e) => e.loop === loop);
    return {
      append: async (events) => {
        this.#open('events.append');
        for (const e of events) {
          this.#events.push({ seq: nextEventSeq++, at: e.at, type: e.type, loop: e.loop, data: clone(e.data) });
        }
      },
      after: async (afterSeq, options) => {
        this.#open('events.after');
        const found = matching(options?.loop).filter((e) => e.seq > afterSeq);
        return take(found, options?.limit ?? DEFAULT_EVENT_LIMIT).map(copyEvent);
      },
      latest: async (options) => {
        this.#open('events.latest');
        const limit = Math.max(0, Math.floor(options?.limit ?? DEFAULT_EVENT_LIMIT));
        const found = matching(options?.loop);
        return (limit === 0 ? [] : found.slice(-limit)).map(copyEvent);
      },
    };
  }
}

/** The first `limit` entries (all when undefined; none when <= 0), as the SQL backends' LIMIT does. */
function take<T>(list: T[], limit: number | undefined): T[] {
  if (limit === undefined) return list;
  return list.slice(0, Math.max(0, Math.floor(limit)));
}

/** A JSON round trip's result: what a durable backend would hand back (see jsonCopy). */
const clone = jsonCopy;

function copyQueued(item: QueuedItem): QueuedItem {
  return { ...item, payload: clone(item.payload), claim: item.claim && { ...item.claim } };
}

function copyEvent(event: StoredEvent): StoredEvent {
  return { ...event, data: clone(event.data) };
}

/** Code-unit order, like SQLite's default BINARY collation for ASCII ids. */
function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
