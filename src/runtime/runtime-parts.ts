import { LeaseManager } from '../leases/lease-manager.ts';
import type { Runnable } from '../lifecycle/runnable.ts';
import { EventRecorder } from '../observability/event-recorder.ts';
import type { RuntimeMetrics } from '../observability/metrics.ts';
import { lateSpanHook } from '../observability/span-hook.ts';
import { Dependency } from '../policies/dependency.ts';
import type { Store } from '../storage/store.ts';
import { httpPart } from './http-part.ts';
import { loopControl } from './loop-control.ts';
import type { Observers } from './observers.ts';
import { OutageStore } from './outage-store.ts';
import { recoveryParts } from './recovery-parts.ts';
import type { Runtime } from './runtime.ts';
import { NO_SERVICES } from './service-control.ts';
import { StorePart } from './store-part.ts';

/**
 * The runtime's long-lived parts as runnables, in start order (stop is the
 * reverse):
 *
 *   store, store-probe, event-fanout   open and ping the store, its breaker's probe, pub/sub wake-ups
 *   event-recorder                     the bus into the event log (batched)
 *   lifecycle-events                   emits `runtime.stopped` at stop, before the log's last flush
 *   dependencies                       named dependencies' breakers and rate limits (shared buckets in the store)
 *   metrics                            Prometheus registry fed from the bus
 *   recipes                            each used recipe's parts (metrics, routes, checks, runnables)
 *   observers                          alerts, webhooks, traces (stopped after the loops drained)
 *   http                               health, metrics, status, admin, recipes' routes
 *   (options.runnables)                the deployment's own parts, e.g. supervised services
 *   presence*                          at stop: this instance's heartbeat removed (after the drain)
 *   loops                              lease manager, runners; stop = drain + release leases
 *   recovery*, retention*              heartbeat, lease sweep, orphan adoption; pruning
 *   catch-up*, schedulers*             missed-tick policies; ticks begin
 *
 * (* only when scheduling: `start({ schedule: false })` leaves them out.)
 * Nothing is built before the part that needs it starts: the runners are
 * made once the store is open.
 */
/**
 * A module imported on first use, once per process. A later runtime's start
 * then awaits a settled promise, not the module loader: under a loader hook
 * (tsx, or the CLI's loader for TypeScript configs) every `import()` waits
 * for a real round trip to the loader thread, which a simulated clock sees
 * as a varying number of timers passing, so an instance restarted inside
 * `autoloop simulate` would start at a moment that depends on machine load.
 */
function loadOnce<T>(load: () => Promise<T>): () => Promise<T> {
  let loaded: Promise<T> | undefined;
  return () => {
    loaded ??= load();
    return loaded;
  };
}

const loadMetrics = loadOnce(() => import('../observability/metrics.ts'));
const loadObservers = loadOnce(() => import('./observers.ts'));

