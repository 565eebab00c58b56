import type { CycleRecord } from '../core/cycle-record.ts';
import type { LoopRunner } from '../execution/loop-runner.ts';
import type { Dependency } from '../policies/dependency.ts';
import type { LatencySnapshot } from '../policies/latency-tracker.ts';
import type { LoopGovernor } from '../policies/loop-governor.ts';
import type { Scheduler } from '../scheduling/scheduler.ts';
import type { Trigger } from '../scheduling/trigger.ts';
import type { InstanceRecord, Store } from '../storage/store.ts';
import { type ComponentHealth, type HealthCheck, type HealthReport, healthReport } from './health.ts';
import { loopHealth } from './loop-health.ts';
import type { OutageCounts } from './outage-buffer.ts';
import type { StoreGuard } from './store-guard.ts';

/** One loop at run time: its runner, trigger, scheduler and policies. */
export interface LoopSlot {
  runner: LoopRunner;
  trigger: Trigger;
  scheduler: Scheduler;
  governor: LoopGovernor;
}

/**
 * What the status and health views read from a runtime, taken at one moment.
 * The views are plain functions over it, so the runtime class keeps only the
 * wiring and the lifecycle.
 */
export interface RuntimeView {
  readonly now: number;
  readonly owner: string;
  readonly state: string;
  /** Epoch ms when scheduling started; 0 before. */
  readonly startedAt: number;
  readonly store: Store | null;
  readonly loops: ReadonlyMap<string, LoopSlot>;
  readonly dependencies: ReadonlyMap<string, Dependency>;
  readonly activeLeases: number;
  readonly healthChecks: Readonly<Record<string, HealthCheck>>;
  /** The store's breaker (null before start). */
  readonly storeGuard: StoreGuard | null;
  /** What a store outage holds in memory now, and what it dropped since start. */
  readonly outage: { held: OutageCounts & { events: number }; dropped: OutageCounts & { events: number } } | null;
}

/** The shape of {@link Runtime.snapshot}. */
export type RuntimeSnapshot = {
  owner: string;
  pid: number;
  state: string;
  startedAt: string | null;
  uptimeS: number;
  store: string;
  loops: Array<{
    name: string;
    description: string;
    /** The recipe that made the loop (`signals`), or null. */
    recipe: string | null;
    schedule: string;
    paused: boolean;
    running: boolean;
    concurrency: number;
    inFlight: number;
    nextRunAt: string | null;
    lastCycle: CycleRecord | null;
    lastSuccessAt: string | null;
    latency: LatencySnapshot;
    adaptive: { limit: number; min: number; max: number } | null;
    backpressure: { state: string; cooldowns: number } | null;
  }>;
  dependencies: Array<{ name: string; breaker: { state: string; value: number } | null; latency: LatencySnapshot }>;
  leases: { active: number };
  queue: Array<{ loop: string; priority: number; count: number }>;
  instances: InstanceRecord[];
  /** Per recipe running here: its loops, its dashboard panel (title, module URL) and its own status fields; also each deployment part's panel (`supervisor`), with no loops. */
  recipes?: Record<string, unknown>;
  /** The store as a dependency: its breaker, last error, and what an outage holds in memory. */
  storeBreaker?: {
    state: string;
    lastError: string | null;
    outages: number;
    held: Record<string, number>;
    dropped: Record<string, number>;
  } | null;
};

/**
 * Everything an operator asks "what is it doing?" about, as JSON-safe data:
 * the process, each loop (schedule, state, last cycle, next run, adaptive
 * and backpressure state), dependencies (breakers, latency), leases, the
 * queue by priority and the live instances.
 */
