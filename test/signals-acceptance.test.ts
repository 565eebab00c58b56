/**
 * Seed 002's acceptance checklist, the boxes that are about logic, on a
 * virtual clock: the `signals` recipe in a real runtime (memory store),
 * with a function stage standing for the LLM call so that its latency and
 * outages are virtual time. The boxes about real processes and sockets are
 * in test/signals-acceptance-process.test.ts (the `autoloop` binary on a
 * YAML `recipe: signals`, the LLM stand-in over HTTP).
 *
 * | box | where |
 * | --- | --- |
 * | 1. 20 symbols every cycle | signals-acceptance-process "20 symbols"; test/signals-recipe.test.ts "20 symbols give 20 signals every minute" |
 * | 2. parallel processing | signals-acceptance-process "parallel" |
 * | 3. overrun protection | test/signals-recipe.test.ts "per-symbol overrun protection" (a symbol leased by another process is skipped with the reason; one process never overlaps its own cycles: `overlap: skip`) |
 * | 4. stale lock recovery after SIGKILL | signals-acceptance-process "SIGKILL a process mid-LLM-call" |
 * | 5. circuit breaker | here; test/signals-llm.test.ts (over real HTTP) |
 * | 6. adaptive concurrency | here; test/adaptive-http.test.ts (over real HTTP) |
 * | 7. failed symbols don't block others | here |
 * | 8. signals with no user connected | here (store); test/signals-http.test.ts (routes, and the dashboard in Chromium) |
 * | 9. metrics | here |
 * | 10. health endpoints | here (readiness, detailed health); signals-acceptance-process (live/ready on SIGTERM); test/http-health.test.ts |
 * | 11. alerts fire and resolve | here (CircuitBreakerOpen); src/observability/alerts/default-rules.test.ts (each of the seven) |
 * | 12. graceful shutdown | signals-acceptance-process "SIGTERM" |
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TerminalError } from '../src/core/errors.ts';
import { SimulatedFeed } from '../src/recipes/signals/market/simulated-feed.ts';
import { readSignal, type Signal } from '../src/recipes/signals/signal.ts';
import { type SignalsRecipeOptions, signalsRecipe } from '../src/recipes/signals/signals-recipe.ts';
import { latestSignals } from '../src/recipes/signals/signals-view.ts';
import { functionStage, type StageContext } from '../src/recipes/signals/stage.ts';
import { createRuntime, type Runtime } from '../src/runtime/runtime.ts';
import { MemoryStore } from '../src/storage/memory/memory-store.ts';
import { VirtualClock } from '../src/time/virtual-clock.ts';

const T0 = Date.UTC(2026, 0, 5, 12, 0, 0);
const MINUTE = 60_000;
const SYMBOLS = ['BTC/USD', 'ETH/USD', 'SOL/USD', 'DOGE/USD', 'AVAX/USD'];
const LLM = { breaker: { failureThreshold: 5, recoveryTimeout: '60s', halfOpenMaxCalls: 3, successThreshold: 2 } };

/** The "LLM": waits `latencyMs` of virtual time, fails while `down` or for `failFor` symbols. */
function fakeLlm() {
  const state = { latencyMs: 100, down: false, failFor: new Set<string>(), calls: 0 };
  const stage = functionStage('advise', async (input: Signal, ctx: StageContext) => {
    state.calls++;
    await ctx.clock.sleep(state.latencyMs, ctx.signal);
    if (state.down) throw new Error('llm: 503 service unavailable');
    if (state.failFor.has(ctx.symbol)) throw new TerminalError(`llm: no answer for ${ctx.symbol}`);
    return { ...input, reasons: [...input.reasons, 'advise: ok'] };
  });
  return { state, stage };
}