export function runtimeParts(rt: Runtime) {
  const { bus, clock, logger, options, owner } = rt;
  const ttlMs = options.leaseTtlMs ?? 10_000;
  const random = options.random ?? (() => rt.entropy.random());
  const state = {
    metrics: null as RuntimeMetrics | null,
    leases: null as LeaseManager | null,
    observers: null as Observers | null,
    recorder: null as EventRecorder | null,
    url: null as string | null,
    drained: true,
    dependencies: new Map<string, Dependency>(),
  };
  const guarded = (): Store => rt.store;
  const outage = new OutageStore({
    guard: rt.storeGuard,
    owner,
    clock,
    logger,
    // Held through an outage, stored at replay: published then, as the cycle would have.
    onResultStored: (result) => {
      const def = rt.loops.definitions.find((l) => l.name === result.loop);
      if (def && store.publisher) void store.publisher.publishHeld(def, result, rt.store.cycles);
    },
  });
  const store = new StorePart({
    store: options.store,
    cwd: options.cwd,
    beforeOpen: options.beforeStoreOpen,
    guard: rt.storeGuard,
    bus,
    logger,
    owner,
    loops: rt.loops.definitions,
    // Core writes through one path: the store, behind its breaker, behind what an outage holds back.
    decorate: (guardedStore) => outage.wrap(guardedStore),
    onHealthy: () => {
      if (!outage.empty) void outage.replay();
      if ((state.recorder?.buffered ?? 0) > 0) void state.recorder?.flush();
    },
    beforeClose: () => {
      if (!outage.empty) {
        logger.warn({ held: outage.held }, 'stopping with writes held from a store outage: they are not written');
      }
    },
  });
  const outageCounts = () => ({
    held: { ...outage.held, events: state.recorder?.buffered ?? 0 },
    dropped: { ...outage.dropped, events: state.recorder?.dropped ?? 0 },
  });

  const recorder: Runnable = {
    name: 'event-recorder',
    start: () => {
      state.recorder = new EventRecorder(guarded().events, clock, logger, {
        onAppended: (count) => store.fanout?.appended(count),
      });
      state.recorder.start(bus);
    },
    stop: () => state.recorder?.stop(),
  };
  const lifecycleEvents: Runnable = {
    name: 'lifecycle-events',
    start: () => {},
    stop: () => void bus.emit('runtime.stopped', { drained: state.drained }),
  };
  const metrics: Runnable = {
    name: 'metrics',
    start: async () => {
      // Loaded here: importing autoloop does not load prom-client.
      const { createMetrics } = await loadMetrics();
      state.metrics = createMetrics(bus, {
        processMetrics: options.processMetrics ?? false,
        followEvents: options.eventMetrics ?? true,
        activeLeases: () => state.leases?.active ?? 0,
        breakers: () => [
          rt.storeGuard.breaker,
          ...[...state.dependencies.values()].flatMap((d) => (d.breaker ? [d.breaker] : [])),
        ],
        storeOutage: () => ({ ...outageCounts(), failures: rt.storeGuard.failures }),
      });
    },
    stop: () => state.metrics?.dispose(),
  };
  const control = loopControl(rt);
  const recipes = rt.recipes.runnable(
    () => ({
      store: guarded(),
      bus,
      clock,
      logger,
      registry: (state.metrics as RuntimeMetrics).registry,
      dependencies: state.dependencies,
      governor: (loop) => rt.loops.slots.get(loop)?.governor,
      run: (loop) => rt.run(loop),
      control,
      // The observers (tracing) start after the recipes: spans go to tracing once it runs.
      spans: lateSpanHook(() => state.observers?.spans),
      services: options.serviceControl ?? NO_SERVICES,
    }),
    clock,
    logger,
  );
  const observers: Runnable = {
    name: 'observers',
    start: async () => {
      // Loaded here: importing autoloop does not load the alert rules and webhooks.
      const { Observers } = await loadObservers();
      state.observers = await Observers.start({
        options: options.observability ?? {},
        bus,
        clock,
        logger,
        registry: (state.metrics as RuntimeMetrics).registry,
        loops: rt.loops.definitions,
        dependencies: rt.resolvedDependencies,
        random,
        extraRules: rt.recipes.alertRules(),
      });
    },
    stop: () => state.observers?.stop(),
  };
  const dependencies: Runnable = {
    name: 'dependencies',
    start: () => {
      const s = guarded();
      for (const spec of rt.resolvedDependencies) {
        const dep = new Dependency(spec, clock, {
          take: (...args) => s.buckets.take(...args),
          // Fire-and-forget for its callers (a 429's pause): a store outage must not surface as an unhandled
          // rejection. A pause that was not written only means the dependency may answer 429 once more.
          pause: (...args) =>
            s.buckets
              .pause(...args)
              .catch((error) =>
                rt.storeGuard.logFailure(
                  'buckets.pause',
                  error,
                  { bucket: args[0] },
                  'shared rate-limit pause not written',
                ),
              ),
        });
        dep.breaker?.onStateChange(({ breaker, from, to }) => bus.emit('breaker.state', { breaker, from, to }));
        state.dependencies.set(spec.name, dep);
      }
    },
  };
  const loops: Runnable = {
    name: 'loops',
    start: () => {
      const s = guarded();
      state.leases = new LeaseManager({
        store: s.leases,
        clock,
        owner,
        ttlMs,
        onLost: (key, token, reason) => bus.emit('lease.lost', { key, token, reason }),
        onStaleRecovered: (key, previousOwner) => bus.emit('lease.recovered', { key, previousOwner }),
      });
      rt.loops.build({
        store: s,
        clock,
        bus,
        random,
        entropy: rt.entropy,
        owner,
        leases: state.leases,
        claimTtlMs: ttlMs,
        onError: (error, name) =>
          rt.storeGuard.logFailure(`cycle:${name}`, error, { loop: name }, 'cycle failed to record (store error)'),
        onStored: (def, result, tick) => store.publisher?.publish(def, result, tick),
        dependencies: state.dependencies,
        logger,
      });
    },
    stop: async (deadline) => {
      state.drained = await rt.loops.drain(deadline, options.shutdownGraceMs ?? 30_000, logger);
      // Peers may take this process's keys at once, not after the TTL.
      await state.leases?.releaseAll();
    },
  };

  /**
   * With `options.quiet` (simulation only): the store probe and the recovery
   * tick are no-ops while the store answers, nothing is held back from an
   * outage and (for recovery) the store has nothing to recover; see
   * `Clock.setPeriodTimer`.
   */
  function quietRecovery(): (() => boolean) | undefined {
    const quiet = options.quiet;
    if (!quiet) return undefined;
    // A successful probe flushes buffered events too (onHealthy above).
    rt.storeGuard.skipIdleProbes(() => outage.empty && (state.recorder?.buffered ?? 0) === 0 && quiet.answers());
    return () =>
      outage.empty &&
      quiet.answers() &&
      rt.storeGuard.breaker.consecutiveFailures === 0 &&
      quiet.nothingToRecover(owner, clock.now());
  }

  function scheduling(): Runnable[] {
    const recovery = recoveryParts(rt, () => state.leases as LeaseManager, quietRecovery());
    // presence before the loops, so its stop (the heartbeat removed) comes after the drain.
    return [
      recovery.presence,
      loops,
      recovery.recovery,
      ...(recovery.retention ? [recovery.retention] : []),
      rt.loops.catchUp(guarded, owner, logger),
      rt.loops.schedulers(),
    ];
  }

  return {
    store,
    get metrics() {
      return state.metrics;
    },
    get leases() {
      return state.leases;
    },
    get observers() {
      return state.observers;
    },
    get url() {
      return state.url;
    },
    get drained() {
      return state.drained;
    },
    dependencies: state.dependencies as ReadonlyMap<string, Dependency>,
    outageCounts,
    /** Every part in start order. */
    runnables(schedule: boolean): Runnable[] {
      const head = [...store.runnables(), recorder, lifecycleEvents, dependencies, metrics, recipes, observers];
      const web = options.http
        ? [
            httpPart(rt, options.http, {
              metrics: () => state.metrics as RuntimeMetrics,
              fanout: () => store.fanout,
              listening: (url) => {
                state.url = url;
              },
            }),
          ]
        : [];
      const own =
        typeof options.runnables === 'function'
          ? options.runnables({ store: guarded, bus, registry: () => state.metrics?.registry ?? null })
          : (options.runnables ?? []);
      return [...head, ...web, ...own, ...(schedule ? scheduling() : [loops])];
    },
  };
}
