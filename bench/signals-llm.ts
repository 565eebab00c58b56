/**
 * One cycle of the signals recipe with an LLM stage, for bench/signals.ts:
 * the real runtime on a fresh SQLite file, the recipe's built-in
 * `indicators` -> `analyse` stages, then seed 002's `advise` LLM stage over
 * real HTTP to the stand-in chat-completions server
 * (test/support/llm-server.ts), whose latency is set per symbol. The runtime
 * declares `llm_service` with a breaker and the 100/min rate limit (the
 * recipe's `uses: ['llm_service']`).
 *
 * The same workload through seed 002's batch algorithm
 * (support/original-batches.ts) calls the recipe's own `act` for each symbol
 * (the same pipeline, the same HTTP calls) outside the runtime: no store,
 * no leases, no rate limit, which only favours the seed.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CycleCounts, CycleOutcome } from '../src/core/cycle-record.ts';
import type { ItemContext, LoopPolicies } from '../src/core/loop.ts';
import { presetLlmStage } from '../src/recipes/signals/llm-preset-stages.ts';
import { signalsRecipe } from '../src/recipes/signals/signals-recipe.ts';
import { createRuntime, type Runtime } from '../src/runtime/runtime.ts';
import { SqliteStore } from '../src/storage/sqlite/sqlite-store.ts';
import type { Store } from '../src/storage/store.ts';
import { systemClock } from '../src/time/system-clock.ts';
import { type ChatRequest, type LlmServer, startLlmServer } from '../test/support/llm-server.ts';
import { now } from './report.ts';
import { originalBatches } from './support/original-batches.ts';

/** The LLM stage's own per-call timeout: above every latency drawn, so calls end on the stand-in's answer. */
export const LLM_CALL_TIMEOUT = '30s';

/** The runtime's `llm_service`: seed 002's breaker and rate limit (shared bucket in the store, the default). */
const DEPENDENCIES = {
  llm_service: { breaker: { failureThreshold: 5 }, rateLimit: { requests: 100, per: '1m' } },
} as const;

/** What the stand-in saw during one run. */
export interface StandInView {
  readonly requests: number;
  readonly ok: number;
  readonly maxInflight: number;
  /** From the first request's arrival to the last's, ms. */
  readonly arrivalSpreadMs: number;
  /** Arrivals after the first that came within 100 ms of it (the first wave). */
  readonly firstWave: number;
}

export interface RecipeCycleRun {
  readonly cycleMs: number;
  readonly outcome: CycleOutcome;
  readonly counts: CycleCounts;
  /** Most items running at once, from item.started/ended events. */
  readonly maxItemsInFlight: number;
  /** The concurrency limits the loop was set to, in order (the adaptive controller's moves). */
  readonly limits: number[];
  readonly standIn: StandInView;
}

/** A latency for every symbol, ms: the stand-in reads the symbol from the prompt (`Symbol: BTC/USD`). */
export type SymbolLatencies = ReadonlyMap<string, number>;

function latencyFor(latencies: SymbolLatencies): (request: ChatRequest) => number {
  return (request) => {
    const text = request.messages.map((m) => m.content).join('\n');
    const symbol = /Symbol:\s*(\S+)/.exec(text)?.[1] ?? '';
    const ms = latencies.get(symbol);
    if (ms === undefined) throw new Error(`bench stand-in: no latency for symbol ${JSON.stringify(symbol)}`);
    return ms;
  };
}

function view(llm: LlmServer): StandInView {
  const stats = llm.stats();
  const arrivals = llm
    .requests()
    .map((r) => r.arrivedAt)
    .sort((a, b) => a - b);
  const first = arrivals[0] ?? 0;
  return {
    requests: stats.requests,
    ok: stats.outcomes.ok ?? 0,
    maxInflight: stats.maxInflight,
    arrivalSpreadMs: (arrivals.at(-1) ?? first) - first,
    firstWave: arrivals.filter((at) => at - first <= 100).length,
  };
}

