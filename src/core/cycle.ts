import type { EventBus } from '../observability/events.ts';
import type { QueuedItem, Store } from '../storage/store.ts';
import type { Clock } from '../time/clock.ts';
import type { Entropy } from '../time/entropy.ts';
import type { CycleOutcome, CycleRecord, Tick } from './cycle-record.ts';
import { AutoloopError, toErrorInfo } from './errors.ts';
import type { CycleContext, ResolvedLoop } from './loop.ts';
import { type PlannedItem, priorityValue, type WorkItem } from './work-item.ts';

/**
 * Runs a cycle's queued items (the act step) and resolves with the cycle's
 * outcome; `adopted` are the ids of items taken over from earlier cycles.
 * The execution layer supplies it (execution/act.ts: pool, leases,
 * policies); core knows only this signature.
 */
export type ActStep = (
  loop: ResolvedLoop,
  queued: readonly QueuedItem[],
  ctx: CycleContext,
  record: CycleRecord,
  adopted: ReadonlySet<string>,
) => Promise<CycleOutcome>;

/** What a cycle needs from the runtime. All ports; no I/O of its own. */
export interface CycleDeps {
  readonly store: Store;
  readonly clock: Clock;
  readonly bus: EventBus;
  readonly owner: string;
  /** How long a claim on a queued item lasts between heartbeats (the lease TTL). */
  readonly claimTtlMs: number;
  /** Where cycle ids come from. */
  readonly entropy: Entropy;
  /** The act step. */
  readonly act: ActStep;
}

/** Error thrown by a plan that returned something that is not a list of items. */
export class PlanError extends AutoloopError {
  override name = 'PlanError';
}

/**
 * Runs one cycle: observe -> plan -> act -> record.
 *
 * The record is written first (which claims the tick: a second process gets
 * `false` and reports a skip), items are written to the queue before they
 * run, and each result is stored together with the removal of its queue row.
 * Items left in the loop's queue by a crashed cycle are adopted and run again
 * before the newly planned ones of the same priority.
 *
 * Never rejects for a failure of the loop's own code; the outcome says what
 * happened. A store failure while claiming the tick skips it, one while
 * queueing or acknowledging items fails the cycle's `act` step; it rejects
 * only when the store refuses to record the cycle (its skip or its finish).
 */
export async function runCycle(
  loop: ResolvedLoop,
  tick: Tick,
  deps: CycleDeps,
  signal: AbortSignal,
): Promise<CycleRecord> {
  const { clock, store, bus } = deps;
  const record = newRecord(deps.entropy.id(), loop, tick, deps);
  let started: boolean;
  try {
    started = await store.cycles.start(record);
  } catch (error) {
    return skipUnclaimed(record, error, deps);
  }
  if (!started) {
    const reason = `duplicate tick: ${tick.id} already has a cycle record (another process ran it)`;
    bus.emit('cycle.skipped', { loop: loop.name, tickId: tick.id, reason });
    return { ...record, finishedAt: record.startedAt, outcome: { kind: 'skipped', reason } };
  }
  bus.emit('cycle.started', { loop: loop.name, cycleId: record.id, tickId: tick.id, trigger: tick.trigger });
  const ctx: CycleContext = { loop: loop.name, cycleId: record.id, tick, signal, clock };
  record.outcome = await observePlanAct(loop, ctx, record, deps);
  return finishRecord(record, deps);
}

/**
 * The tick could not be claimed because the store failed: the tick is
 * skipped, and the skip is written as its record (a store that keeps writes
 * it cannot make yet takes it; a peer's record of the tick wins). Rejects
 * when the store refuses that write too.
 */
async function skipUnclaimed(record: CycleRecord, error: unknown, deps: CycleDeps): Promise<CycleRecord> {
  const text = errorText(error);
  const reason = text.startsWith('store unavailable') ? text : `store unavailable: ${text}`;
  const skipped: CycleRecord = { ...record, finishedAt: record.startedAt, outcome: { kind: 'skipped', reason } };
  // A tick another process recorded meanwhile is not a skip of ours to report.
  if (await deps.store.cycles.start(skipped)) {
    deps.bus.emit('cycle.skipped', { loop: record.loop, tickId: record.tickId, reason });
  }
  return skipped;
}

