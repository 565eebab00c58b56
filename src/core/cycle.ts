import { AttemptSet } from '../execution/attempt.ts';
import type { WorkerPool } from '../execution/pool.ts';
import { runItem } from '../execution/run-item.ts';
import type { EventBus } from '../observability/events.ts';
import type { QueuedItem, Store } from '../storage/store.ts';
import type { Clock } from '../time/clock.ts';
import type { CycleOutcome, CycleRecord, ItemResult, Tick } from './cycle-record.ts';
import { AutoloopError, ShutdownError, toErrorInfo } from './errors.ts';
import type { CycleContext, ResolvedLoop } from './loop.ts';
import { type PlannedItem, priorityValue, type WorkItem } from './work-item.ts';

/** What a cycle needs from the runtime. All ports; no I/O of its own. */
export interface CycleDeps {
  readonly store: Store;
  readonly clock: Clock;
  readonly bus: EventBus;
  readonly pool: WorkerPool;
  readonly random: () => number;
  /** This process: `<host>:<pid>:<random>`. */
  readonly owner: string;
}

/** Error thrown by a plan that returned something that is not a list of items. */
export class PlanError extends AutoloopError {
  override name = 'PlanError';
}

/** A short random id for a cycle. */
export function newCycleId(): string {
  return globalThis.crypto.randomUUID().replaceAll('-', '').slice(0, 12);
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
 * happened. Rejects only when the store itself fails.
 */
export async function runCycle(
  loop: ResolvedLoop,
  tick: Tick,
  deps: CycleDeps,
  signal: AbortSignal,
): Promise<CycleRecord> {
  const { clock, store, bus } = deps;
  const record: CycleRecord = {
    id: newCycleId(),
    loop: loop.name,
    tickId: tick.id,
    trigger: tick.trigger,
    scheduledAt: tick.scheduledAt,
    startedAt: clock.now(),
    finishedAt: null,
    steps: {},
    counts: { planned: 0, succeeded: 0, failed: 0 },
    outcome: { kind: 'running' },
    owner: deps.owner,
  };
  if (!(await store.cycles.start(record))) {
    const reason = `duplicate tick: ${tick.id} already has a cycle record (another process ran it)`;
    bus.emit('cycle.skipped', { loop: loop.name, tickId: tick.id, reason });
    return { ...record, finishedAt: record.startedAt, outcome: { kind: 'skipped', reason } };
  }
  bus.emit('cycle.started', { loop: loop.name, cycleId: record.id, tickId: tick.id, trigger: tick.trigger });
  const ctx: CycleContext = { loop: loop.name, cycleId: record.id, tick, signal, clock };
  record.outcome = await observePlanAct(loop, ctx, record, deps);
  record.finishedAt = clock.now();
  await store.cycles.finish(record);
  bus.emit('cycle.finished', {
    loop: loop.name,
    cycleId: record.id,
    tickId: tick.id,
    outcome: record.outcome,
    durationMs: record.finishedAt - record.startedAt,
    counts: record.counts,
  });
  return record;
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
  const claim = { owner, until: clock.now() + claimBoundMs(loop, planned.length) };
  const adopted = await store.queue.claimStale(loop.name, record.id, claim, clock.now(), 10_000);
  const added = await store.queue.enqueue(loop.name, record.id, planned, claim, clock.now());
  // Submitted in priority order: the pool starts the first ones at once, before later submissions could outrank them.
  const queued: QueuedItem[] = [...adopted, ...added].sort((a, b) => a.priority - b.priority);
  record.counts.planned = queued.length;
  let released = 0;
  const attempts = new AttemptSet(ctx.signal);
  const itemDeps = { ...deps, attempts };
  try {
    const runOne = async (item: QueuedItem) => {
      const result: ItemResult = await runItem(loop, item, ctx, itemDeps);
      if (result.status === 'failed' && ctx.signal.aborted && result.error?.name === ShutdownError.name) {
        const count = await store.queue.release([item.id], owner);
        released += count;
        return;
      }
      const stored = await store.queue.complete(item.id, owner, { ...result, cycleId: record.id });
      if (stored && result.status === 'succeeded') record.counts.succeeded++;
      else record.counts.failed++;
    };
    // Fed one item per free slot, in priority order: a fan-out of 100,000 items
    // holds `concurrency` items in flight, not 100,000 pending promises.
    const running = new Set<Promise<void>>();
    for (const item of queued) {
      await deps.pool.whenFree();
      const run = runOne(item).finally(() => running.delete(run));
      running.add(run);
    }
    await Promise.all(running);
  } finally {
    attempts.dispose();
  }
  if (released > 0) {
    const error = new ShutdownError(
      `aborted by shutdown: ${released} item(s) returned to the queue for the next cycle`,
    );
    return { kind: 'failed', step: 'act', error: toErrorInfo(error) };
  }
  const { succeeded, failed } = record.counts;
  if (failed === 0) return { kind: 'ok' };
  if (succeeded === 0) {
    const error = new AutoloopError(`all ${failed} item(s) failed`);
    return { kind: 'failed', step: 'act', error: toErrorInfo(error) };
  }
  return { kind: 'partial', failed };
}

/**
 * How long this cycle's claim on its items lasts: long enough for every item
 * to wait its turn and use all its attempts. A crashed process's items become
 * adoptable after it. (Leases with heartbeats replace this bound later.)
 */
function claimBoundMs(loop: ResolvedLoop, count: number): number {
  const { timeoutMs, retry, concurrency } = loop.policies;
  const perItem = retry.attempts * timeoutMs + (retry.attempts - 1) * retry.maxMs;
  return Math.ceil(Math.max(1, count) / concurrency) * perItem + 60_000;
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

function contextual(error: unknown, where: string): Error {
  if (error instanceof Error) {
    const wrapped = new AutoloopError(`${where}: ${error.message}`, { cause: error });
    wrapped.name = error.name;
    return wrapped;
  }
  return new AutoloopError(`${where}: ${String(error)}`);
}