async function start(
  clock: VirtualClock,
  options: Partial<SignalsRecipeOptions>,
  extra: { alerts?: boolean } = {},
): Promise<{ runtime: Runtime; store: MemoryStore }> {
  const store = new MemoryStore();
  const runtime = createRuntime({
    loops: [
      signalsRecipe({
        symbols: SYMBOLS,
        market: new SimulatedFeed({ clock, seed: 7 }),
        ...options,
      }),
    ],
    store,
    clock,
    random: () => 0.5,
    dependencies: { llm_service: LLM },
    ...(extra.alerts && { observability: { alerts: { defaults: true, intervalMs: 15_000, rules: [] } } }),
  });
  await runtime.start();
  return { runtime, store };
}

async function stop(runtime: Runtime, clock: VirtualClock): Promise<void> {
  const stopped = runtime.stop();
  await clock.runUntil(() => runtime.state === 'stopped');
  await stopped;
}

async function metricsText(runtime: Runtime): Promise<string> {
  return (runtime.metrics ?? assert.fail('metrics')).registry.metrics();
}

describe('seed 002 acceptance (virtual clock)', () => {
  it('5 + 11. an LLM outage opens llm_service, cycles are skipped with the reason, CircuitBreakerOpen fires; recovery closes it and resolves the alert', async () => {
    const clock = new VirtualClock({ now: T0 - 1 });
    const llm = fakeLlm();
    const { runtime, store } = await start(
      clock,
      {
        stages: ['indicators', 'analyse', llm.stage],
        policies: { retry: { attempts: 1 }, adaptive: false, backpressure: false, uses: ['llm_service'] },
      },
      { alerts: true },
    );
    const alerts: string[] = [];
    runtime.bus.on('alert.firing', (e) => alerts.push(`firing ${e.alert}`));
    runtime.bus.on('alert.resolved', (e) => alerts.push(`resolved ${e.alert}`));
    try {
      assert.deepEqual(runtime.loop('signals').loop.policies.uses, ['llm_service']);
      llm.state.down = true;
      await clock.advance(1); // tick at T0: 5 symbols fail, the 5th failure opens the breaker
      await clock.advance(10_000);
      assert.match(await metricsText(runtime), /^circuit_breaker_state\{breaker="llm_service",state="open"\} 1$/m);
      const callsWhileOpen = llm.state.calls;
      await clock.advance(MINUTE); // the tick at T0 + 1 min comes while it is open (for 60 s)
      assert.equal(llm.state.calls, callsWhileOpen, 'no call reaches the LLM while the breaker is open');
      const skipped = (await store.cycles.list('signals')).filter((c) => c.outcome.kind === 'skipped');
      assert.ok(skipped.length >= 1);
      for (const c of skipped) assert.match(c.outcome.kind === 'skipped' ? c.outcome.reason : '', /llm_service/);
      await clock.advance(30_000); // open for more than the alert's 1 m
      assert.ok(alerts.includes('firing AutoloopCircuitBreakerOpen'), alerts.join('; '));
      assert.equal((await runtime.ready()).healthy, false, 'not ready while a breaker is open');
      llm.state.down = false; // the LLM returns: half-open after 60 s, two successes close it
      await clock.advance(3 * MINUTE);
      assert.match(await metricsText(runtime), /^circuit_breaker_state\{breaker="llm_service",state="closed"\} 0$/m);
      const last = (await store.cycles.list('signals', { limit: 1 }))[0];
      assert.equal(last?.outcome.kind, 'ok', 'signals resume');
      await clock.advance(2 * MINUTE);
      assert.ok(alerts.includes('resolved AutoloopCircuitBreakerOpen'), alerts.join('; '));
      assert.equal((await runtime.ready()).healthy, true);
    } finally {
      await stop(runtime, clock);
    }
  });

  it('6. adaptive concurrency: high LLM latency lowers the limit (adaptive_batch_size), low latency raises it again', async () => {
    const clock = new VirtualClock({ now: T0 - 1 });
    const llm = fakeLlm();
    const symbols = Array.from({ length: 20 }, (_, i) => `S${i}/USD`);
    const { runtime } = await start(clock, {
      symbols,
      stages: ['indicators', 'analyse', llm.stage],
      policies: {
        concurrency: 10,
        adaptive: { min: 2, window: 5, p95: '400ms', p99: '30s' },
        timeout: '10s',
        backpressure: false,
        retry: { attempts: 1 },
      },
    });
    const batch = async () =>
      Number(/^adaptive_batch_size(?:\{[^}]*\})? (\d+)$/m.exec(await metricsText(runtime))?.[1] ?? Number.NaN);
    try {
      llm.state.latencyMs = 50;
      await clock.advance(4 * MINUTE);
      const calm = runtime.loop('signals').pool.concurrency;
      assert.ok(calm >= 6, `climbs while calls are fast, got ${calm}`);
      llm.state.latencyMs = 1_000; // above the 400 ms p95 bar
      await clock.advance(2 * MINUTE);
      const slow = runtime.loop('signals').pool.concurrency;
      assert.ok(slow < calm, `falls under high latency: ${calm} -> ${slow}`);
      assert.equal(await batch(), slow, 'adaptive_batch_size shows the limit');
      llm.state.latencyMs = 50;
      await clock.advance(4 * MINUTE);
      assert.ok(runtime.loop('signals').pool.concurrency > slow, 'and rises again');
    } finally {
      await stop(runtime, clock);
    }
  });

  it('7 + 8 + 9 + 10. failed symbols are recorded with the stage and never block the others; signals readable with nobody connected; seed metrics and health', async () => {
    const clock = new VirtualClock({ now: T0 - 1 });
    const llm = fakeLlm();
    llm.state.failFor = new Set(['SOL/USD', 'DOGE/USD']);
    const { runtime, store } = await start(clock, {
      stages: ['indicators', 'analyse', llm.stage],
      policies: { adaptive: false, backpressure: false, uses: ['llm_service'] },
    });
    const failed: string[] = [];
    runtime.bus.on('item.failed', (e) => failed.push(`${e.key}: ${e.error.message}`));
    try {
      await clock.advance(1);
      await clock.advance(5_000);
      const [cycle] = await store.cycles.list('signals', { limit: 1 });
      assert.equal(cycle?.outcome.kind, 'partial');
      assert.deepEqual(cycle?.counts, { planned: 5, succeeded: 3, failed: 2, skipped: 0 });
      const items = await store.cycles.items(cycle?.id ?? '');
      for (const item of items.filter((i) => i.status === 'failed')) {
        assert.match(item.error?.message ?? '', /advise/, `${item.key}: the failing stage is named`);
      }
      assert.equal(failed.length, 2, failed.join('; '));
      // 8: no HTTP client was ever connected; the store has the latest signal per symbol.
      const latest = await latestSignals(store, 'signals', { now: clock.now() });
      assert.deepEqual(latest.map((s) => s.symbol).sort(), ['AVAX/USD', 'BTC/USD', 'ETH/USD']);
      for (const s of latest) assert.ok(readSignal(s).ok);
      // 9: the seed's metric names, with what happened.
      const text = await metricsText(runtime);
      assert.match(text, /^signals_generated_last_cycle 3$/m);
      assert.match(text, /^signal_generation_total\{symbol="BTC\/USD",action="(BUY|SELL|HOLD)"\} 1$/m);
      assert.match(text, /^symbol_processing_duration_seconds_count\{symbol="SOL\/USD"\} 1$/m);
      assert.match(text, /^circuit_breaker_state\{breaker="llm_service",state="closed"\} 0$/m, 'seed values: 0 closed');
      assert.match(text, /^autoloop_items_total\{loop="signals",outcome="failed"\} 2$/m);
      // 10: readiness and detailed health name the loop, the breaker and the store.
      assert.equal((await runtime.ready()).healthy, true);
      const snapshot = await runtime.snapshot();
      assert.equal(snapshot.loops[0]?.recipe, 'signals');
      const health = await runtime.health();
      const components = Object.keys(health.components);
      for (const name of ['store', 'loop:signals', 'breaker:llm_service'])
        assert.ok(components.includes(name), components.join(', '));
    } finally {
      await stop(runtime, clock);
    }
  });
});
