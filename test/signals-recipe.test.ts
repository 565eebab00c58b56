/**
 * The signals recipe in a real runtime: seed 002's acceptance boxes that
 * belong to the recipe itself.
 *
 * - signals for 20 symbols every minute (three scheduled cycles on a
 *   virtual clock, a real SQLite file), processed in parallel up to the
 *   concurrency limit;
 * - a failing stage fails only its symbol, with the stage named, retried
 *   or not as its cause says;
 * - per-symbol overrun protection: a symbol whose lease another run holds
 *   is skipped with the reason, the others go on;
 * - the signals are readable through `latestSignals` after the cycles (what
 *   the dashboard shows with nobody connected before);
 * - a command stage and an LLM stage (the stand-in chat-completions server,
 *   real HTTP) in a runtime on the system clock, with the seed's metrics fed.
 */

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { CycleRecord, ItemResult } from '../src/core/cycle-record.ts';
import { TerminalError } from '../src/core/errors.ts';
import type { AnyEvent } from '../src/observability/events.ts';
import { presetLlmStage } from '../src/recipes/signals/llm-preset-stages.ts';
import { readSignal, type Signal } from '../src/recipes/signals/signal.ts';
import type { SignalsMetrics } from '../src/recipes/signals/signals-metrics.ts';
import { SEED_SYMBOLS, signalLlmStage, signalsRecipe } from '../src/recipes/signals/signals-recipe.ts';
import { latestSignals } from '../src/recipes/signals/signals-view.ts';
import { commandStage, functionStage } from '../src/recipes/signals/stage.ts';
import { createRuntime } from '../src/runtime/runtime.ts';
import { SqliteStore } from '../src/storage/sqlite/sqlite-store.ts';
import type { Store } from '../src/storage/store.ts';
import { createLoopHarness } from '../src/testing/loop-harness.ts';
import { type LlmServer, startLlmServer } from './support/llm-server.ts';

const T0 = Date.UTC(2026, 0, 1);
const MIN = 60_000;

const dirs: string[] = [];
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function sqliteFile(): { store: Store; path: string } {
  const dir = mkdtempSync(join(tmpdir(), 'autoloop-signals-'));
  dirs.push(dir);
  const path = join(dir, 'state.db');
  return { store: SqliteStore.open(path), path };
}

async function itemsOf(store: Store, record: CycleRecord): Promise<ItemResult[]> {
  return store.cycles.items(record.id);
}

/** The most item attempts running at once in each cycle, from the bus events. */
function maxInFlight(events: AnyEvent[]): Map<string, number> {
  const running = new Map<string, number>();
  const max = new Map<string, number>();
  for (const event of events) {
    if (!event.type.startsWith('item.')) continue;
    const { cycleId } = event.data as { cycleId: string };
    const now = running.get(cycleId) ?? 0;
    if (event.type === 'item.started') {
      running.set(cycleId, now + 1);
      max.set(cycleId, Math.max(max.get(cycleId) ?? 0, now + 1));
    } else if (['item.succeeded', 'item.failed', 'item.retried'].includes(event.type)) {
      running.set(cycleId, now - 1);
    }
  }
  return max;
}