function newRecord(id: string, loop: ResolvedLoop, tick: Tick, deps: CycleDeps): CycleRecord {
  return {
    id,
    loop: loop.name,
    tickId: tick.id,
    trigger: tick.trigger,
    scheduledAt: tick.scheduledAt,
    startedAt: deps.clock.now(),
    finishedAt: null,
    steps: {},
    counts: { planned: 0, succeeded: 0, failed: 0, skipped: 0 },
    outcome: { kind: 'running' },
    owner: deps.owner,
  };
}

async function finishRecord(record: CycleRecord, deps: CycleDeps): Promise<CycleRecord> {
  record.finishedAt = deps.clock.now();
  await deps.store.cycles.finish(record);
  deps.bus.emit('cycle.finished', {
    loop: record.loop,
    cycleId: record.id,
    tickId: record.tickId,
    outcome: record.outcome,
    durationMs: record.finishedAt - record.startedAt,
    counts: record.counts,
    steps: record.steps,
  });
  return record;
}

/**
 * What the next cycle would do, without acting: observe and plan only
 * (`autoloop plan <loop>`, a dry run). Nothing is written to the store.
 * Rejects with the step's error, prefixed with `observe` or `plan`.
 */
export async function planCycle(
  loop: ResolvedLoop,
  tick: Tick,
  ctx: Omit<CycleContext, 'tick' | 'loop' | 'cycleId'>,
): Promise<WorkItem[]> {
  const full: CycleContext = { ...ctx, loop: loop.name, cycleId: 'dry-run', tick };
  let step: 'observe' | 'plan' = 'observe';
  try {
    const snapshot = await loop.observe(full);
    step = 'plan';
    return normalisePlan(await loop.plan(snapshot, full), loop.name, tick.id);
  } catch (error) {
    throw contextual(error, `plan ${loop.name}: ${step}`);
  }
}

async function observePlanAct(
  loop: ResolvedLoop,
  ctx: CycleContext,
  record: CycleRecord,
  deps: CycleDeps,
): Promise<CycleOutcome> {
  const { clock } = deps;
  let t = clock.monotonic();
  let items: WorkItem[];
  try {
    const snapshot = await loop.observe(ctx);
    record.steps.observeMs = clock.monotonic() - t;
    t = clock.monotonic();
    try {
      items = normalisePlan(await loop.plan(snapshot, ctx), loop.name, ctx.tick.id);
    } finally {
      record.steps.planMs = clock.monotonic() - t;
    }
  } catch (error) {
    const step = record.steps.observeMs === undefined ? 'observe' : 'plan';
    if (step === 'observe') record.steps.observeMs = clock.monotonic() - t;
    return { kind: 'failed', step, error: toErrorInfo(contextual(error, `cycle ${loop.name}#${record.id}: ${step}`)) };
  }
  t = clock.monotonic();
  try {
    return await act(loop, items, ctx, record, deps);
  } finally {
    record.steps.actMs = clock.monotonic() - t;
  }
}

async function act(
  loop: ResolvedLoop,
  planned: WorkItem[],
  ctx: CycleContext,
  record: CycleRecord,
  deps: CycleDeps,
): Promise<CycleOutcome> {
  const { store, clock, owner } = deps;
  const claim = { owner, until: clock.now() + deps.claimTtlMs };
  let added: QueuedItem[] = [];
  let adopted: QueuedItem[];
  try {
    // Planned items first: a store that fails then has seen every item this cycle meant to run (and can
    // keep them for later); orphans not adopted stay in the queue for the next cycle.
    added = await store.queue.enqueue(loop.name, record.id, planned, claim, clock.now());
    adopted = await store.queue.claimStale(loop.name, record.id, claim, clock.now(), ADOPT_LIMIT);
  } catch (error) {
    record.counts.planned = planned.length;
    record.counts.failed = record.counts.planned;
    const message = `store unavailable: ${record.counts.planned} item(s) could not be queued (${errorText(error)})`;
    return { kind: 'failed', step: 'act', error: toErrorInfo(new AutoloopError(message, { cause: error })) };
  }
  // In priority order: the pool starts the first ones at once, before later ones could outrank them.
  const queued: QueuedItem[] = [...adopted, ...added].sort((a, b) => a.priority - b.priority);
  return deps.act(loop, queued, ctx, record, new Set(adopted.map((item) => item.id)));
}

