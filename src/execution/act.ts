import type { CycleOutcome, CycleRecord, ItemResult, Tick } from '../core/cycle-record.ts';
import { AutoloopError, ShutdownError, toErrorInfo } from '../core/errors.ts';
import type { CycleContext, ResolvedLoop } from '../core/loop.ts';
import type { HeldLease } from '../leases/held-lease.ts';
import type { LeaseManager } from '../leases/lease-manager.ts';
import type { EventBus } from '../observability/events.ts';
import type { InstanceRecord, QueuedItem, Store } from '../storage/store.ts';
import type { Clock, TimerHandle } from '../time/clock.ts';
import { TimerGroup } from '../time/timer-group.ts';
import { AttemptSet } from './attempt.ts';
import type { AttemptGovernor } from './attempt-governor.ts';
import type { WorkerPool } from './pool.ts';
import { runItem } from './run-item.ts';

/** What act needs from the runtime. All ports. */
export interface ActDeps {
  readonly store: Store;
  readonly clock: Clock;
  readonly bus: EventBus;
  readonly pool: WorkerPool;
  readonly random: () => number;
  readonly owner: string;
  /** Per-key leases; absent when the loop opted out (`policies.lease: false`). */
  readonly leases?: LeaseManager;
  /** How long a claim on a queued item lasts between heartbeats (the lease TTL). */
  readonly claimTtlMs: number;
  /** The loop's policies around each attempt; absent = none. */
  readonly governor?: AttemptGovernor;
  /** Called after a succeeded item's result was stored (e.g. to publish it). Must not throw. */
  readonly onStored?: (loop: ResolvedLoop, result: ItemResult, tick: Tick) => void;
  /**
   * Aborts when shutdown begins: no item starts after it. Items not started
   * are released to the queue (a peer or the next process runs them); those
   * in flight finish (until the cycle's own signal aborts them at the end of
   * the grace period).
   */
  readonly closing?: AbortSignal;
}

const RELEASE_LEASE = { releaseLease: true } as const;

/** The lease key of an item: one live holder per loop and item key, across processes. */
export function itemLeaseKey(loop: string, key: string): string {
  return `${loop}/${key}`;
}

/**
 * Runs a cycle's queued items: one per free pool slot, in priority order.
 *
 * Per item: take the key's lease (a live holder elsewhere means the item is
 * recorded as skipped: overrun protection), run it with a signal that also
 * aborts when the lease is lost, then store the result fenced by the lease's
 * token, freeing the lease in the same write. A heartbeat extends the claims on every
 * unfinished item at ttl/3, so a peer adopts them only after this process
 * stops heartbeating (crash, pause) — within one TTL.
 *
 * An item whose lease, result or release the store did not take is counted
 * as not acknowledged and the cycle goes on. It runs again from its queue
 * row (still claimed, adopted once the claim lapses), or from what the Store
 * behind the port kept of the failed write (the runtime's store holds such
 * writes and makes them once the backend answers).
 */