describe('signals recipe in a runtime', () => {
  it('20 symbols give 20 signals every minute, in parallel, stored and readable with latestSignals', async () => {
    const { store } = sqliteFile();
    const h = await createLoopHarness([signalsRecipe()], { store });
    try {
      await h.advance(3 * MIN);
      await h.clock.runUntil(() => h.runtime.loop('signals').running === false);
      const cycles = (await h.cycles()).filter((c) => c.outcome.kind !== 'skipped');
      assert.equal(cycles.length, 3, 'one cycle per minute');
      for (const [i, cycle] of cycles.entries()) {
        assert.equal(cycle.trigger, 'cron');
        assert.equal(cycle.scheduledAt, T0 + (i + 1) * MIN);
        assert.deepEqual(cycle.outcome, { kind: 'ok' });
        assert.deepEqual(cycle.counts, { planned: 20, succeeded: 20, failed: 0, skipped: 0 });
        const items = await itemsOf(store, cycle);
        assert.deepEqual(items.map((r) => r.key).sort(), [...SEED_SYMBOLS].sort());
        for (const item of items) {
          assert.equal(item.idempotencyKey, `${item.key}@${cycle.tickId}`, 'deduplicated by (symbol, tick)');
          const read = readSignal(item.output);
          assert.ok(read.ok, `${item.key}: ${read.ok ? '' : read.problem}`);
          assert.equal(read.signal.symbol, item.key);
          assert.equal(read.signal.tick, cycle.tickId);
          assert.equal(read.signal.scheduledAt, cycle.scheduledAt);
          assert.equal(read.signal.cycleId, cycle.id);
          assert.deepEqual(read.signal.source, { feed: 'simulated random walk (seed 1)', simulated: true });
        }
      }
      // Adaptive concurrency (seed: min 3, max 10) starts at its max and cuts only on evidence: the first
      // cycle runs 10 symbols at a time; a one-window baseline probe at min may follow, then it is back at
      // 10 while latency stays flat; never outside 3..10.
      const parallel = cycles.map((c) => maxInFlight(h.events).get(c.id) ?? 0);
      const limits = h.events
        .filter((e) => e.type === 'loop.concurrency')
        .map((e) => (e.data as { limit: number }).limit);
      console.log(`max symbols in flight per cycle: ${parallel.join(', ')}; concurrency limits: ${limits.join(', ')}`);
      for (const n of parallel) assert.ok(n >= 3 && n <= 10, `in flight ${n}: between the adaptive min 3 and max 10`);
      assert.equal(parallel[0], 10, 'the first cycle runs at the configured max: no ramp-up delays it');
      assert.ok(
        limits.every((l) => l >= 3 && l <= 10),
        `limits within 3..10: ${limits.join(', ')}`,
      );
      assert.equal(limits.at(-1), 10, 'back at the max while latency stays flat');
      const latest = await latestSignals(store, 'signals', { now: h.clock.now() });
      assert.equal(latest.length, 20);
      for (const signal of latest) assert.equal(signal.scheduledAt, T0 + 3 * MIN, `${signal.symbol}: the newest tick`);
    } finally {
      await h.stop();
      await store.close();
    }
  });

  it('a failing stage fails only its symbol, naming the stage; retried unless its cause is terminal', async () => {
    const { store } = sqliteFile();
    let failing = false;
    const check = functionStage('check', (signal: Signal) => {
      if (failing && signal.symbol === 'DOGE/USD') throw new Error('no quote for DOGE');
      if (failing && signal.symbol === 'SOL/USD') throw new TerminalError('SOL is delisted');
      return signal;
    });
    const h = await createLoopHarness([signalsRecipe({ stages: ['indicators', 'analyse', check] })], {
      store,
      schedule: false,
    });
    try {
      const first = await h.runCycle();
      assert.deepEqual(first.outcome, { kind: 'ok' });
      failing = true;
      await h.clock.advance(MIN);
      const second = await h.runCycle();
      assert.deepEqual(second.outcome, { kind: 'partial', failed: 2 });
      assert.deepEqual(second.counts, { planned: 20, succeeded: 18, failed: 2, skipped: 0 });
      const items = new Map((await itemsOf(store, second)).map((r) => [r.key, r]));
      const doge = items.get('DOGE/USD');
      assert.equal(doge?.status, 'failed');
      assert.equal(doge?.attempts, 2, 'a retryable stage failure is retried (2 attempts)');
      assert.deepEqual(doge?.error, {
        name: 'StageError',
        message: 'DOGE/USD: stage "check" (function): no quote for DOGE',
      });
      const sol = items.get('SOL/USD');
      assert.equal(sol?.attempts, 1, 'a terminal cause is not retried');
      assert.deepEqual(sol?.error, {
        name: 'StageError',
        message: 'SOL/USD: stage "check" (function): TerminalError: SOL is delisted',
      });
      const retried = h.events.filter((e) => e.type === 'item.retried').map((e) => (e.data as { key: string }).key);
      assert.deepEqual(retried, ['DOGE/USD']);
      // The failures hide nothing: the latest signal of each symbol, the failed ones from the cycle before.
      const latest = new Map((await latestSignals(store, 'signals', { now: h.clock.now() })).map((s) => [s.symbol, s]));
      assert.equal(latest.size, 20);
      assert.equal(latest.get('DOGE/USD')?.cycleId, first.id);
      assert.equal(latest.get('SOL/USD')?.cycleId, first.id);
      assert.equal(latest.get('BTC/USD')?.cycleId, second.id);
    } finally {
      await h.stop();
      await store.close();
    }
  });

  it('per-symbol overrun protection: a symbol leased by another run is skipped with the reason; the rest go on', async () => {
    const { store } = sqliteFile();
    const h = await createLoopHarness([signalsRecipe()], { store, schedule: false });
    assert.ok(h.runtime.recipe('signals'), 'seed metrics start with a signals loop');
    try {
      // Another process is still analysing BTC/USD from the previous tick.
      const held = await store.leases.acquire('signals/BTC/USD', 'elsewhere:1:slow', 60_000, h.clock.now());
      assert.ok(held);
      const record = await h.runCycle();
      assert.deepEqual(record.outcome, { kind: 'ok' });
      assert.deepEqual(record.counts, { planned: 20, succeeded: 19, failed: 0, skipped: 1 });
      const btc = (await itemsOf(store, record)).find((r) => r.key === 'BTC/USD');
      assert.equal(btc?.status, 'skipped');
      assert.equal(btc?.attempts, 0, 'it did not run at all');
      assert.match(btc?.error?.message ?? '', /lease signals\/BTC\/USD is held by another run \(overrun protection\)/);
      const skipped = h.events.find((e) => e.type === 'item.skipped');
      assert.deepEqual(skipped?.data, {
        loop: 'signals',
        cycleId: record.id,
        key: 'BTC/USD',
        reason: 'lease signals/BTC/USD is held by another run (overrun protection)',
      });
      const text = await h.runtime.metrics?.registry.metrics();
      assert.match(text ?? '', /^signal_generation_skipped_total\{symbol="BTC\/USD",reason="locked"\} 1$/m);
      assert.match(text ?? '', /^signals_generated_last_cycle 19$/m);
      // Once the other run let go, the next cycle does BTC/USD again.
      assert.equal(await store.leases.release('signals/BTC/USD', 'elsewhere:1:slow', held.token), true);
      await h.clock.advance(MIN);
      const next = await h.runCycle();
      assert.deepEqual(next.counts, { planned: 20, succeeded: 20, failed: 0, skipped: 0 });
    } finally {
      await h.stop();
      await store.close();
    }
  });
});

