/**
 * The signals recipe's indicator pipeline at scale, for bench/signals.ts:
 * 1,000 symbols per cycle through the built-in `indicators` -> `analyse`
 * stages (no LLM), candles from the seeded simulated feed (100 x 1m per
 * symbol), the real runtime on a fresh SQLite file (per-symbol leases on,
 * one stored signal per symbol). Several manual cycles back to back: the
 * first (cold: JIT, the feed's per-symbol walks, new lease rows) and the
 * steady state after it, with the process's RSS sampled every 50 ms.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LoopPolicies } from '../src/core/loop.ts';
import { signalsRecipe } from '../src/recipes/signals/signals-recipe.ts';
import { createRuntime } from '../src/runtime/runtime.ts';
import { SqliteStore } from '../src/storage/sqlite/sqlite-store.ts';
import { now } from './report.ts';

export interface IndicatorRun {
  readonly symbols: number;
  readonly cycleMs: number[];
  /** Items succeeded per cycle. */
  readonly succeeded: number[];
  /** The concurrency limits the loop was set to, in order. */
  readonly limits: number[];
  /** MiB: before the runtime started, peak while cycles ran, after the last cycle (before stop). */
  readonly rssMiB: { readonly before: number; readonly peak: number; readonly after: number };
  readonly heapUsedMiB: { readonly before: number; readonly after: number };
}

const MiB = 2 ** 20;

/** `count` symbols the simulated feed does not know (it gives each a seeded price level). */
export function benchSymbols(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `SYM${String(i).padStart(4, '0')}/USD`);
}

export async function indicatorCycles(count: number, cycles: number, policies?: LoopPolicies): Promise<IndicatorRun> {
  const dir = mkdtempSync(join(tmpdir(), 'autoloop-bench-signals-'));
  const store = SqliteStore.open(join(dir, 'state.db'));
  const def = signalsRecipe({
    symbols: benchSymbols(count),
    trigger: { manual: true },
    seed: 7,
    ...(policies ? { policies } : {}),
  });
  const runtime = createRuntime({ loops: [def], store });
  const limits: number[] = [];
  runtime.bus.on('loop.concurrency', ({ limit }) => limits.push(limit));
  const before = process.memoryUsage();
  let peak = before.rss;
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, 50);
  const cycleMs: number[] = [];
  const succeeded: number[] = [];
  try {
    await runtime.start({ schedule: false });
    if (limits.length === 0) limits.push(runtime.loop(def.name).loop.policies.concurrency);
    for (let i = 0; i < cycles; i++) {
      const start = now();
      const record = await runtime.run(def.name);
      cycleMs.push(now() - start);
      succeeded.push(record.counts.succeeded);
      if (record.counts.succeeded !== count) {
        throw new Error(
          `indicator cycle ${i + 1}: expected ${count} signals, got ${JSON.stringify(record.counts)} (${record.outcome.kind})`,
        );
      }
    }
    const after = process.memoryUsage();
    peak = Math.max(peak, after.rss);
    return {
      symbols: count,
      cycleMs,
      succeeded,
      limits,
      rssMiB: { before: before.rss / MiB, peak: peak / MiB, after: after.rss / MiB },
      heapUsedMiB: { before: before.heapUsed / MiB, after: after.heapUsed / MiB },
    };
  } finally {
    clearInterval(sampler);
    await runtime.stop({ graceMs: 1_000 });
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
