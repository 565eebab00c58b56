/**
 * The `signals` recipe (seed 002) in real time, in one run of about two
 * minutes:
 *
 * 1. 20 symbols (the seed's) whose LLM call takes 10 s each, one cycle at
 *    concurrency 20 (goal <= 12 s, inside the 100/min rate limit) and at
 *    concurrency 10 (goal <= 1.1 x the ideal 20 s). Concurrency is set
 *    explicitly (`concurrency: N, adaptive: false`). The recipe's default
 *    adaptive policy (starts at its max, 10; cuts on evidence) is run too,
 *    for its first cycle, beside the others (it only waits on timers and
 *    sockets, so the runs do not contend for CPU); then a restart on its
 *    SQLite file, which starts at the limit the first run left in the
 *    store's documents (namespace `adaptive`).
 * 2. The same workload through seed 002's batch algorithm (batches of 20
 *    and of 10, 1 s apart).
 * 3. Latencies drawn (seeded) from 2-10 s per symbol, concurrency 10:
 *    cycle time as a ratio to the ideal bound, autoloop and seed batches.
 * 4. 1,000 symbols per cycle on the indicator pipeline (no LLM): first and
 *    steady-state cycle time, RSS.
 *
 * Ideal bound (as bench/fanout.ts): no schedule at concurrency c beats
 * max(longest call, total call time / c); for 20 x 10 s that is 10 s at
 * c = 20 and 20 s at c = 10. It counts only the stand-in's latency, so
 * everything else (HTTP, indicators, store writes, leases) is overhead.
 *
 * Every run uses the real runtime on a fresh SQLite file and real HTTP to
 * the stand-in server (test/support/llm-server.ts, not a model). Timeouts
 * are raised to 30 s (item and LLM call): the recipe's defaults (10 s, the
 * seed's) would time out calls that take exactly 10 s.
 */

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { documentLimitMemory } from '../src/policies/limit-memory.ts';
import { SEED_SYMBOLS } from '../src/recipes/signals/signals-recipe.ts';
import type { Runtime } from '../src/runtime/runtime.ts';
import { SqliteStore } from '../src/storage/sqlite/sqlite-store.ts';
import type { Store } from '../src/storage/store.ts';
import { systemClock } from '../src/time/system-clock.ts';
import { idealBound } from './fanout.ts';
import { fmt, heading, line, median, seeded } from './report.ts';
import { type IndicatorRun, indicatorCycles } from './signals-indicators.ts';
import { type RecipeCycleRun, recipeCycle, type SeedBatchCycle, seedBatchCycle } from './signals-llm.ts';

const CALL_MS = 10_000;
const ITEM_TIMEOUT = '30s';
const INDICATOR_SYMBOLS = 1_000;
const INDICATOR_CYCLES = 5;

function fixed(concurrency: number) {
  return { concurrency, adaptive: false, timeout: ITEM_TIMEOUT } as const;
}

function checkAll(what: string, run: RecipeCycleRun): RecipeCycleRun {
  if (run.counts.succeeded !== SEED_SYMBOLS.length) {
    throw new Error(
      `signals bench, ${what}: expected ${SEED_SYMBOLS.length} signals, got ${JSON.stringify(run.counts)} (${run.outcome.kind})`,
    );
  }
  return run;
}

function standIn(run: RecipeCycleRun | SeedBatchCycle): string {
  const s = run.standIn;
  return `stand-in: ${s.requests} requests (${s.ok} ok), max ${s.maxInflight} in flight, ${s.firstWave} arrived within 100 ms of the first`;
}

/** Whether the first wave of calls went out together (no wait on the rate limit), from the stand-in's arrivals. */
function throttled(run: RecipeCycleRun, concurrency: number): string {
  const wave = Math.min(concurrency, run.standIn.requests);
  return run.standIn.firstWave >= wave
    ? `no call waited for the rate limit (${run.standIn.requests} of its 100 per minute)`
    : `only ${run.standIn.firstWave} of ${wave} calls went out at once: some waited (rate limit or pool)`;
}

function ratioLine(label: string, ms: number, ideal: number, note?: string): void {
  line(
    `${label.padEnd(36)}${fmt(ms).padStart(7)} ms   ratio to ideal ${fmt(ms / ideal, 3)}${note ? `   ${note}` : ''}`,
  );
}

function verdict(goal: string, met: boolean): string {
  return `(goal ${goal}: ${met ? 'met' : 'NOT met'})`;
}

/** The pool's own schedule of these latencies: items in plan order, each taking the first free slot. */
export function fifoSchedule(latencies: readonly number[], concurrency: number): number {
  const slots = new Array<number>(concurrency).fill(0);
  for (const ms of latencies) {
    const free = slots.indexOf(Math.min(...slots));
    slots[free] = (slots[free] as number) + ms;
  }
  return Math.max(...slots);
}