/** Orphaned items one cycle adopts at most; the rest wait for the next. */
const ADOPT_LIMIT = 10_000;

/**
 * The id and number a recovery cycle will have. A recovery tick that adopts
 * nothing leaves it unspent for the next one, so ticks that find nothing draw
 * no randomness (the simulation may skip them without changing what follows).
 */
export interface RecoveryId {
  readonly id: string;
  readonly seq: number;
  /** Set once items were claimed under this id. */
  spent: boolean;
}

/**
 * Re-runs items that a crashed or stopped process left claimed in the loop's
 * queue (their claim expired: its owner stopped heartbeating). Creates a
 * cycle record with trigger `recovery` only when there is something to adopt.
 * Resolves with the record, or undefined when nothing was orphaned.
 */
export async function runRecoveryCycle(
  loop: ResolvedLoop,
  deps: CycleDeps,
  signal: AbortSignal,
  next: RecoveryId,
): Promise<CycleRecord | undefined> {
  const { clock, store, bus, owner } = deps;
  const now = clock.now();
  const { id, seq } = next;
  const claim = { owner, until: now + deps.claimTtlMs };
  const adopted = await store.queue.claimStale(loop.name, id, claim, now, ADOPT_LIMIT);
  if (adopted.length === 0) return undefined;
  next.spent = true;
  const tick: Tick = {
    id: `${loop.name}@recovery:${new Date(now).toISOString()}:${owner}:${seq}`,
    loop: loop.name,
    trigger: 'recovery',
    scheduledAt: now,
  };
  const record = newRecord(id, loop, tick, deps);
  try {
    await store.cycles.start(record);
  } catch {
    // Claimed but not run: their claims lapse and a later recovery tick adopts them again.
    return undefined;
  }
  bus.emit('cycle.started', { loop: loop.name, cycleId: id, tickId: tick.id, trigger: 'recovery' });
  const ctx: CycleContext = { loop: loop.name, cycleId: id, tick, signal, clock };
  const t = clock.monotonic();
  const queued = adopted.sort((a, b) => a.priority - b.priority);
  record.outcome = await deps.act(loop, queued, ctx, record, new Set(queued.map((item) => item.id)));
  record.steps.actMs = clock.monotonic() - t;
  return finishRecord(record, deps);
}

function normalisePlan(planned: unknown, loop: string, tickId: string): WorkItem[] {
  if (!Array.isArray(planned)) {
    throw new PlanError(`plan must return an array of work items, got ${planned === null ? 'null' : typeof planned}`);
  }
  const seen = new Set<string>();
  return planned.map((raw: PlannedItem, index) => {
    if (!raw || typeof raw !== 'object' || typeof raw.key !== 'string' || raw.key === '') {
      throw new PlanError(
        `plan item [${index}]: expected an object with a non-empty string \`key\`, got ${JSON.stringify(raw)}`,
      );
    }
    if (seen.has(raw.key)) throw new PlanError(`plan item [${index}]: duplicate key "${raw.key}" in one cycle`);
    seen.add(raw.key);
    const priority = priorityValue(raw.priority);
    if (!Number.isFinite(priority)) {
      throw new PlanError(
        `plan item [${index}] "${raw.key}": expected priority critical|high|medium|low or a number, got ${JSON.stringify(raw.priority)}`,
      );
    }
    return {
      key: raw.key,
      priority,
      payload: raw.payload === undefined ? null : raw.payload,
      idempotencyKey: raw.idempotencyKey ?? `${loop}:${raw.key}:${tickId}`,
    };
  });
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function contextual(error: unknown, where: string): Error {
  if (error instanceof Error) {
    const wrapped = new AutoloopError(`${where}: ${error.message}`, { cause: error });
    wrapped.name = error.name;
    return wrapped;
  }
  return new AutoloopError(`${where}: ${String(error)}`);
}