export async function actOnItems(
  loop: ResolvedLoop,
  given: QueuedItem[],
  ctx: CycleContext,
  record: CycleRecord,
  deps: ActDeps,
  /** Ids of items adopted from a stopped holder (not planned by this cycle). */
  adopted: ReadonlySet<string> = new Set(),
): Promise<CycleOutcome> {
  const queued = adopted.size > 0 ? await handOverExcess(loop, given, adopted, deps) : given;
  record.counts.planned = queued.length;
  const claims = new ClaimHeartbeat(queued, deps);
  const attempts = new AttemptSet(ctx.signal);
  // The attempts' deadlines on one clock timer: a clock timer set and cleared per item was ~5 % of a no-op item's CPU.
  const deadlines = new TimerGroup(deps.clock);
  const tally: Tally = { released: 0, lost: 0, unacked: 0, storeError: undefined };
  // Built once per cycle, not per item: the engine's per-item cost is mostly allocation (bench (b), --cpu-prof).
  const itemDeps: ItemDeps = { ...deps, attempts, deadlines, claims };
  // Never rejects: a rejection here would surface while later items still wait for a slot (unhandled).
  const runOne = async (item: QueuedItem, entered: EnteringItem) => {
    if (claims.lost(item.id)) return; // a peer adopted it while it waited for a slot
    let outcome: ItemEnd;
    try {
      outcome = await runLeased(loop, item, ctx, record, itemDeps, adopted.has(item.id), entered);
    } catch (error) {
      // The store failed around this item (lease, complete, release): it was not acknowledged.
      tally.storeError ??= error;
      outcome = 'unacked';
    }
    claims.done(item.id);
    if (outcome === 'unacked' || outcome === 'released' || outcome === 'lost') tally[outcome]++;
    else if (outcome !== 'deferred') record.counts[outcome]++;
  };
  const closing = deps.closing;
  // The wait below, while the loop waits (else null). Shutdown, an item entering the pool and a pool
  // slot freeing all wake it; a wake while nobody waits does nothing. Racing a promise that lives as
  // long as the cycle would leave one reaction on it per wait, thousands in a large cycle; a settable
  // per entering item and a Promise.race per wait were the loop's own allocations per item.
  let wait: { promise: Promise<void>; resolve: () => void } | null = null;
  const wakeUp = () => {
    const was = wait;
    wait = null;
    was?.resolve();
  };
  closing?.addEventListener('abort', wakeUp, { once: true });
  try {
    // Items launched and not yet ended; the cycle ends when the last one does. A count and one settable,
    // not a set of promises and a finally() per item.
    let live = 0;
    let allEnded: { promise: Promise<void>; resolve: () => void } | null = null;
    let broken: { error: unknown } | null = null; // runOne never rejects; were it to, the cycle does once all ended
    const ended = (slot: EnteringItem) => {
      slot.entered();
      if (--live === 0) allEnded?.resolve();
    };
    // Items between "launched" and "holding a pool slot" (taking their lease): counted against the
    // concurrency so no more leases are taken than there are slots, yet several may be taken at once
    // (the store batches them into one call). A slot frees when a task leaves the pool or an entering
    // item ends without a slot (its lease was held elsewhere); the loop waits for either, so the next
    // item's lease is asked for in the same turn as the finished item's result is written.
    let entering = 0;
    const onEntered = () => {
      entering--;
      wakeUp();
    };
    const { pool } = deps;
    for (let index = 0; index < queued.length; index++) {
      const item = queued[index] as QueuedItem;
      while (!closing?.aborted && pool.active + pool.waiting + entering >= pool.concurrency) {
        wait = settable();
        void pool.nextRelease().then(wakeUp); // settles at the pool's next change; a late one wakes nobody
        await wait.promise;
      }
      if (closing?.aborted) {
        // Shutdown began: start nothing new. The rest go back to the queue, claims released now.
        await releaseUnstarted(queued.slice(index), deps, claims, tally);
        break;
      }
      entering++;
      live++;
      const slot = new EnteringItem(onEntered);
      void runOne(item, slot).then(
        () => ended(slot),
        (error: unknown) => {
          broken ??= { error };
          ended(slot);
        },
      );
    }
    if (live > 0) {
      allEnded = settable();
      await allEnded.promise;
    }
    if (broken) throw broken.error;
  } finally {
    closing?.removeEventListener('abort', wakeUp);
    attempts.dispose();
    deadlines.dispose();
    claims.stop();
  }
  return outcomeOf(record, tally);
}

/**
 * The cycle's items less the orphans it cannot start now, handed back to the
 * queue for an idle peer. A crash early in a cycle leaves all its items
 * claimed; their claims lapse together and the first cycle to look adopts
 * them all, so with more orphans than free slots the last ones waited for
 * this instance's slots while its peers sat idle. A cycle that adopted
 * orphans of more keys than it has free pool slots keeps the first keys
 * that fit and, when another live instance runs the loop, releases the
 * others' items: the orphans and its own planned items of those keys, which
 * then run after their orphan wherever it runs (the queue is taken oldest
 * first), not take the key's lease before the peer that adopts the orphan
 * can. Peers adopt released items at their next recovery tick. With no live
 * peer, or a release the store refuses, the cycle keeps everything.
 */
