/**
 * A runtime on the virtual clock with a `work` loop (manual, three items,
 * concurrency 2, every item failing unless `act` says otherwise) and a
 * decide loop `autopilot` over it, for the decide tests.
 */
import type { CycleRecord } from '../../src/core/cycle-record.ts';
import type { DecisionRecord } from '../../src/recipes/decide/decide-loop.ts';
import { decide } from '../../src/recipes/decide/recipe.ts';
import { recipeLoops } from '../../src/recipes/recipe.ts';
import { createRuntime, type Runtime } from '../../src/runtime/runtime.ts';
import type { RuntimeOptions } from '../../src/runtime/runtime-options.ts';
import { MemoryStore } from '../../src/storage/memory/memory-store.ts';
import { SeededEntropy } from '../../src/time/seeded-entropy.ts';
import { VirtualClock } from '../../src/time/virtual-clock.ts';

export interface Setup {
  clock: VirtualClock;
  runtime: Runtime;
  run(loop: string): Promise<CycleRecord>;
  stop(): Promise<void>;
}

/** A `work` loop whose every item fails (concurrency 2), and a decide loop over it. */
export async function setup(
  options: Record<string, unknown>,
  act: (key: string) => unknown = () => {
    throw new Error('down');
  },
  workPolicies: Record<string, unknown> = {},
  runtimeOptions: Partial<RuntimeOptions> & { clock?: VirtualClock } = {},
): Promise<Setup> {
  const clock = runtimeOptions.clock ?? new VirtualClock();
  const entropy = new SeededEntropy(1);
  const runtime = createRuntime({
    loops: [
      {
        name: 'work',
        trigger: { manual: true },
        plan: () => [{ key: 'a' }, { key: 'b' }, { key: 'c' }],
        act: (item: { key: string }) => act(item.key),
        policies: { concurrency: 2, retry: { attempts: 1 }, ...workPolicies },
      },
      ...recipeLoops(decide, 'autopilot', { targets: ['work'], ...options }),
    ],
    store: new MemoryStore({ entropy }),
    clock,
    entropy,
    instance: { host: 'test', pid: 1 },
    http: false,
    ...runtimeOptions,
  });
  await runtime.start({ schedule: false });
  return {
    clock,
    runtime,
    async run(loop) {
      let record: CycleRecord | undefined;
      const done = runtime.run(loop).then((r) => {
        record = r;
      });
      await clock.runUntil(() => record !== undefined);
      await done;
      return record as CycleRecord;
    },
    async stop() {
      const stopped = runtime.stop();
      await clock.runUntil(() => runtime.state === 'stopped');
      await stopped;
    },
  };
}

export async function journal(runtime: Runtime): Promise<DecisionRecord[]> {
  return (await runtime.store.journals.read('decide:autopilot')).map((e) => e.value as DecisionRecord);
}