describe('signals recipe with a command stage and an LLM stage (system clock, real processes, real HTTP)', () => {
  let llm: LlmServer;
  before(async () => {
    llm = await startLlmServer({ latency: { min: 5, max: 30 } });
  });
  after(async () => {
    await llm.close();
  });

  it('indicators -> analyse -> advise (LLM) -> a command stage: every symbol signed off, llm_service used, metrics fed', async () => {
    const { store } = sqliteFile();
    const symbols = ['BTC/USD', 'ETH/USD', 'SOL/USD', 'DOGE/USD', 'AVAX/USD'];
    let seedMetrics: SignalsMetrics | undefined;
    const advise = presetLlmStage('advise', { baseURL: llm.baseURL, apiKey: llm.apiKey, model: 'stand-in' });
    // A command stage: reads the signal on stdin, adds a reason, prints it; exits 3 (do not retry) for AVAX.
    const sign = commandStage('sign', {
      command: `node -e "let s='';process.stdin.on('data',d=>s+=d).on('end',()=>{const v=JSON.parse(s);if(v.symbol==='AVAX/USD'){console.error('AVAX halted');process.exit(3)}v.reasons.push('signed by '+process.pid);console.log(JSON.stringify(v))})"`,
    });
    const def = signalsRecipe({
      symbols,
      trigger: { manual: true },
      stages: ['indicators', 'analyse', signalLlmStage(advise), sign],
      onStage: (end) => seedMetrics?.observeStage(end),
    });
    const runtime = createRuntime({
      loops: [def],
      store,
      dependencies: { llm_service: { breaker: { failureThreshold: 5 }, rateLimit: { requests: 100, per: '1m' } } },
    });
    await runtime.start({ schedule: false });
    seedMetrics = runtime.recipe<SignalsMetrics>('signals') ?? assert.fail('seed metrics start with a signals loop');
    try {
      assert.deepEqual(runtime.loop('signals').loop.policies.uses, ['llm_service']);
      const record = await runtime.run('signals');
      assert.deepEqual(record.counts, { planned: 5, succeeded: 4, failed: 1, skipped: 0 });
      const items = new Map((await store.cycles.items(record.id)).map((r) => [r.key, r]));
      for (const symbol of symbols.filter((s) => s !== 'AVAX/USD')) {
        const read = readSignal(items.get(symbol)?.output);
        assert.ok(read.ok, `${symbol}: ${read.ok ? '' : read.problem}`);
        assert.equal(read.signal.stages?.[0]?.stage, 'advise');
        assert.match(read.signal.reasons.at(-2) ?? '', /^advise: (BUY|SELL|HOLD) /);
        assert.match(read.signal.reasons.at(-1) ?? '', /^signed by \d+$/);
      }
      const avax = items.get('AVAX/USD');
      assert.equal(avax?.attempts, 1);
      assert.match(
        avax?.error?.message ?? '',
        /^AVAX\/USD: stage "sign" \(command\): TerminalError: .*exited with code 3 \(do not retry\): AVAX halted$/,
      );
      assert.equal(llm.stats().outcomes.ok, 5, 'one advise call per symbol');
      const text = await runtime.metrics?.registry.metrics();
      assert.match(text ?? '', /^llm_latency_ms_count 5$/m);
      assert.match(text ?? '', /^circuit_breaker_state\{breaker="llm_service",state="closed"\} 0$/m);
      assert.match(text ?? '', /^symbol_processing_duration_seconds_count\{symbol="BTC\/USD"\} 1$/m);
    } finally {
      seedMetrics.dispose();
      await runtime.stop({ graceMs: 5_000 });
      await store.close();
    }
  });
});