async function handOverExcess(
  loop: ResolvedLoop,
  queued: QueuedItem[],
  adopted: ReadonlySet<string>,
  deps: ActDeps,
): Promise<QueuedItem[]> {
  const { pool, store, owner, clock } = deps;
  const keep = Math.max(0, pool.concurrency - pool.active - pool.waiting);
  if (adopted.size <= keep) return queued;
  // By key: an orphan and a planned run of its key go one after the other wherever they run.
  const keptKeys = new Set<string>();
  const excessKeys = new Set<string>();
  for (const item of queued) {
    if (!adopted.has(item.id) || keptKeys.has(item.key) || excessKeys.has(item.key)) continue;
    if (keptKeys.size < keep) keptKeys.add(item.key);
    else excessKeys.add(item.key);
  }
  if (excessKeys.size === 0) return queued;
  const handed = queued.filter((item) => excessKeys.has(item.key));
  try {
    // A peer that beat within half the TTL (a live one beats every third of it): the holder that just died may still be listed.
    const now = clock.now();
    const live = (peer: InstanceRecord) =>
      peer.id !== owner && peer.loops.includes(loop.name) && now - peer.lastBeatAt <= deps.claimTtlMs / 2;
    if (!(await store.instances.list(now)).some(live)) return queued;
    await store.queue.release(
      handed.map((item) => item.id),
      owner,
    );
    const gone = new Set(handed);
    return queued.filter((item) => !gone.has(item));
  } catch {
    return queued;
  }
}

/** Items a closing cycle never started: released to the queue and counted as such (a failed release: unacked). */
async function releaseUnstarted(items: readonly QueuedItem[], deps: ActDeps, claims: ClaimHeartbeat, tally: Tally) {
  const live = items.filter((item) => !claims.lost(item.id));
  for (const item of live) claims.done(item.id);
  if (live.length === 0) return;
  try {
    tally.released += await deps.store.queue.release(
      live.map((item) => item.id),
      deps.owner,
    );
  } catch (error) {
    tally.storeError ??= error;
    tally.unacked += live.length;
  }
}

/** An item of the cycle on its way into the pool: `entered()` says it got there (or will not run), once. */
class EnteringItem {
  readonly #onEntered: () => void;
  #done = false;

  constructor(onEntered: () => void) {
    this.#onEntered = onEntered;
  }

