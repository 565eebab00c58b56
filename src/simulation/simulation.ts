/**
 * The simulation engine: a config's loops on a shared {@link SimClock},
 * N runtime instances sharing one store, act models in place of the real
 * acts, and a seeded fault timeline (crashes with SIGKILL semantics and
 * restarts, store outages, degraded dependencies, frozen instances).
 *
 * Phases: faults fall in [0, duration); then a drain of
 * {@link drainMs} with no new fault lets recovery finish; then every live
 * instance stops gracefully and the books are closed. Items planned before
 * the end of the fault window and never finished are lost.
 *
 * Deterministic: every random draw comes from streams derived from `seed`,
 * every id from seeded entropy, every wait from the virtual clock; the same
 * config, seed and faults give the same report, byte for byte.
 */

import type { ResolvedConfig } from '../config/load-config.ts';
import type { FaultSpec } from '../config/simulate-schema.ts';
import { runtimeOptionsFromConfig } from '../runtime/from-config.ts';
import { createRuntime, type Runtime } from '../runtime/runtime.ts';
import { MemoryStore } from '../storage/memory/memory-store.ts';
import type { Store } from '../storage/store.ts';
import { type CrashableStore, crashableStore } from '../testing/crashable-store.ts';
import { formatDuration } from '../time/duration.ts';
import { SeededEntropy } from '../time/seeded-entropy.ts';
import { BreakerBooks } from './breaker-books.ts';
import { type FaultEvent, faultTimeline, SERVICE_FAULTS } from './fault-plan.ts';
import type { HistoryModel } from './history-models.ts';
import { Ledger } from './ledger.ts';
import { buildReport, type SimulationReport, type TimelineEntry } from './report.ts';
import { ServiceModel } from './service-model.ts';
import { type ProcessClock, SimClock } from './sim-clock.ts';
import { World } from './world.ts';

export interface SimulationOptions {
  readonly config: ResolvedConfig;
  readonly durationMs: number;
  readonly instances: number;
  readonly seed: number;
  readonly faults: { readonly name: string; readonly faults: readonly FaultSpec[] };
  /** Where the simulated month starts (epoch ms). Default 2026-01-01T00:00:00Z. */
  readonly startAt?: number;
  /** The shared store (default a fresh MemoryStore). A temp SQLite file for `--store`. */
  readonly store?: Store;
  /** Promise settling rounds between timers (3 for stores that do real I/O). Default 1. */
  readonly settleRounds?: number;
  /** Wraps the shared store, e.g. with a deliberately broken double (tests that prove the report can fail). */
  readonly wrapStore?: (store: Store) => Store;
  /** Act models from the history of a store (`--store <url>`), for loops the config gives none. */
  readonly history?: ReadonlyMap<string, HistoryModel>;
  /**
   * Lets the clock skip each instance's recovery ticks and store probes that
   * would do nothing (default true; only with the default memory store and
   * no `wrapStore`, whose answers it can read). The report is the same
   * either way; off, every tick runs as in production.
   */
  readonly skipIdleTicks?: boolean;
  /** Called about once per simulated hour with the simulated ms done. */
  readonly onProgress?: (doneMs: number, totalMs: number) => void;
}

/** The report plus figures about the run itself (not part of the report: they vary from run to run). */
export interface SimulationResult {
  readonly report: SimulationReport;
  readonly timersFired: number;
  /** Recovery ticks and store probes skipped as no-ops (see `skipIdleTicks`). */
  readonly ticksSkipped: number;
}

/** Cycle records and events older than this are pruned (a month of them would not fit in memory). */
const SIM_RETENTION_MS = 600_000;

/** Quiet time after the fault window: long enough for leases to lapse and recovery to adopt their items. */
export function drainMs(config: ResolvedConfig): number {
  return Math.max(5 * 60_000, 3 * config.leases.ttlMs);
}

/** A seed for one stream of the simulation: the same (seed, stream) always gives the same one. */
function streamSeed(seed: number, stream: number): number {
  let z = (seed ^ Math.imul(stream + 1, 0x9e3779b9)) >>> 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
  return (z ^ (z >>> 13)) >>> 0;
}