function recipe(llm: LlmServer, symbols: readonly string[], policies?: LoopPolicies) {
  const advise = presetLlmStage('advise', {
    baseURL: llm.baseURL,
    apiKey: llm.apiKey,
    model: 'stand-in',
    timeout: LLM_CALL_TIMEOUT,
  });
  return signalsRecipe({ symbols, trigger: { manual: true }, llm: advise, ...(policies ? { policies } : {}) });
}

/**
 * Where a run keeps its SQLite file (kept after the run, for a restart on it), and
 * what it does once the runtime started, before the cycle (e.g. wire the adaptive limit's memory).
 */
export interface RecipeCycleHooks {
  readonly db?: string;
  readonly afterStart?: (runtime: Runtime, store: Store) => Promise<void> | void;
}

/** One manual cycle of the recipe through a fresh runtime, SQLite file (unless `hooks.db`) and stand-in server. */
export async function recipeCycle(
  latencies: SymbolLatencies,
  policies?: LoopPolicies,
  hooks: RecipeCycleHooks = {},
): Promise<RecipeCycleRun> {
  const llm = await startLlmServer({ latency: latencyFor(latencies) });
  const dir = hooks.db === undefined ? mkdtempSync(join(tmpdir(), 'autoloop-bench-signals-')) : undefined;
  const store = SqliteStore.open(hooks.db ?? join(dir as string, 'state.db'));
  const runtime = createRuntime({
    loops: [recipe(llm, [...latencies.keys()], policies)],
    store,
    dependencies: DEPENDENCIES,
  });
  let running = 0;
  let maxItemsInFlight = 0;
  const limits: number[] = [];
  runtime.bus.on('item.started', () => {
    running++;
    maxItemsInFlight = Math.max(maxItemsInFlight, running);
  });
  for (const end of ['item.succeeded', 'item.failed', 'item.retried'] as const) runtime.bus.on(end, () => running--);
  runtime.bus.on('loop.concurrency', ({ limit }) => limits.push(limit));
  try {
    await runtime.start({ schedule: false });
    await hooks.afterStart?.(runtime, store);
    if (limits.length === 0) limits.push(runtime.loop('signals').loop.policies.concurrency);
    const start = now();
    const record = await runtime.run('signals');
    const cycleMs = now() - start;
    return { cycleMs, outcome: record.outcome, counts: record.counts, maxItemsInFlight, limits, standIn: view(llm) };
  } finally {
    await runtime.stop({ graceMs: 1_000 });
    await store.close();
    await llm.close();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  }
}

export interface SeedBatchCycle {
  readonly cycleMs: number;
  readonly succeeded: number;
  readonly failed: number;
  readonly standIn: StandInView;
}

/** The same symbols, pipeline and stand-in latencies through seed 002's batches of `batchSize`, 1 s apart. */
export async function seedBatchCycle(latencies: SymbolLatencies, batchSize: number): Promise<SeedBatchCycle> {
  const llm = await startLlmServer({ latency: latencyFor(latencies) });
  const def = recipe(llm, [...latencies.keys()]);
  const scheduledAt = Date.now();
  const tick = { id: `signals@seed-batch:${scheduledAt}`, loop: def.name, trigger: 'manual' as const, scheduledAt };
  // One signal per symbol, as the runtime gives each item its own.
  const aborts: AbortController[] = [];
  const ctxFor = (): ItemContext => {
    const abort = new AbortController();
    aborts.push(abort);
    return {
      loop: def.name,
      cycleId: `seed-batch-${scheduledAt}`,
      tick,
      attempt: 1,
      signal: abort.signal,
      clock: systemClock,
    };
  };
  try {
    const tasks = [...latencies.keys()].map(
      (symbol) => async () =>
        def.act({ key: symbol, priority: 0, payload: { symbol }, idempotencyKey: `${symbol}@${tick.id}` }, ctxFor()),
    );
    const { ms, results } = await originalBatches(tasks, { batchSize });
    const failed = results.filter((r) => r.status === 'rejected');
    if (failed[0]?.status === 'rejected')
      throw new Error(`seed batches: ${failed.length} failed`, { cause: failed[0].reason });
    return { cycleMs: ms, succeeded: results.length - failed.length, failed: failed.length, standIn: view(llm) };
  } finally {
    for (const abort of aborts) abort.abort();
    await llm.close();
  }
}