/** Seed 002's schedule of these latencies: each batch waits for its slowest, then 1 s. */
export function seedSchedule(latencies: readonly number[], batchSize: number): number {
  let total = 0;
  for (let i = 0; i < latencies.length; i += batchSize) {
    total += (i > 0 ? 1_000 : 0) + Math.max(...latencies.slice(i, i + batchSize));
  }
  return total;
}

export async function benchSignals(): Promise<Record<string, unknown>> {
  const symbols = [...SEED_SYMBOLS];
  const tenSeconds = new Map(symbols.map((s) => [s, CALL_MS]));
  heading(
    `signals recipe: ${symbols.length} symbols, indicators -> analyse -> advise (LLM stand-in, real HTTP), real runtime on a SQLite file`,
  );
  line(
    'llm_service: breaker (5 failures), rate limit 100/min (shared, in the store: at most 100 calls in any minute; an idle limit lets 20 go at once); item and LLM call timeouts 30 s',
  );
  // The recipe's default policies (adaptive, min 3, max 10): its first cycle, beside the runs below,
  // remembering its limit in the store as the runtime's LimitMemory does; later a restart on the same file.
  const restartDir = mkdtempSync(join(tmpdir(), 'autoloop-bench-restart-'));
  const restartDb = join(restartDir, 'state.db');
  const adaptiveRun = recipeCycle(tenSeconds, { timeout: ITEM_TIMEOUT }, { db: restartDb, afterStart: rememberLimit });
  adaptiveRun.catch(() => {}); // awaited below; this only keeps an early failure from being unhandled

  const at20 = checkAll('concurrency 20', await recipeCycle(tenSeconds, fixed(20)));
  const at10 = checkAll('concurrency 10', await recipeCycle(tenSeconds, fixed(10)));
  const seed20 = await seedBatchCycle(tenSeconds, 20);
  const seed10 = await seedBatchCycle(tenSeconds, 10);
  const ideal20 = idealBound([...tenSeconds.values()], 20);
  const ideal10 = idealBound([...tenSeconds.values()], 10);
  line('\n10 s per LLM call; concurrency set explicitly (concurrency: N, adaptive: false)');
  ratioLine('autoloop, concurrency 20', at20.cycleMs, ideal20, verdict('<= 12,000 ms', at20.cycleMs <= 12_000));
  line(`  ${standIn(at20)}: ${throttled(at20, 20)}`);
  ratioLine(
    'autoloop, concurrency 10',
    at10.cycleMs,
    ideal10,
    verdict('<= 1.1 x 20,000 ms', at10.cycleMs <= 1.1 * ideal10),
  );
  line(`  ${standIn(at10)}`);
  ratioLine('original batches of 20', seed20.cycleMs, ideal20);
  ratioLine(
    'original batches of 10 (1 s apart)',
    seed10.cycleMs,
    ideal10,
    `(its schedule: ${fmt(seedSchedule([...tenSeconds.values()], 10))} ms)`,
  );
  line(`  ${standIn(seed10)}`);

  const random = seeded(42);
  const drawn = new Map(symbols.map((s) => [s, Math.round(2_000 + random() * 8_000)]));
  const values = [...drawn.values()];
  const idealDrawn = idealBound(values, 10);
  const sum = values.reduce((a, b) => a + b, 0);
  const drawnRun = checkAll('drawn latencies', await recipeCycle(drawn, fixed(10)));
  const drawnSeed = await seedBatchCycle(drawn, 10);
  line(
    `\nlatencies drawn from 2-10 s (seeded 42): sum ${fmt(sum)} ms, longest ${fmt(Math.max(...values))} ms; concurrency 10`,
  );
  const fifo = fifoSchedule(values, 10);
  const seedPlan = seedSchedule(values, 10);
  line(`ideal bound max(longest, sum / 10)  ${fmt(idealDrawn).padStart(7)} ms`);
  ratioLine(
    'autoloop, concurrency 10',
    drawnRun.cycleMs,
    idealDrawn,
    `(+${fmt(drawnRun.cycleMs - fifo)} ms over its FIFO schedule of these draws, ${fmt(fifo)} ms)`,
  );
  ratioLine(
    'original batches of 10',
    drawnSeed.cycleMs,
    idealDrawn,
    `(+${fmt(drawnSeed.cycleMs - seedPlan)} ms over its schedule, ${fmt(seedPlan)} ms)`,
  );
  line(
    `autoloop is ${fmt(drawnSeed.cycleMs / drawnRun.cycleMs, 2)}x faster than the original runner's batches on this draw`,
  );

  const adaptive = checkAll('default policies', await adaptiveRun);
  const remembered = (await readRemembered(restartDb)) ?? 0;
  const restart = checkAll(
    'restart',
    await recipeCycle(tenSeconds, { timeout: ITEM_TIMEOUT }, { db: restartDb, afterStart: restoreLimit }),
  );
  rmSync(restartDir, { recursive: true, force: true });
  line(
    `\nthe recipe's default policies (adaptive, min 3, max 10; timeout raised to 30 s), 10 s per call, first cycle [ran beside the runs above]`,
  );
  ratioLine(
    'autoloop, adaptive from max 10',
    adaptive.cycleMs,
    ideal10,
    `${verdict('< 50,000 ms', adaptive.cycleMs < 50_000)} (ideal at its max 10: ${fmt(ideal10)} ms)`,
  );
  line(
    `  concurrency limits: ${adaptive.limits.join(' -> ')}; max ${adaptive.maxItemsInFlight} items in flight; ${standIn(adaptive)}`,
  );
  line(
    `  the store remembers limit ${remembered} (10 s calls are above the seed's 8 s p95 bar, which halves the limit)`,
  );
  ratioLine(
    'restart: adaptive from remembered',
    restart.cycleMs,
    ideal10,
    `(starts at ${remembered}; ${verdict('< 50,000 ms', restart.cycleMs < 50_000)})`,
  );
  line(
    `  concurrency limits: ${restart.limits.join(' -> ')}; max ${restart.maxItemsInFlight} items in flight; ${standIn(restart)}`,
  );

  const defaults = await indicatorCycles(INDICATOR_SYMBOLS, INDICATOR_CYCLES);
  const wide = await indicatorCycles(INDICATOR_SYMBOLS, INDICATOR_CYCLES, { concurrency: 50, adaptive: false });
  heading(
    `signals recipe: ${fmt(INDICATOR_SYMBOLS)} symbols per cycle, indicators -> analyse only (simulated feed, 100 x 1m candles), SQLite file, ${INDICATOR_CYCLES} cycles`,
  );
  indicatorLines("recipe's default policies (adaptive 3..10)", defaults);
  indicatorLines('concurrency 50, adaptive: false', wide);
  return {
    callMs: CALL_MS,
    concurrency20: { idealMs: ideal20, ...at20 },
    concurrency10: { idealMs: ideal10, ...at10 },
    originalBatches20: seed20,
    originalBatches10: seed10,
    drawn: {
      latencies: Object.fromEntries(drawn),
      idealMs: idealDrawn,
      fifoScheduleMs: fifo,
      seedScheduleMs: seedPlan,
      autoloop: drawnRun,
      originalBatches10: drawnSeed,
    },
    defaultAdaptiveFirstCycle: adaptive,
    restartFromRemembered: { remembered, ...restart },
    indicators: { defaults, concurrency50: wide },
  };
}

