import { hostname } from 'node:os';
import { resolveDependencies } from '../config/define-loop.ts';
import type { DependencySpec } from '../config/file-schema.ts';
import { resolveLoop } from '../config/resolve-loop.ts';
import { planCycle } from '../core/cycle.ts';
import type { CycleRecord, Tick } from '../core/cycle-record.ts';
import { AutoloopError, ShutdownError } from '../core/errors.ts';
import { type Logger, silentLogger } from '../core/logger.ts';
import type { LoopDefinition, ResolvedDependency, ResolvedLoop } from '../core/loop.ts';
import { LoopRunner } from '../core/loop-runner.ts';
import type { WorkItem } from '../core/work-item.ts';
import type { EventStreamOptions } from '../http/events-route.ts';
import { createHttpServer } from '../http/http-server.ts';
import { createHttpApp } from '../http/routes.ts';
import { storeSignalsSource } from '../http/signals-routes.ts';
import { LeaseManager } from '../leases/lease-manager.ts';
import { EventRecorder } from '../observability/event-recorder.ts';
import { EventBus } from '../observability/events.ts';
import { createMetrics, type RuntimeMetrics } from '../observability/metrics.ts';
import { Dependency } from '../policies/dependency.ts';
import { LoopGovernor } from '../policies/loop-governor.ts';
import { createSignalsMetrics, type SignalsMetrics } from '../recipes/signals/signals-metrics.ts';
import { Scheduler } from '../scheduling/scheduler.ts';
import { createTrigger, periodMs } from '../scheduling/trigger.ts';
import { openStore } from '../storage/open-store.ts';
import type { RateLimitStore, Store } from '../storage/store.ts';
import type { Clock } from '../time/clock.ts';
import { systemClock } from '../time/system-clock.ts';
import { EventFanout } from './event-fanout.ts';
import { type HealthCheck, type HealthReport, healthReport } from './health.ts';
import { findMissedTicks } from './missed-ticks.ts';
import { type ObservabilityOptions, Observers } from './observers.ts';
import { OutageStore } from './outage-store.ts';
import { RecoveryLoop } from './recovery-loop.ts';
import { ResultPublisher } from './result-publisher.ts';
import { Retention } from './retention.ts';
import {
  healthOf,
  type LoopSlot,
  type RuntimeSnapshot,
  type RuntimeView,
  readinessOf,
  snapshotOf,
} from './runtime-views.ts';

export type { RuntimeSnapshot } from './runtime-views.ts';

import { PROBE, StoreGuard } from './store-guard.ts';
import { buildTasksView, type TasksView } from './tasks-view.ts';

export type { TasksView } from './tasks-view.ts';

export interface HttpOptions {
  host: string;
  port: number;
  /** Bearer token for admin endpoints ('' or absent: they refuse every request). */
  token?: string;
  /** Host header values accepted besides localhost, 127.0.0.1, [::1] and `host`. */
  allowedHosts?: readonly string[];
  /**
   * Timing of `/events` (poll interval, heartbeat, batch sizes); defaults
   * suit browsers and proxies. With a Redis store, streams also wake at once
   * when any instance appends events, so `pollMs` is only the fallback.
   */
  events?: Omit<EventStreamOptions, 'subscribe'>;
}

