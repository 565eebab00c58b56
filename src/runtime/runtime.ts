import { hostname } from 'node:os';
import type { CycleRecord, Tick } from '../core/cycle-record.ts';
import { AutoloopError } from '../core/errors.ts';
import { type Logger, silentLogger } from '../core/logger.ts';
import type { ResolvedDependency } from '../core/loop.ts';
import type { WorkItem } from '../core/work-item.ts';
import type { LoopRunner } from '../execution/loop-runner.ts';
import { RunnableGroup } from '../lifecycle/runnable-group.ts';
import { EventBus } from '../observability/events.ts';
import type { RuntimeMetrics } from '../observability/metrics.ts';
import type { Dependency } from '../policies/dependency.ts';
import type { LoopGovernor } from '../policies/loop-governor.ts';
import type { Store } from '../storage/store.ts';
import type { Clock } from '../time/clock.ts';
import type { Entropy } from '../time/entropy.ts';
import { systemClock } from '../time/system-clock.ts';
import { systemEntropy } from '../time/system-entropy.ts';
import type { HealthReport } from './health.ts';
import { LoopSet } from './loop-set.ts';
import type { Observers } from './observers.ts';
import { RecipeHost } from './recipe-host.ts';
import { resolveRuntimeOptions } from './resolve-options.ts';
import type { RuntimeOptions } from './runtime-options.ts';
import { runtimeParts } from './runtime-parts.ts';
import { healthOf, type RuntimeSnapshot, type RuntimeView, readinessOf, snapshotOf } from './runtime-views.ts';
import { PROBE, StoreGuard } from './store-guard.ts';
import { buildTasksView, type TasksView } from './tasks-view.ts';

export type { HttpOptions, RuntimeOptions } from './runtime-options.ts';
export type { RuntimeSnapshot } from './runtime-views.ts';
export type { TasksView } from './tasks-view.ts';

/**
 * One autoloop deployment in one process: wiring. Every long-lived part is
 * a runnable (runtime-parts.ts lists them in start order); one
 * {@link RunnableGroup} starts them in that order and stops them in
 * reverse within the shutdown grace. This class keeps what callers read:
 * the loops, the store, the views (status, health, tasks).
 */
export class Runtime {
  readonly bus: EventBus;
  readonly clock: Clock;
  readonly owner: string;
  readonly logger: Logger;
  /** Randomness and ids (owner, cycle ids); seeded in tests and simulations. */
  readonly entropy: Entropy;
  readonly options: RuntimeOptions;
  readonly loops: LoopSet;
  readonly recipes: RecipeHost;
  readonly storeGuard: StoreGuard;
  readonly resolvedDependencies: readonly ResolvedDependency[];
  readonly #group: RunnableGroup;
  readonly #parts: ReturnType<typeof runtimeParts>;
  #state: 'new' | 'starting' | 'running' | 'stopping' | 'stopped' = 'new';
  #startedAt = 0;
  #stopping: Promise<{ drained: boolean }> | null = null;

  constructor(options: RuntimeOptions) {
    this.options = options;
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger ?? silentLogger;
    this.entropy = options.entropy ?? systemEntropy;
    this.owner = `${options.instance?.host ?? hostname()}:${options.instance?.pid ?? process.pid}:${this.entropy.id()}`;
    this.bus = new EventBus({
      now: () => this.clock.now(),
      onListenerError: (error) => this.logger.error({ err: error }, 'event listener failed'),
    });
    // The probe keeps pace with the recovery loop: twice per recovery interval, at least every 500 ms.
    const probeIntervalMs = Math.max(PROBE.intervalMs, (options.recoveryIntervalMs ?? 1_000) / 2);
    this.storeGuard = new StoreGuard({ clock: this.clock, logger: this.logger, probeIntervalMs });
    const resolved = resolveRuntimeOptions(options);
    this.resolvedDependencies = resolved.dependencies;
    this.loops = new LoopSet(
      resolved.loops,
      this.clock,
      resolved.dependencies.map((d) => d.name),
    );
    this.recipes = new RecipeHost(resolved.registry, resolved.loops);
    this.#group = new RunnableGroup({ clock: this.clock, logger: this.logger });
    this.#parts = runtimeParts(this);
  }