export async function snapshotOf(v: RuntimeView): Promise<RuntimeSnapshot> {
  const store = v.store as Store;
  const now = v.now;
  const iso = (ms: number | undefined) => (ms === undefined ? null : new Date(ms).toISOString());
  const loops = await Promise.all(
    [...v.loops.values()].map(async ({ runner, trigger, scheduler, governor }) => {
      const summary = await store.cycles
        .summary(runner.loop.name)
        .catch(() => ({}) as { last?: CycleRecord; lastSuccessAt?: number });
      const a = governor.adaptive;
      const bp = governor.backpressure;
      return {
        name: runner.loop.name,
        description: runner.loop.description,
        recipe: runner.loop.recipe ?? null,
        schedule: trigger.description,
        paused: runner.paused,
        running: runner.running,
        concurrency: runner.pool.concurrency,
        inFlight: runner.pool.active,
        nextRunAt: iso(scheduler.nextAt),
        lastCycle: summary.last ?? null,
        lastSuccessAt: iso(summary.lastSuccessAt),
        latency: governor.latency.snapshot(),
        adaptive: a ? { limit: a.limit, min: a.min, max: a.max } : null,
        backpressure: bp ? { state: bp.state, cooldowns: bp.cooldowns } : null,
      };
    }),
  );
  const dependencies = [...v.dependencies.values()].map((d) => ({
    name: d.name,
    breaker: d.breaker ? { state: d.breaker.state, value: d.breaker.stateValue } : null,
    latency: d.latency.snapshot(),
  }));
  return {
    owner: v.owner,
    pid: process.pid,
    state: v.state,
    startedAt: iso(v.startedAt || undefined),
    uptimeS: v.startedAt ? Math.round((now - v.startedAt) / 1000) : 0,
    store: store.description,
    loops,
    dependencies,
    leases: { active: v.activeLeases },
    // While the store is down these read empty; `storeBreaker` says why.
    queue: await store.queue.depth().catch(() => []),
    instances: await store.instances.list(now).catch(() => []),
    storeBreaker: v.storeGuard
      ? {
          state: v.storeGuard.breaker.state,
          lastError: v.storeGuard.lastError?.message ?? null,
          outages: v.storeGuard.outages,
          held: { ...(v.outage?.held ?? {}) },
          dropped: { ...(v.outage?.dropped ?? {}) },
        }
      : null,
  };
}

/** Readiness: started and not stopping, store answering, no breaker open, no loop cooling down. */
export async function readinessOf(v: RuntimeView): Promise<HealthReport> {
  const components: Record<string, ComponentHealth> = {
    runtime: { healthy: v.state === 'running', detail: v.state },
    store: await storeHealth(v),
    ...policyHealth(v),
  };
  return healthReport(components, v.now);
}

/** One component per breaker and per loop under backpressure: unhealthy while open / cooling down. */
function policyHealth(v: RuntimeView): Record<string, ComponentHealth> {
  const components: Record<string, ComponentHealth> = {};
  for (const dep of v.dependencies.values()) {
    if (dep.breaker) {
      const state = dep.breaker.state;
      components[`breaker:${dep.name}`] = { healthy: state !== 'open', detail: state, p95Ms: dep.latency.p95 };
    }
  }
  for (const [name, { governor }] of v.loops) {
    const bp = governor.backpressure;
    if (bp)
      components[`backpressure:${name}`] = {
        healthy: bp.state !== 'cooling',
        detail: bp.state,
        cooldowns: bp.cooldowns,
      };
  }
  return components;
}

/** Full health: store, every loop (stale when its last success is too old), user checks. */
export async function healthOf(v: RuntimeView): Promise<HealthReport> {
  const now = v.now;
  const components: Record<string, ComponentHealth> = {
    runtime: { healthy: v.state === 'running', detail: v.state },
    store: await storeHealth(v),
  };
  for (const [name, slot] of v.loops) {
    const summary = v.store ? await v.store.cycles.summary(name).catch(() => undefined) : undefined;
    components[`loop:${name}`] = loopHealth({
      loop: slot.runner.loop,
      trigger: slot.trigger,
      now,
      since: v.startedAt || now,
      lastSuccessAt: summary?.lastSuccessAt,
      lastOutcome: summary?.last?.outcome.kind,
      paused: slot.runner.paused,
      running: slot.runner.running,
      nextRunAt: slot.scheduler.nextAt,
    });
  }
  Object.assign(components, policyHealth(v));
  for (const [name, check] of Object.entries(v.healthChecks)) {
    components[name] = await runCheck(check);
  }
  return healthReport(components, now);
}

/**
 * The `store` component: with a breaker, unhealthy at once while it is open
 * (detail `store unavailable: <last error>`), else a ping with a timeout; it
 * names the breaker state, the last error and what an outage holds.
 */
async function storeHealth(v: RuntimeView): Promise<ComponentHealth> {
  if (!v.store) return { healthy: false, detail: 'not open' };
  if (v.storeGuard) {
    const health = await v.storeGuard.health();
    return v.outage ? { ...health, held: v.outage.held, dropped: v.outage.dropped } : health;
  }
  try {
    await v.store.ping();
    return { healthy: true, detail: v.store.description };
  } catch (error) {
    return { healthy: false, detail: `${v.store.description}: ${(error as Error).message}` };
  }
}

async function runCheck(check: HealthCheck): Promise<ComponentHealth> {
  const controller = new AbortController();
  try {
    return await check(controller.signal);
  } catch (error) {
    return { healthy: false, detail: error instanceof Error ? error.message : String(error) };
  } finally {
    controller.abort();
  }
}