export interface RuntimeOptions {
  /** Loops as `defineLoop` results or resolved config loops. */
  loops: ReadonlyArray<LoopDefinition | ResolvedLoop>;
  /** A store, or a store URL (`memory://`, `sqlite://./path.db`). Default `memory://`. */
  store?: Store | string;
  clock?: Clock;
  /** Randomness in [0, 1) for backoff jitter. Default Math.random. */
  random?: () => number;
  /** Serve health and metrics over HTTP. Default off in the library; the CLI turns it on. */
  http?: HttpOptions | false;
  /** How long shutdown lets in-flight items finish before aborting them. Default 30 s. */
  shutdownGraceMs?: number;
  logger?: Logger;
  /** Extra named health checks, shown under `/health` and counted in it. */
  healthChecks?: Record<string, HealthCheck>;
  /** Base directory for relative sqlite URLs. Default process.cwd(). */
  cwd?: string;
  /** Also export Node process metrics (CPU, memory, event loop lag). Default false; the CLI turns it on. */
  processMetrics?: boolean;
  /** Lease TTL for item keys, queue claims and instance heartbeats. Default 10 s. */
  leaseTtlMs?: number;
  /**
   * Named dependencies loops declare in `policies.uses`: a circuit breaker and
   * a rate limit each (resolved config, or TS declarations validated here).
   */
  dependencies?: ReadonlyArray<ResolvedDependency> | Record<string, DependencySpec>;
  /**
   * How often expired leases are swept and orphaned items adopted. Default
   * 1 s. The store's breaker probe pings at half this interval (at least
   * every 500 ms), so with the default a store outage opens the breaker
   * within a second.
   */
  recoveryIntervalMs?: number;
  /**
   * Cycle records (with their item results) and events older than this are
   * deleted, at start and every hour. Default: kept forever.
   */
  retentionMs?: number;
  /** Alerts (with seed 002's defaults), webhooks and OpenTelemetry traces; all off when absent. */
  observability?: ObservabilityOptions;
}

/**
 * One autoloop deployment in one process. Start order (stop is the reverse):
 *   1. store        open and ping; its warnings logged; its breaker's probe
 *                   starts; the event fan-out subscribes (Redis)
 *   2. event log    the recorder subscribes to the bus
 *   3. metrics      subscribe to the bus
 *   4. loops        runners with their pools (no ticks yet)
 *   5. http         health, readiness, metrics
 *   6. schedulers   ticks begin
 * Stop: schedulers end at once (no new cycles), in-flight cycles drain up to
 * the grace period, then their items are aborted and returned to the queue;
 * then http, event log flush, fan-out, probe, store close.
 *
 * The store is a dependency behind a breaker (store-guard.ts): while it is
 * unavailable ticks are skipped with the reason, readiness is 503, and what
 * could not be written (unacknowledged items, cycle records, skipped ticks,
 * events) is held in memory, bounded, and written when it answers again
 * (outage-store.ts, a decorator around the store), with no operator action.
 */
export class Runtime {
  readonly bus: EventBus;
  readonly clock: Clock;
  readonly owner: string;
  readonly logger: Logger;
  readonly #options: RuntimeOptions;
  readonly #loops = new Map<string, LoopSlot>();
  readonly #dependencies = new Map<string, Dependency>();
  readonly #resolvedDependencies: readonly ResolvedDependency[];
  #store: Store | null = null;
  #recorder: EventRecorder | null = null;
  #metrics: RuntimeMetrics | null = null;
  #http: ReturnType<typeof createHttpServer> | null = null;
  #url: string | null = null;
  #schedulers: AbortController | null = null;
  #schedulerRuns: Promise<void>[] = [];
  #leases: LeaseManager | null = null;
  #observers: Observers | null = null;
  #recovery: RecoveryLoop | null = null;
  #state: 'new' | 'starting' | 'running' | 'stopping' | 'stopped' = 'new';
  #startedAt = 0;
  #stopping: Promise<{ drained: boolean }> | null = null;
  #manualSeq = 0;
  readonly #guard: StoreGuard;
  readonly #outage: OutageStore;
  #probe: { abort: AbortController; run: Promise<void> } | null = null;
  #fanout: EventFanout | null = null;
  #publisher: ResultPublisher | null = null;
  #signalsMetrics: SignalsMetrics | null = null;