  /** Starts every part in order. With `schedule: false`, loops run only through `run()`. */
  async start(options: { schedule?: boolean } = {}): Promise<void> {
    if (this.#state !== 'new') throw new AutoloopError(`start(): the runtime is ${this.#state}`);
    this.#state = 'starting';
    for (const part of this.#parts.runnables(options.schedule !== false)) this.#group.add(part);
    try {
      await this.#group.start();
    } catch (error) {
      this.#state = 'stopped';
      throw error;
    }
    if (this.#state !== 'starting') return; // stopped while starting
    this.#startedAt = this.clock.now();
    this.#state = 'running';
    this.bus.emit('runtime.started', { owner: this.owner, loops: this.loopNames });
  }

  /**
   * Graceful stop: no new cycles, in-flight work drains for up to `graceMs`
   * (default the runtime's shutdownGraceMs, 30 s), then is aborted. Calling
   * it again returns the same promise.
   */
  stop(options: { graceMs?: number; reason?: string } = {}): Promise<{ drained: boolean }> {
    this.#stopping ??= this.#stop(options.graceMs ?? this.options.shutdownGraceMs ?? 30_000, options.reason);
    return this.#stopping;
  }

  async #stop(graceMs: number, reason = 'stop()'): Promise<{ drained: boolean }> {
    if (this.#state === 'new') {
      this.#state = 'stopped';
      return { drained: true };
    }
    this.#state = 'stopping';
    this.bus.emit('runtime.stopping', { reason });
    await this.#group.stop(graceMs);
    this.#state = 'stopped';
    return { drained: this.#parts.drained };
  }

  /** The store, behind its breaker: while the store is unavailable, calls are refused at once with a StoreError. */
  get store(): Store {
    const store = this.#parts.store.store;
    if (!store) throw new AutoloopError('the runtime has not been started: call start() first');
    return store;
  }

  /** The store's breaker (`store`): its state, last error, outages. */
  get storeBreaker(): StoreGuard {
    return this.storeGuard;
  }

  /** What a store outage holds in memory now (bounded; see outage-buffer.ts) and dropped since start. */
  get outage(): ReturnType<ReturnType<typeof runtimeParts>['outageCounts']> {
    return this.#parts.outageCounts();
  }

  get state(): string {
    return this.#state;
  }

  /** The HTTP base URL once listening (e.g. `http://127.0.0.1:8080`). */
  get url(): string | null {
    return this.#parts.url;
  }

  get metrics(): RuntimeMetrics | null {
    return this.#parts.metrics;
  }

  /** The runtime's named dependencies (breakers, rate limits, latency); empty before start. */
  get dependencies(): ReadonlyMap<string, Dependency> {
    return this.#parts.dependencies;
  }

  /** Leases this process holds now. */
  get activeLeases(): number {
    return this.#parts.leases?.active ?? 0;
  }

  get loopNames(): string[] {
    return this.loops.names;
  }

  /** Alerts pending, firing or recently resolved (empty before start or without rules). */
  alerts(): ReturnType<Observers['alerts']> {
    return this.#parts.observers?.alerts() ?? [];
  }

  /** The loop's runner. Throws with the list of known loops for an unknown name. */
  loop(name: string): LoopRunner {
    return this.loops.slot(name).runner;
  }

  /** The loop's policies at run time (adaptive limit, latency window, backpressure). */
  governor(name: string): LoopGovernor {
    return this.loops.slot(name).governor;
  }

  /** When the loop's next scheduled tick falls (undefined for manual loops or before start). */
  nextRunAt(name: string): number | undefined {
    return this.loops.nextRunAt(name);
  }

  /**
   * What a recipe running here offers TypeScript callers (its `api`), e.g.
   * the signals recipe's metrics; undefined when none of its loops runs here.
   */
  recipe<T = unknown>(name: string): T | undefined {
    return this.recipes.api(name) as T | undefined;
  }

  /** Runs one cycle of `name` now (a manual tick) and resolves with its record. */
  run(name: string): Promise<CycleRecord> {
    this.loops.slot(name);
    if (this.#state !== 'running')
      return Promise.reject(new AutoloopError(`run(${name}): the runtime is ${this.#state}`));
    return this.loops.runNow(name, this.owner);
  }

  /**
   * What the next cycle of `name` would do: its observe and plan run, nothing
   * acts and nothing is written. For `autoloop plan <loop>`.
   */
  plan(name: string): Promise<{ tick: Tick; items: WorkItem[] }> {
    return this.loops.plan(name);
  }

  /** Everything an operator asks "what is it doing?" about, as JSON-safe data. Served at `/status`. */
  async snapshot(): Promise<RuntimeSnapshot> {
    const recipes = await this.recipes.status(this.options.extensions);
    const extra: Record<string, unknown> = {};
    for (const [field, read] of Object.entries(this.options.status ?? {})) extra[field] = await read();
    return { ...(await snapshotOf(this.#view())), ...(Object.keys(recipes).length > 0 && { recipes }), ...extra };
  }

  /**
   * The work queue: counts by priority and by loop, the first 100 items, and
   * an estimate per loop (items × recent p50 latency / concurrency; null
   * before any latency was seen).
   */
  tasks(): Promise<TasksView> {
    return buildTasksView(this.store.queue, (loop, count) => {
      const slot = this.loops.slots.get(loop);
      if (!slot || slot.governor.latency.count === 0) return null;
      return (count * slot.governor.latency.p50) / slot.runner.pool.concurrency;
    });
  }

  /** Readiness: started and not stopping, store answering, no breaker open, no loop cooling down. */
  ready(): Promise<HealthReport> {
    return readinessOf(this.#view());
  }

  /** Full health: store, every loop (stale when its last success is too old), breakers, backpressure, user and recipe checks. */
  health(): Promise<HealthReport> {
    return healthOf(this.#view());
  }

  /** What the status and health views read, at this moment. */
  #view(): RuntimeView {
    const store = this.#parts.store.store;
    return {
      now: this.clock.now(),
      owner: this.owner,
      state: this.#state,
      startedAt: this.#startedAt,
      store,
      loops: this.loops.slots,
      dependencies: this.#parts.dependencies,
      activeLeases: this.activeLeases,
      healthChecks: { ...this.options.healthChecks, ...this.recipes.healthChecks() },
      storeGuard: store ? this.storeGuard : null,
      outage: store ? this.outage : null,
    };
  }
}

/**
 * Creates a runtime. Nothing starts until `start()`.
 *
 * @example
 * const runtime = createRuntime({ loops: [prices], store: 'sqlite://./.autoloop/state.db' });
 * await runtime.start();
 * process.once('SIGTERM', () => void runtime.stop());
 */
export function createRuntime(options: RuntimeOptions): Runtime {
  return new Runtime(options);
}
