import type { CycleRecord } from '../core/cycle-record.ts';
import type { LoopDefinition, ResolvedLoop } from '../core/loop.ts';
import type { AnyEvent } from '../observability/events.ts';
import { createRuntime, type Runtime, type RuntimeOptions } from '../runtime/runtime.ts';
import { MemoryStore } from '../storage/memory/memory-store.ts';
import type { Store } from '../storage/store.ts';
import { VirtualClock } from '../time/virtual-clock.ts';

export interface LoopHarness {
  readonly clock: VirtualClock;
  readonly store: Store;
  readonly runtime: Runtime;
  /** Every event emitted since the harness started, in order. */
  readonly events: AnyEvent[];
  /** Runs one manual cycle and lets virtual time pass until it ends. */
  runCycle(loop?: string): Promise<CycleRecord>;
  /** Moves virtual time forward, firing ticks and timers on the way. */
  advance(ms: number): Promise<void>;
  /** The loop's cycle records, oldest first. */
  cycles(loop?: string): Promise<CycleRecord[]>;
  /** Stops the runtime (draining up to `graceMs` of virtual time) and checks no timer leaked. */
  stop(graceMs?: number): Promise<void>;
}

/**
 * Runs loops on a virtual clock and a memory store, so a test can drive a
 * day of schedule in milliseconds and read back exactly what happened.
 *
 * @example
 * const h = await createLoopHarness([myLoop]);
 * await h.advance(60_000);
 * assert.equal((await h.cycles()).length, 6);
 * await h.stop();
 */
export async function createLoopHarness(
  loops: ReadonlyArray<LoopDefinition | ResolvedLoop>,
  options: {
    /** Named dependencies for `policies.uses` (breakers, rate limits), as in `createRuntime`. */
    dependencies?: RuntimeOptions['dependencies'];
    clock?: VirtualClock;
    store?: Store;
    random?: () => number;
    schedule?: boolean;
    shutdownGraceMs?: number;
  } = {},
): Promise<LoopHarness> {
  const clock = options.clock ?? new VirtualClock();
  const store = options.store ?? new MemoryStore();
  const runtime = createRuntime({
    loops,
    store,
    clock,
    random: options.random ?? (() => 0.5),
    shutdownGraceMs: options.shutdownGraceMs,
    dependencies: options.dependencies,
  });
  const events: AnyEvent[] = [];
  runtime.bus.onAny((event) => events.push(event));
  await runtime.start({ schedule: options.schedule ?? true });
  const first = runtime.loopNames[0] ?? '';
  return {
    clock,
    store,
    runtime,
    events,
    async runCycle(loop = first) {
      let record: CycleRecord | undefined;
      const done = runtime.run(loop).then((r) => {
        record = r;
      });
      await clock.runUntil(() => record !== undefined);
      await done;
      return record as CycleRecord;
    },
    advance: (ms) => clock.advance(ms),
    async cycles(loop = first) {
      return (await store.cycles.list(loop, { limit: 100_000 })).reverse();
    },
    async stop(graceMs) {
      const stopped = runtime.stop({ graceMs });
      await clock.runUntil(() => runtime.state === 'stopped');
      await stopped;
    },
  };
}