interface Incarnation {
  readonly slot: number;
  readonly number: number;
  readonly runtime: Runtime;
  readonly clock: ProcessClock;
  readonly store: CrashableStore;
  alive: boolean;
}

/** Runs the simulation. See the module comment. */
export async function simulate(options: SimulationOptions): Promise<SimulationResult> {
  const { config, durationMs, seed } = options;
  const startAt = options.startAt ?? Date.UTC(2026, 0, 1);
  const clock = new SimClock({ now: startAt, settleRounds: options.settleRounds });
  const ledger = new Ledger(
    config.loops.map((l) => l.name),
    () => clock.now(),
  );
  const endAt = startAt + durationMs + drainMs(config);
  const world = new World({
    loops: config.loops,
    simulate: config.simulate,
    ledger,
    random: seededRandom(streamSeed(seed, 1)),
    now: () => clock.now(),
    untilMs: endAt,
    ...(options.history && { history: options.history }),
  });
  const loops = config.loops.map((loop) => world.simulated(loop));
  const memory = options.store ? null : new MemoryStore({ entropy: new SeededEntropy(streamSeed(seed, 2)) });
  const raw = options.store ?? (memory as MemoryStore);
  // The memory store's own state tells when a recovery tick would find nothing; a double or SQLite cannot.
  const quietStore = options.skipIdleTicks !== false && !options.wrapStore ? memory : null;
  const shared = options.wrapStore ? options.wrapStore(raw) : raw;
  const faultRandom = seededRandom(streamSeed(seed, 3));
  const services = new ServiceModel({
    services: config.services,
    now: () => clock.now(),
    setTimer: (ms, fire) => void clock.setTimer(ms, fire),
    random: seededRandom(streamSeed(seed, 4)),
  });
  const faults = options.faults.faults.filter((f) => !services.empty || !SERVICE_FAULTS.has(f.kind));
  const timeline = faultTimeline(faults, durationMs, faultRandom);
  const breakers = new BreakerBooks();
  const slots: Array<Incarnation | null> = [];
  const entries: TimelineEntry[] = [];
  let storeDown = false;
  let finished = false;
  let incarnations = 0;

  const launch = async (slot: number): Promise<void> => {
    const number = ++incarnations;
    const own = clock.process();
    // The books are kept in each instance's fault wrapper (ledger.hooks): no store layer of their own.
    const store = crashableStore(shared, ledger.hooks);
    const runtime = createRuntime(
      runtimeOptionsFromConfig(config, {
        loops,
        store: store.store,
        clock: own,
        entropy: new SeededEntropy(streamSeed(seed, 1000 + number)),
        // Jitter from a stream of its own: skipped recovery ticks draw no cycle ids, and must not shift it.
        random: seededRandom(streamSeed(seed, 5000 + number)),
        ...(quietStore && {
          quiet: {
            answers: () => !store.dead && !store.down && !store.frozen,
            nothingToRecover: (owner: string, now: number) => quietStore.nothingToRecover(owner, now),
          },
        }),
        instance: { host: `sim-${slot + 1}`, pid: number },
        http: false,
        observability: {},
        // Nobody scrapes a simulated instance: its metrics need not follow every event.
        eventMetrics: false,
        // Supervised services are modelled (service-model.ts): a simulation starts no real processes.
        runnables: [],
        retentionMs: Math.min(config.retentionMs ?? SIM_RETENTION_MS, SIM_RETENTION_MS),
      }),
    );
    runtime.bus.on('breaker.state', (data, at) => breakers.transition(`${slot}`, data.breaker, data.to, at));
    const incarnation: Incarnation = { slot, number, runtime, clock: own, store, alive: true };
    slots[slot] = incarnation;
    await runtime.start();
  };

  const restartLater = (slot: number, afterMs: number) => {
    clock.setTimer(afterMs, () => {
      if (finished || slots[slot]?.alive) return;
      // A process cannot start while its store is unreachable; a supervisor retries until it can.
      if (storeDown) return restartLater(slot, 1_000);
      void launch(slot);
    });
  };

  const pick = (wanted: number | null): Incarnation | undefined => {
    if (wanted !== null) {
      const chosen = slots[wanted - 1];
      return chosen?.alive ? chosen : undefined;
    }
    const alive = slots.filter((s): s is Incarnation => s?.alive === true);
    return alive[Math.floor(faultRandom() * alive.length)];
  };

  const apply = (fault: FaultEvent): void => {
    const at = clock.now() - startAt;
    switch (fault.kind) {
      case 'crash': {
        const victim = pick(fault.instance);
        if (!victim) {
          entries.push({ at, kind: 'crash', detail: 'no live instance to crash' });
          return;
        }
        victim.alive = false;
        victim.clock.kill();
        victim.store.kill();
        breakers.forget(`${victim.slot}`, clock.now());
        const orphans = ledger.crashed(victim.runtime.owner);
        const restart =
          fault.restartAfterMs === null ? 'not restarted' : `restarts after ${formatDuration(fault.restartAfterMs)}`;
        entries.push({
          at,
          kind: 'crash',
          instance: victim.slot + 1,
          detail: `instance ${victim.slot + 1} killed (SIGKILL) holding ${orphans} item(s); ${restart}`,
          crash: ledger.crashCount - 1,
        });
        if (fault.restartAfterMs !== null) restartLater(victim.slot, fault.restartAfterMs);
        return;
      }
      case 'store-outage': {
        storeDown = true;
        ledger.storeOutage(fault.forMs);
        for (const s of slots) s?.store.unreachable('connection refused (simulated store outage)');
        clock.setTimer(fault.forMs, () => {
          storeDown = false;
          for (const s of slots) s?.store.reachable();
        });
        entries.push({ at, kind: 'store-outage', detail: `store unreachable for ${formatDuration(fault.forMs)}` });
        return;
      }
      case 'dependency': {
        world.degrade(fault.target, fault.forMs, fault.slowdown, fault.failureRate);
        const what = fault.target ?? 'every loop';
        const how = [
          fault.slowdown > 1 && `${fault.slowdown}x slower`,
          fault.failureRate > 0 && `${fault.failureRate * 100}% failures`,
        ]
          .filter(Boolean)
          .join(', ');
        entries.push({
          at,
          kind: 'dependency',
          detail: `${what}: ${how || 'degraded'} for ${formatDuration(fault.forMs)}`,
        });
        return;
      }
      case 'freeze': {
        const victim = pick(fault.instance);
        if (!victim) {
          entries.push({ at, kind: 'freeze', detail: 'no live instance to freeze' });
          return;
        }
        victim.store.freeze();
        victim.clock.freeze(fault.forMs, () => victim.store.thaw());
        entries.push({
          at,
          kind: 'freeze',
          instance: victim.slot + 1,
          detail: `instance ${victim.slot + 1} frozen for ${formatDuration(fault.forMs)} (its clock jumps)`,
        });
        return;
      }
      case 'service-crash':
        entries.push({ at, kind: fault.kind, detail: services.crash(fault.target) });
        return;
      case 'service-leak':
        entries.push({ at, kind: fault.kind, detail: services.leak(fault.target, fault.perMinute) });
        return;
    }
  };

  for (let slot = 0; slot < options.instances; slot++) await launch(slot);
  for (const fault of timeline) clock.setTimer(fault.at - (clock.now() - startAt), () => apply(fault));
  const step = 3600_000;
  for (let t = clock.now(); t < endAt; ) {
    t = Math.min(endAt, t + step);
    await clock.advanceTo(t);
    options.onProgress?.(Math.min(durationMs, t - startAt), durationMs);
  }
  finished = true;
  const live = slots.filter((s): s is Incarnation => s?.alive === true);
  const stopping = live.map((s) => s.runtime.stop());
  await clock.runUntil(() => live.every((s) => s.runtime.state === 'stopped'), 10 * 60_000);
  await Promise.all(stopping);
  breakers.close(clock.now());
  const report = buildReport({
    config,
    ledger,
    world,
    breakers: breakers.summary(),
    notReady: breakers.notReady(),
    services: services.report(),
    timeline: entries,
    seed,
    faults: options.faults.name,
    instances: options.instances,
    durationMs,
    startAt,
    incarnations,
  });
  return { report, timersFired: clock.fired, ticksSkipped: clock.skipped };
}

function seededRandom(seed: number): () => number {
  const entropy = new SeededEntropy(seed);
  return () => entropy.random();
}