  entered(): void {
    if (this.#done) return;
    this.#done = true;
    this.#onEntered();
  }
}

/** A promise and the function that resolves it. */
function settable(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

interface Tally {
  released: number;
  lost: number;
  /** Items whose acknowledgement the store did not take (the store's port decides how they run again). */
  unacked: number;
  storeError: unknown;
}

/**
 * `released`: returned to the queue by shutdown. `deferred`: an adopted item
 * whose key is still leased (its dead holder's lease has not expired yet):
 * returned to the queue for the next recovery tick. `lost`: a peer owns it now.
 */
type ItemEnd = 'succeeded' | 'failed' | 'skipped' | 'released' | 'deferred' | 'lost' | 'unacked';

/** What each item of a cycle runs with: the act's deps, the cycle's attempts and its claims. */
type ItemDeps = ActDeps & {
  readonly attempts: AttemptSet;
  readonly deadlines: TimerGroup;
  /** `done(id)` as the item's final queue write (complete or release) goes out: its claim needs no more heartbeats. */
  readonly claims: ClaimHeartbeat;
};

async function runLeased(
  loop: ResolvedLoop,
  item: QueuedItem,
  ctx: CycleContext,
  record: CycleRecord,
  deps: ItemDeps,
  adopted: boolean,
  /** Told once the item holds a pool slot (or will not run). */
  slot: EnteringItem,
): Promise<ItemEnd> {
  const { store, owner, clock, bus, claims } = deps;
  let lease: HeldLease | undefined;
  if (deps.leases && loop.policies.lease) {
    lease = await deps.leases.acquire(itemLeaseKey(loop.name, item.key));
    if (!lease && adopted) lease = await afterLapse(loop, item, ctx, deps);
    if (!lease && adopted) {
      // Not an overrun: this is the dead holder's own item. Retry once its lease expires.
      claims.done(item.id);
      return (await store.queue.release([item.id], owner)) > 0 ? 'deferred' : 'lost';
    }
    if (!lease) {
      const reason = `lease ${itemLeaseKey(loop.name, item.key)} is held by another run (overrun protection)`;
      bus.emit('item.skipped', { loop: loop.name, cycleId: record.id, key: item.key, reason });
      const result = skippedResult(item, record, clock.now(), reason);
      claims.done(item.id);
      return (await store.queue.complete(item.id, owner, result)) ? 'skipped' : 'lost';
    }
  }
  if (deps.closing?.aborted) {
    // Shutdown began while the lease was being taken: the item does not start.
    if (lease) await deps.leases?.release(lease).catch(() => {});
    claims.done(item.id);
    slot.entered();
    return (await store.queue.release([item.id], owner)) > 0 ? 'released' : 'lost';
  }
  try {
    const running = runItem(loop, item, ctx, deps, lease); // submits its first attempt to the pool now
    slot.entered();
    const result: ItemResult = await running;
    if (result.status === 'failed' && ctx.signal.aborted && result.error?.name === ShutdownError.name) {
      claims.done(item.id);
      return (await store.queue.release([item.id], owner)) > 0 ? 'released' : 'lost';
    }
    // A holder whose lease lapsed (pause, blocked event loop) fences itself before writing.
    if (lease && !lease.valid) return 'lost';
    // runItem names the cycle it ran in, which is this record's unless a caller's context said otherwise.
    const final = result.cycleId === record.id ? result : { ...result, cycleId: record.id };
    claims.done(item.id);
    const stored =
      lease && deps.leases
        ? // The lease is freed by the same write: one round trip for both.
          await deps.leases.releaseWith(lease, () =>
            store.queue.complete(item.id, owner, final, lease.fence, RELEASE_LEASE),
          )
        : await store.queue.complete(item.id, owner, final);
    if (stored && final.status === 'succeeded') deps.onStored?.(loop, final, ctx.tick);
    return stored ? result.status : 'lost';
  } finally {
    // Still held when the item ended before its complete, or the complete failed: freed on its own. A
    // release the store did not take only makes the key wait for the lease's TTL.
    if (lease?.state === 'held') await deps.leases?.release(lease).catch(() => {});
  }
}

/**
 * The lease of an adopted item once its dead holder's lease lapses, when
 * that is soon. The holder's claim on the queue row was set when its cycle
 * began and its lease when the item started, so the claim can lapse first:
 * the item is adopted while its key is still leased. Waiting here for the
 * lease (at most a third of the claim TTL, a claim heartbeat's period)
 * starts it at the lapse, instead of sending it back to the queue for a
 * later recovery tick. A key leased for longer (a live holder that renews)
 * gets undefined at once, as before.
 */
async function afterLapse(
  loop: ResolvedLoop,
  item: QueuedItem,
  ctx: CycleContext,
  deps: ItemDeps,
): Promise<HeldLease | undefined> {
  const { store, clock, leases, owner, claimTtlMs } = deps;
  const key = itemLeaseKey(loop.name, item.key);
  const held = (await store.leases.list(clock.now(), { prefix: key })).find((l) => l.key === key);
  const waitMs = held ? held.expiresAt - clock.now() : 0;
  if (!held || held.owner === owner || waitMs > claimTtlMs / 3) return undefined;
  try {
    await clock.sleep(waitMs, ctx.signal);
  } catch {
    return undefined; // aborted: shutdown or the cycle's end; the item goes back to the queue
  }
  return leases?.acquire(key);
}

function skippedResult(item: QueuedItem, record: CycleRecord, now: number, reason: string): ItemResult {
  return {
    cycleId: record.id,
    loop: record.loop,
    key: item.key,
    idempotencyKey: item.idempotencyKey,
    priority: item.priority,
    status: 'skipped',
    attempts: 0,
    startedAt: now,
    finishedAt: now,
    durationMs: 0,
    ...(item.payload !== undefined && { payload: item.payload }),
    error: { name: 'LeaseHeld', message: reason },
  };
}

function outcomeOf(record: CycleRecord, tally: Tally): CycleOutcome {
  if (tally.unacked > 0) {
    // Counted as failed here; they run again from the queue, and a later cycle records their real outcome.
    record.counts.failed += tally.unacked + tally.lost;
    const reason = tally.storeError instanceof Error ? tally.storeError.message : String(tally.storeError);
    const error = new AutoloopError(
      `store unavailable: ${tally.unacked} item(s) could not be acknowledged; once the store is back their results are written, or they run again if another instance took them over (${reason})`,
      { cause: tally.storeError },
    );
    if (record.counts.succeeded === 0) return { kind: 'failed', step: 'act', error: toErrorInfo(error) };
    return { kind: 'partial', failed: record.counts.failed };
  }
  if (tally.released > 0) {
    const { succeeded, failed, skipped } = record.counts;
    const error = new ShutdownError(
      `interrupted by shutdown: ${tally.released} item(s) returned to the queue for the next cycle ` +
        `(not started or not finished; ${succeeded} succeeded, ${failed} failed, ${skipped} skipped before the stop)`,
    );
    return { kind: 'failed', step: 'act', error: toErrorInfo(error) };
  }
  // Items whose lease or claim went to another process did not complete in this cycle: they count as
  // failed here (their result, if any, is the other process's to write).
  record.counts.failed += tally.lost;
  if (tally.lost > 0 && record.counts.succeeded === 0) {
    const error = new AutoloopError(
      `${tally.lost} item(s) lost their lease or claim before completing (to another process, or it lapsed while the store did not answer)`,
    );
    return { kind: 'failed', step: 'act', error: toErrorInfo(error) };
  }
  const { succeeded, failed } = record.counts;
  if (failed === 0) return { kind: 'ok' };
  if (succeeded === 0) {
    return { kind: 'failed', step: 'act', error: toErrorInfo(new AutoloopError(`all ${failed} item(s) failed`)) };
  }
  return { kind: 'partial', failed };
}

/**
 * Keeps this cycle's queue claims alive: every ttl/3 one `extend` call for
 * all unfinished items. Items whose claim could not be extended were adopted
 * by a peer; they are not started here.
 */
class ClaimHeartbeat {
  readonly #deps: ActDeps;
  readonly #open = new Set<string>();
  readonly #lost = new Set<string>();
  #timer: TimerHandle | null = null;
  #stopped = false;

  constructor(items: QueuedItem[], deps: ActDeps) {
    this.#deps = deps;
    for (const item of items) this.#open.add(item.id);
    this.#schedule();
  }

  lost(id: string): boolean {
    return this.#lost.has(id);
  }

  done(id: string): void {
    this.#open.delete(id);
  }

  stop(): void {
    this.#stopped = true;
    this.#timer?.cancel();
  }

  #schedule(): void {
    if (this.#stopped || this.#open.size === 0) return;
    this.#timer = this.#deps.clock.setTimer(this.#deps.claimTtlMs / 3, () => void this.#beat());
  }

  async #beat(): Promise<void> {
    const { store, owner, clock, claimTtlMs } = this.#deps;
    const ids = [...this.#open];
    try {
      const held = new Set(await store.queue.extend(ids, owner, clock.now() + claimTtlMs));
      for (const id of ids) {
        if (!held.has(id) && this.#open.delete(id)) this.#lost.add(id);
      }
    } catch {
      // Store unreachable: try again next beat; fenced writes protect the results meanwhile.
    }
    this.#schedule();
  }
}