/**
 * What the runtime's LimitMemory wiring does (runtime/loop-set.ts gives the governor
 * `documentLimitMemory(store.documents, clock)`), done here by hand so the bench shows it either way:
 * every limit change but a probe or a restore is written to the store's documents.
 */
function rememberLimit(runtime: Runtime, store: Store): void {
  const memory = documentLimitMemory(store.documents, systemClock);
  runtime.governor('signals').adaptive?.onLimitChange(({ limit, reason }) => {
    if (reason !== 'probe' && reason !== 'restored') memory.save('signals', limit);
  });
}

/** The restart's side: the remembered limit, loaded and restored before the first cycle. */
async function restoreLimit(runtime: Runtime, store: Store): Promise<void> {
  const limit = await documentLimitMemory(store.documents, systemClock).load('signals');
  if (limit !== undefined) runtime.governor('signals').adaptive?.restore(limit);
}

async function readRemembered(db: string): Promise<number | undefined> {
  const store = SqliteStore.open(db);
  try {
    return await documentLimitMemory(store.documents, systemClock).load('signals');
  } finally {
    await store.close();
  }
}

function indicatorLines(label: string, run: IndicatorRun): void {
  const [first = 0, ...rest] = run.cycleMs;
  const steady = median(rest);
  line(`${label}`);
  line(
    `  first cycle ${fmt(first)} ms; steady state (median of cycles 2-${run.cycleMs.length}) ${fmt(steady)} ms = ${fmt((run.symbols / steady) * 1000)} symbols/s; all cycles ${run.cycleMs.map((ms) => fmt(ms)).join(', ')} ms`,
  );
  line(
    `  RSS ${fmt(run.rssMiB.before)} MiB before, peak ${fmt(run.rssMiB.peak)} MiB (+${fmt(run.rssMiB.peak - run.rssMiB.before)}), heap used ${fmt(run.heapUsedMiB.before)} -> ${fmt(run.heapUsedMiB.after)} MiB; limits ${summariseLimits(run.limits)}`,
  );
}

function summariseLimits(limits: number[]): string {
  if (limits.length <= 1) return `${limits[0] ?? '?'} throughout`;
  return `moved ${limits.length - 1} times between ${Math.min(...limits)} and ${Math.max(...limits)}`;
}