  constructor(options: RuntimeOptions) {
    this.#options = options;
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger ?? silentLogger;
    this.owner = `${hostname()}:${process.pid}:${globalThis.crypto.randomUUID().slice(0, 8)}`;
    this.bus = new EventBus({
      now: () => this.clock.now(),
      onListenerError: (error) => this.logger.error({ err: error }, 'event listener failed'),
    });
    // The probe keeps pace with the recovery loop: twice per recovery interval, at least every 500 ms.
    const probeIntervalMs = Math.max(PROBE.intervalMs, (options.recoveryIntervalMs ?? 1_000) / 2);
    this.#guard = new StoreGuard({ clock: this.clock, logger: this.logger, probeIntervalMs });
    this.#outage = new OutageStore({
      guard: this.#guard,
      owner: this.owner,
      clock: this.clock,
      logger: this.logger,
    });
    const specs = options.dependencies ?? [];
    this.#resolvedDependencies = Array.isArray(specs)
      ? specs
      : resolveDependencies(specs as Record<string, DependencySpec>);
    for (const spec of this.#resolvedDependencies) {
      this.#dependencies.set(spec.name, new Dependency(spec, this.clock, this.#lazyBuckets()));
    }
    for (const def of options.loops) {
      const loop = isResolved(def) ? def : resolveLoop(def as LoopDefinition, `defineLoop(${def.name})`);
      if (this.#loops.has(loop.name))
        throw new AutoloopError(`two loops are named "${loop.name}"; loop names must be unique`);
      this.#loops.set(loop.name, this.#slot(loop));
    }
  }

  #slot(loop: ResolvedLoop): LoopSlot {
    const self = this;
    const runner = new LoopRunner(loop, {
      store: this.#lazyStore(),
      clock: this.clock,
      bus: this.bus,
      random: this.#options.random ?? Math.random,
      owner: this.owner,
      get leases() {
        return self.#leases ?? undefined;
      },
      claimTtlMs: this.#leaseTtlMs,
      onError: (error, name) =>
        this.#guard.logFailure(`cycle:${name}`, error, { loop: name }, 'cycle failed to record (store error)'),
      onStored: (def, result, tick) => this.#publisher?.publish(def, result, tick),
    });
    const trigger = createTrigger(loop.trigger);
    const scheduler = new Scheduler({
      loop: loop.name,
      trigger,
      triggerKind: loop.trigger.kind,
      clock: this.clock,
      onTick: (tick) => runner.onTick(tick),
      onMissed: (ticks, dropped) => runner.onMissed(ticks, dropped),
    });
    const governor = new LoopGovernor({
      loop,
      dependencies: this.#usedDependencies(loop),
      clock: this.clock,
      periodMs: periodMs(trigger, this.clock.now()),
      setConcurrency: (limit) => runner.setConcurrency(limit),
      onCooldown: (ticks) => this.bus.emit('backpressure.cooldown', { loop: loop.name, ticks }),
    });
    runner.attachGovernor(governor);
    return { runner, trigger, scheduler, governor };
  }

  #usedDependencies(loop: ResolvedLoop): Dependency[] {
    return loop.policies.uses.map((name) => {
      const dep = this.#dependencies.get(name);
      if (!dep) {
        const known = [...this.#dependencies.keys()].join(', ') || '(none declared)';
        throw new AutoloopError(
          `loop "${loop.name}" uses dependency "${name}", which is not declared; declared: ${known}`,
        );
      }
      return dep;
    });
  }

  /** The store's buckets, resolved at call time (dependencies are built before the store opens). */
  #lazyBuckets(): RateLimitStore {
    return {
      take: (...args) => this.store.buckets.take(...args),
      // Fire-and-forget for its callers (a 429's pause): a store outage must not surface as an unhandled
      // rejection. A pause that was not written only means the dependency may answer 429 once more.
      pause: (...args) =>
        this.store.buckets
          .pause(...args)
          .catch((error) =>
            this.#guard.logFailure('buckets.pause', error, { bucket: args[0] }, 'shared rate-limit pause not written'),
          ),
    };
  }

  /** Alerts pending, firing or recently resolved (empty before start or without rules). */
  alerts(): ReturnType<Observers['alerts']> {
    return this.#observers?.alerts() ?? [];
  }

  /** The runtime's named dependencies (breakers, rate limits, latency). */
  get dependencies(): ReadonlyMap<string, Dependency> {
    return this.#dependencies;
  }

  /** The loop's policies at run time (adaptive limit, latency window, backpressure). */
  governor(name: string): LoopGovernor {
    return this.#get(name).governor;
  }

  /** A store facade that resolves the real store once started (runners are built before). */
  #lazyStore(): Store {
    const self = this;
    return {
      get cycles() {
        return self.store.cycles;
      },
      get queue() {
        return self.store.queue;
      },
      get events() {
        return self.store.events;
      },
      get description() {
        return self.store.description;
      },
      get leases() {
        return self.store.leases;
      },
      get instances() {
        return self.store.instances;
      },
      get buckets() {
        return self.store.buckets;
      },
      get warnings() {
        return self.store.warnings;
      },
      get broadcast() {
        return self.store.broadcast;
      },
      unavailable: () => self.store.unavailable?.(),
      ping: () => self.store.ping(),
      prune: (before) => self.store.prune(before),
      close: () => self.store.close(),
    };
  }

  /** The store, behind its breaker: while the store is unavailable, calls are refused at once with a StoreError. */
  get store(): Store {
    if (!this.#store) throw new AutoloopError('the runtime has not been started: call start() first');
    return this.#store;
  }

  /** The store's breaker (`store`): its state, last error, outages. */
  get storeBreaker(): StoreGuard {
    return this.#guard;
  }

  /** What a store outage holds in memory now (bounded; see outage-store.ts) and dropped since start. */
  get outage(): {
    held: { items: number; cycles: number; skips: number; events: number };
    dropped: { items: number; cycles: number; skips: number; events: number };
  } {
    return {
      held: { ...this.#outage.held, events: this.#recorder?.buffered ?? 0 },
      dropped: { ...this.#outage.dropped, events: this.#recorder?.dropped ?? 0 },
    };
  }

  get state(): string {
    return this.#state;
  }

  /** The HTTP base URL once listening (e.g. `http://127.0.0.1:8080`). */
  get url(): string | null {
    return this.#url;
  }

  get metrics(): RuntimeMetrics | null {
    return this.#metrics;
  }

  get #leaseTtlMs(): number {
    return this.#options.leaseTtlMs ?? 10_000;
  }

  /** Leases this process holds now. */
  get activeLeases(): number {
    return this.#leases?.active ?? 0;
  }

  get loopNames(): string[] {
    return [...this.#loops.keys()];
  }

  /** The loop's runner. Throws with the list of known loops for an unknown name. */
  loop(name: string): LoopRunner {
    return this.#get(name).runner;
  }

  /** When the loop's next scheduled tick falls (undefined for manual loops or before start). */
  nextRunAt(name: string): number | undefined {
    return this.#get(name).scheduler.nextAt;
  }

  #get(name: string): LoopSlot {
    const slot = this.#loops.get(name);
    if (!slot) {
      const known = [...this.#loops.keys()].join(', ') || '(none)';
      throw new AutoloopError(`unknown loop "${name}"; loops in this config: ${known}`);
    }
    return slot;
  }

  /** Starts every part in order. With `schedule: false`, loops run only through `run()`. */
  async start(options: { schedule?: boolean } = {}): Promise<void> {
    if (this.#state !== 'new') throw new AutoloopError(`start(): the runtime is ${this.#state}`);
    this.#state = 'starting';
    const { store } = this.#options;
    const raw = typeof store === 'object' ? store : await openStore(store ?? 'memory://', { cwd: this.#options.cwd });
    try {
      await raw.ping();
    } catch (error) {
      if (typeof store !== 'object') await raw.close().catch(() => {});
      this.#state = 'stopped';
      throw error;
    }
    this.#store = this.#outage.wrap(this.#guard.wrap(raw));
    for (const warning of raw.warnings ?? []) this.logger.warn({ store: raw.description }, warning);
    await this.#startStoreParts(raw);
    this.#recorder = new EventRecorder(this.#store.events, this.clock, this.logger, {
      onAppended: (count) => this.#fanout?.appended(count),
    });
    this.#recorder.start(this.bus);
    this.#leases = new LeaseManager({
      store: this.#store.leases,
      clock: this.clock,
      owner: this.owner,
      ttlMs: this.#leaseTtlMs,
      onLost: (key, token, reason) => this.bus.emit('lease.lost', { key, token, reason }),
      onStaleRecovered: (key, previousOwner) => this.bus.emit('lease.recovered', { key, previousOwner }),
    });
    this.#metrics = createMetrics(this.bus, {
      processMetrics: this.#options.processMetrics ?? false,
      activeLeases: () => this.activeLeases,
      breakers: () => [
        this.#guard.breaker,
        ...[...this.#dependencies.values()].flatMap((d) => (d.breaker ? [d.breaker] : [])),
      ],
      storeOutage: () => {
        const { held, dropped } = this.outage;
        return { held, dropped, failures: this.#guard.failures };
      },
      loopLatency: () =>
        [...this.#loops.values()].map(({ runner, governor }) => ({
          loop: runner.loop.name,
          p95: governor.latency.p95,
        })),
    });
    const signalsLoops = this.#recipeLoops('signals');
    if (signalsLoops.length > 0) {
      const first = this.#loops.get(signalsLoops[0] as string);
      this.#signalsMetrics = createSignalsMetrics(this.bus, {
        registry: this.#metrics.registry,
        loops: signalsLoops,
        breakers: this.#resolvedDependencies.flatMap((d) => (d.breaker ? [d.name] : [])),
        llmFromSignals: true,
        ...(first && { latencyP95Ms: () => first.governor.latency.p95 }),
      });
    }
    for (const dep of this.#dependencies.values()) {
      dep.breaker?.onStateChange(({ breaker, from, to }) => this.bus.emit('breaker.state', { breaker, from, to }));
    }
    this.#observers = new Observers({
      options: this.#options.observability ?? {},
      bus: this.bus,
      clock: this.clock,
      logger: this.logger,
      registry: this.#metrics.registry,
      loops: [...this.#loops.values()].map((slot) => slot.runner.loop),
      dependencies: this.#resolvedDependencies,
      random: this.#options.random ?? Math.random,
    });
    for (const { runner } of this.#loops.values()) {
      this.bus.emit('loop.concurrency', { loop: runner.loop.name, limit: runner.pool.concurrency });
    }
    if (this.#options.http) {
      try {
        await this.#startHttp(this.#options.http);
      } catch (error) {
        await this.#observers?.stop();
        await this.#recorder.stop();
        this.#metrics.dispose();
        await this.#stopStoreParts();
        if (typeof store !== 'object') await raw.close().catch(() => {});
        this.#state = 'stopped';
        throw error;
      }
    }
    this.#startedAt = this.clock.now();
    this.#state = 'running';
    if (options.schedule !== false) {
      await this.#startRecovery();
      await this.#catchUp();
      this.#startSchedulers();
    }
    this.bus.emit('runtime.started', { owner: this.owner, loops: this.loopNames });
  }

  /**
   * The store's breaker (its transitions on the bus, its probe on the clock,
   * the replay of held writes when it answers), result publishing, and the
   * event fan-out when the store has pub/sub.
   */
  async #startStoreParts(raw: Store): Promise<void> {
    this.#guard.onStateChange(({ breaker, from, to }) => this.bus.emit('breaker.state', { breaker, from, to }));
    this.#guard.onHealthy(() => {
      if (!this.#outage.empty) void this.#outage.replay();
      if ((this.#recorder?.buffered ?? 0) > 0) void this.#recorder?.flush();
    });
    const abort = new AbortController();
    this.#probe = { abort, run: this.#guard.run(abort.signal) };
    const loops = [...this.#loops.values()].map((slot) => slot.runner.loop);
    this.#publisher = new ResultPublisher({
      broadcast: raw.broadcast,
      bus: this.bus,
      logger: this.logger,
      loops,
      store: raw.description,
    });
    if (!raw.broadcast) return;
    const fanout = new EventFanout({ broadcast: raw.broadcast, owner: this.owner, logger: this.logger });
    try {
      await fanout.start();
      this.#fanout = fanout;
    } catch (error) {
      this.logger.warn(
        { err: error },
        'event fan-out not subscribed: /events streams show other instances at their next poll',
      );
    }
  }

  async #stopStoreParts(): Promise<void> {
    await this.#fanout?.stop();
    this.#fanout = null;
    this.#probe?.abort.abort();
    await this.#probe?.run;
    this.#probe = null;
  }

  async #startHttp(http: HttpOptions): Promise<void> {
    const metrics = this.#metrics as RuntimeMetrics;
    const fanout = this.#fanout;
    const app = createHttpApp(
      {
        health: () => this.health(),
        ready: () => this.ready(),
        live: () => healthReport({ process: { healthy: true, state: this.#state } }, this.clock.now()),
        metrics: async () => ({ contentType: metrics.registry.contentType, body: await metrics.registry.metrics() }),
        snapshot: () => this.snapshot(),
        tasks: () => this.tasks(),
        cycles: (loop, limit) => {
          this.#get(loop);
          return this.store.cycles.list(loop, { limit });
        },
        events: {
          after: (seq, limit) => this.store.events.after(seq, { limit }),
          latest: (limit) => this.store.events.latest({ limit }),
        },
        admin: {
          loops: () => this.loopNames,
          run: (loop) => this.run(loop),
          pause: (loop) => this.loop(loop).pause(),
          resume: (loop) => this.loop(loop).resume(),
          shutdown: () => void this.stop({ reason: 'POST /shutdown' }),
        },
        security: { token: http.token ?? '', allowedHosts: http.allowedHosts ?? [], bindHost: http.host },
        signals: storeSignalsSource({
          store: () => this.store,
          loops: this.#recipeLoops('signals'),
          clock: this.clock,
        }),
      },
      { events: { ...http.events, ...(fanout && { subscribe: (wake: () => void) => void fanout.listen(wake) }) } },
    );
    this.#http = createHttpServer({ host: http.host, port: http.port, app });
    const address = await this.#http.start();
    this.#url = address.url;
  }

  /**
   * Seed 002's metrics of the signals loops (null before start or without a
   * signals loop): pass its `observeStage` to a recipe's `onStage` to feed
   * `llm_latency_ms` from every call, failed ones included.
   */
  get signalsMetrics(): SignalsMetrics | null {
    return this.#signalsMetrics;
  }

  /** The names of the loops a recipe made, in config order. */
  #recipeLoops(recipe: string): string[] {
    return [...this.#loops.values()].filter((s) => s.runner.loop.recipe === recipe).map((s) => s.runner.loop.name);
  }

  #startSchedulers(): void {
    this.#schedulers ??= new AbortController();
    const signal = this.#schedulers.signal;
    this.#schedulerRuns.push(...[...this.#loops.values()].map(({ scheduler }) => scheduler.run(signal)));
  }

  /** Applies each loop's missed-tick policy to the ticks that fell due while nothing ran. */
  async #catchUp(): Promise<void> {
    try {
      // A live peer running the loop is not downtime: its ticks are its own to record.
      const peers = (await this.store.instances.list(this.clock.now())).filter((i) => i.id !== this.owner);
      for (const { runner, trigger } of this.#loops.values()) {
        if (peers.some((peer) => peer.loops.includes(runner.loop.name))) continue;
        const { ticks, dropped } = await findMissedTicks(runner.loop, trigger, this.store.cycles, this.clock.now());
        const missed = ticks.length + (dropped?.count ?? 0);
        if (missed > 0) this.logger.info({ loop: runner.loop.name, missed }, 'ticks missed during downtime');
        await runner.onDowntime(ticks, dropped);
      }
    } catch (error) {
      // The store went away between its ping and here: start anyway; the breaker takes it from here.
      this.logger.warn({ err: error }, 'missed ticks not checked at start: the store failed');
    }
  }

  /** The heartbeat, lease sweep and orphan adoption, every second (a runnable stopped with the schedulers). */
  async #startRecovery(): Promise<void> {
    const [host, pid] = this.owner.split(':');
    this.#recovery = new RecoveryLoop({
      clock: this.clock,
      leases: this.#leases as LeaseManager,
      runners: () => [...this.#loops.values()].map((s) => s.runner),
      instances: this.store.instances,
      cycles: this.store.cycles,
      onAbandoned: (record) =>
        this.bus.emit('cycle.finished', {
          loop: record.loop,
          cycleId: record.id,
          tickId: record.tickId,
          outcome: record.outcome,
          durationMs: (record.finishedAt ?? record.startedAt) - record.startedAt,
          counts: record.counts,
        }),
      instance: {
        id: this.owner,
        host: host ?? '',
        pid: Number(pid),
        startedAt: this.clock.now(),
        loops: this.loopNames,
      },
      ttlMs: this.#leaseTtlMs,
      intervalMs: this.#options.recoveryIntervalMs ?? 1_000,
      logger: this.logger,
      unavailable: () => this.#guard.unavailable(),
      onFailure: (error) =>
        this.#guard.logFailure('recovery', error, {}, 'recovery tick failed (store error); retrying next tick'),
    });
    await this.#recovery.beat().catch((error) => this.logger.warn({ err: error }, 'first heartbeat failed'));
    this.#schedulers ??= new AbortController();
    this.#schedulerRuns.push(this.#recovery.run(this.#schedulers.signal));
    const keepMs = this.#options.retentionMs;
    if (keepMs !== undefined) {
      const retention = new Retention({
        clock: this.clock,
        store: () => this.store,
        keepMs,
        logger: this.logger,
        unavailable: () => this.#guard.unavailable(),
        onFailure: (error) =>
          this.#guard.logFailure('retention', error, {}, 'prune failed (store error); retrying in an hour'),
      });
      this.#schedulerRuns.push(retention.run(this.#schedulers.signal));
    }
  }

  /** Runs one cycle of `name` now (a manual tick) and resolves with its record. */
  run(name: string): Promise<CycleRecord> {
    const { runner } = this.#get(name);
    if (this.#state !== 'running')
      return Promise.reject(new AutoloopError(`run(${name}): the runtime is ${this.#state}`));
    const now = this.clock.now();
    const tick: Tick = {
      id: `${name}@manual:${new Date(now).toISOString()}:${this.owner}:${++this.#manualSeq}`,
      loop: name,
      trigger: 'manual',
      scheduledAt: now,
    };
    return runner.runNow(tick);
  }

  /**
   * What the next cycle of `name` would do: its observe and plan run, nothing
   * acts and nothing is written. For `autoloop plan <loop>`.
   */
  async plan(name: string): Promise<{ tick: Tick; items: WorkItem[] }> {
    const { runner, scheduler, trigger } = this.#get(name);
    const now = this.clock.now();
    const at = scheduler.nextAt ?? trigger.next(now) ?? now;
    const tick: Tick = {
      id: `${name}@dry-run:${new Date(at).toISOString()}`,
      loop: name,
      trigger: runner.loop.trigger.kind,
      scheduledAt: at,
    };
    const items = await planCycle(runner.loop, tick, { clock: this.clock, signal: new AbortController().signal });
    return { tick, items };
  }

  /**
   * Graceful stop: no new cycles, in-flight work drains for up to `graceMs`
   * (default the runtime's shutdownGraceMs, 30 s), then is aborted. Calling
   * it again returns the same promise.
   */
  stop(options: { graceMs?: number; reason?: string } = {}): Promise<{ drained: boolean }> {
    this.#stopping ??= this.#stop(
      options.graceMs ?? this.#options.shutdownGraceMs ?? 30_000,
      options.reason ?? 'stop()',
    );
    return this.#stopping;
  }

  async #stop(graceMs: number, reason: string): Promise<{ drained: boolean }> {
    if (this.#state === 'new') {
      this.#state = 'stopped';
      return { drained: true };
    }
    this.#state = 'stopping';
    this.bus.emit('runtime.stopping', { reason });
    this.#schedulers?.abort();
    await Promise.all(this.#schedulerRuns);
    const runners = [...this.#loops.values()].map((s) => s.runner);
    for (const runner of runners) runner.close();
    const drained = await this.#drain(runners, graceMs);
    // Peers may take this process's keys at once, not after the TTL.
    await this.#leases?.releaseAll();
    await this.#observers?.stop();
    if (this.#recovery) await this.store.instances.remove(this.owner).catch(() => {});
    await this.#http?.stop();
    this.bus.emit('runtime.stopped', { drained });
    await this.#recorder?.stop();
    this.#metrics?.dispose();
    await this.#stopStoreParts();
    if (!this.#outage.empty) {
      this.logger.warn(
        { held: this.#outage.held },
        'stopping with writes held from a store outage: they are not written',
      );
    }
    if (this.#store && typeof this.#options.store !== 'object') {
      await this.#store.close().catch((error) => this.logger.warn({ err: error }, 'store did not close cleanly'));
    }
    this.#state = 'stopped';
    return { drained };
  }

  async #drain(runners: LoopRunner[], graceMs: number): Promise<boolean> {
    const idle = Promise.all(runners.map((r) => r.idle())).then(() => true);
    const grace = new AbortController();
    const timedOut = this.clock.sleep(graceMs, grace.signal).then(
      () => false,
      () => true,
    );
    const drained = await Promise.race([idle, timedOut]);
    grace.abort();
    if (!drained) {
      this.logger.warn({ graceMs }, 'shutdown grace period over: aborting in-flight items');
      for (const runner of runners)
        runner.abort(new ShutdownError(`aborted: shutdown grace period of ${graceMs} ms is over`));
      await idle;
    }
    return drained;
  }

  /**
   * Everything an operator asks "what is it doing?" about, as JSON-safe data
   * (see {@link snapshotOf}). Served at `/status`.
   */
  snapshot(): Promise<RuntimeSnapshot> {
    return snapshotOf(this.#view());
  }

  /**
   * The work queue as seed 000's `tasks` view: counts by priority and by
   * loop, the first 100 items, and an estimate per loop (items × recent p50
   * latency / concurrency; null before any latency was seen).
   */
  async tasks(): Promise<TasksView> {
    return buildTasksView(this.store.queue, (loop, count) => {
      const slot = this.#loops.get(loop);
      if (!slot || slot.governor.latency.count === 0) return null;
      return (count * slot.governor.latency.p50) / slot.runner.pool.concurrency;
    });
  }

  /** Readiness: started and not stopping, store answering, no breaker open, no loop cooling down. */
  ready(): Promise<HealthReport> {
    return readinessOf(this.#view());
  }

  /** Full health: store, every loop (stale when its last success is too old), breakers, backpressure, user checks. */
  health(): Promise<HealthReport> {
    return healthOf(this.#view());
  }

  /** What the status and health views read, at this moment. */
  #view(): RuntimeView {
    return {
      now: this.clock.now(),
      owner: this.owner,
      state: this.#state,
      startedAt: this.#startedAt,
      store: this.#store,
      loops: this.#loops,
      dependencies: this.#dependencies,
      activeLeases: this.activeLeases,
      healthChecks: this.#options.healthChecks ?? {},
      storeGuard: this.#store ? this.#guard : null,
      outage: this.#store ? this.outage : null,
    };
  }
}

function isResolved(def: LoopDefinition | ResolvedLoop): def is ResolvedLoop {
  return (
    typeof (def as ResolvedLoop).trigger?.kind === 'string' &&
    typeof (def as ResolvedLoop).policies?.timeoutMs === 'number'
  );
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
