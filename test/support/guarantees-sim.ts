/**
 * In-process "processes" for the guarantee tests: runtimes that share one
 * SQLite file (each with its own connection) and one VirtualClock, and that
 * can be crashed faithfully with the public fault kit (src/testing: KillableClock, crashableStore).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import type { LoopDefinition } from '../../src/core/loop.ts';
import type { AnyEvent } from '../../src/observability/events.ts';
import { createRuntime, type Runtime } from '../../src/runtime/runtime.ts';
import { SqliteStore } from '../../src/storage/sqlite/sqlite-store.ts';
import { crashableStore, KillableClock } from '../../src/testing/index.ts';
import type { VirtualClock } from '../../src/time/virtual-clock.ts';
import { type Child, killAll } from './guarantees-children.ts';

export interface SimProcess {
  readonly name: string;
  readonly runtime: Runtime;
  readonly clock: KillableClock;
  /** Every event its bus emitted, with the process name. */
  readonly events: AnyEvent[];
  readonly startedAt: number;
  /** When it was killed or stopped (virtual ms), undefined while alive. */
  endedAt: number | undefined;
  readonly alive: boolean;
  /** SIGKILL: no timer, no store call, no line of its code runs again. Never calls stop(). */
  kill(): void;
  /** Graceful stop, letting virtual time pass until it is done. */
  stop(graceMs?: number): Promise<void>;
  /** Closes its own store connection (after kill or stop). */
  close(): Promise<void>;
}

export async function startSim(
  name: string,
  shared: VirtualClock,
  file: string,
  loops: ReadonlyArray<LoopDefinition>,
  options: {
    leaseTtlMs?: number;
    recoveryIntervalMs?: number;
    schedule?: boolean;
    shutdownGraceMs?: number;
    /**
     * Each lease acquire waits this long (virtual ms) before it reaches the store, as when it queues
     * behind another process's write lock (SQLite busy_timeout) or a slow network round trip.
     */
    slowLeaseAcquireMs?: number;
  } = {},
): Promise<SimProcess> {
  const raw = SqliteStore.open(file);
  const crash = crashableStore(raw);
  const clock = new KillableClock(shared);
  const slow = options.slowLeaseAcquireMs;
  if (slow) {
    const leases = crash.store.leases;
    const acquire = leases.acquire.bind(leases);
    (crash.store as { leases: typeof leases }).leases = {
      ...bindAll(leases),
      acquire: async (...args) => {
        await clock.sleep(slow);
        return acquire(...args);
      },
    };
  }
  const runtime = createRuntime({
    loops,
    store: crash.store,
    clock,
    random: () => 0.5,
    leaseTtlMs: options.leaseTtlMs,
    recoveryIntervalMs: options.recoveryIntervalMs,
    shutdownGraceMs: options.shutdownGraceMs,
  });
  const events: AnyEvent[] = [];
  runtime.bus.onAny((event) => events.push(event));
  await runtime.start({ schedule: options.schedule ?? true });
  let alive = true;
  let closed = false;
  const proc: SimProcess = {
    name,
    runtime,
    clock,
    events,
    startedAt: shared.now(),
    endedAt: undefined,
    get alive() {
      return alive;
    },
    kill() {
      if (!alive) return;
      alive = false;
      proc.endedAt = shared.now();
      clock.kill();
      crash.kill();
    },
    async stop(graceMs) {
      if (!alive) return;
      const stopped = runtime.stop({ graceMs });
      await shared.runUntil(() => runtime.state === 'stopped');
      await stopped;
      alive = false;
      proc.endedAt = shared.now();
    },
    async close() {
      if (closed) return;
      closed = true;
      await raw.close();
    },
  };
  return proc;
}

/** The object's methods, bound to it, as a plain object (to replace one of them). */
function bindAll<T extends object>(target: T): T {
  const out: Record<string, unknown> = {};
  for (const name of Object.keys(target) as Array<keyof T & string>) {
    const value = target[name];
    out[name] = typeof value === 'function' ? value.bind(target) : value;
  }
  return out as T;
}

/** A guarantee test file's temp dir, child processes and in-process runtimes, all cleaned up after it. */
export interface GuaranteeFixture {
  /** The temp dir (set before the first test). */
  readonly dir: string;
  readonly children: Child[];
  readonly sims: SimProcess[];
}

/** Registers before/after hooks that create the temp dir and kill every child and runtime at the end. */
export function guaranteeFixture(name: string): GuaranteeFixture {
  const fx = { dir: '', children: [] as Child[], sims: [] as SimProcess[] };
  before(() => {
    fx.dir = mkdtempSync(join(tmpdir(), `autoloop-guarantees-${name}-`));
  });
  after(async () => {
    await killAll(fx.children);
    for (const sim of fx.sims.splice(0)) {
      sim.kill();
      await sim.close();
    }
    rmSync(fx.dir, { recursive: true, force: true });
  });
  return fx;
}
