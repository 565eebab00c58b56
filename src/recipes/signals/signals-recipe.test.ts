import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { resolveLoop } from '../../config/resolve-loop.ts';
import type { Tick } from '../../core/cycle-record.ts';
import { TerminalError } from '../../core/errors.ts';
import type { CycleContext, ItemContext, LoopDefinition } from '../../core/loop.ts';
import { VirtualClock } from '../../time/virtual-clock.ts';
import { analyse } from './analyse.ts';
import { computeIndicators } from './indicators.ts';
import type { Candle, MarketData } from './market/market-data.ts';
import { MarketDataError } from './market/market-data-error.ts';
import { readSignal, type Signal } from './signal.ts';
import { SEED_SYMBOLS, type SymbolPayload, signalLlmStage, signalsRecipe } from './signals-recipe.ts';
import { functionStage, type LlmCall, StageError } from './stage.ts';

const T0 = Date.UTC(2026, 0, 5, 12, 0);
const TICK: Tick = { id: `signals@${new Date(T0).toISOString()}`, loop: 'signals', trigger: 'cron', scheduledAt: T0 };

function cycleCtx(clock = new VirtualClock({ now: T0 })): CycleContext {
  return { loop: 'signals', cycleId: 'c1', tick: TICK, signal: new AbortController().signal, clock };
}

function itemCtx(attempt = 1): ItemContext {
  return { ...cycleCtx(), attempt };
}

async function plan(def: LoopDefinition<string[], SymbolPayload>) {
  const ctx = cycleCtx();
  const symbols = (await def.observe?.(ctx)) as string[];
  return def.plan?.(symbols, ctx) ?? [];
}

function act(def: LoopDefinition<string[], SymbolPayload>, symbol: string): Promise<unknown> {
  return def.act(
    { key: symbol, priority: 2, payload: { symbol }, idempotencyKey: `${symbol}@${TICK.id}` },
    itemCtx(),
  ) as Promise<unknown>;
}

/** A market data source that is real data, not simulated: a steady uptrend, for the "not simulated" label. */
class TrendFeed implements MarketData {
  readonly description = 'trend fixture';
  readonly simulated = false;
  calls: Array<{ symbol: string; until?: number; interval: string; limit: number }> = [];
  async candles(symbol: string, query: { interval: string; limit: number; until?: number }): Promise<Candle[]> {
    this.calls.push({ symbol, until: query.until, interval: query.interval, limit: query.limit });
    if (symbol === 'NOPE/USD') throw new MarketDataError(this.description, symbol, 'unknown-symbol', 'no such symbol');
    if (symbol === 'DOWN/USD') throw new MarketDataError(this.description, symbol, 'unavailable', 'HTTP 503');
    return Array.from({ length: query.limit }, (_, i) => {
      const price = 100 + i * 0.5 + (i % 3) * 0.2;
      return {
        openTime: T0 - (query.limit - i) * 60_000,
        open: price - 0.1,
        high: price + 0.4,
        low: price - 0.4,
        close: price,
        volume: 10,
      };
    });
  }
}

describe('signalsRecipe', () => {
  it("defaults to seed 002: the 20 symbols, every minute, overlap skip, the seed's policies, no llm_service", () => {
    assert.equal(SEED_SYMBOLS.length, 20);
    assert.equal(new Set(SEED_SYMBOLS).size, 20);
    const def = signalsRecipe();
    assert.equal(def.name, 'signals');
    assert.deepEqual(def.trigger, { cron: '*/1 * * * *', overlap: 'skip' });
    const resolved = resolveLoop(def, 'test');
    assert.deepEqual(resolved.policies.retry, { attempts: 2, baseMs: 5_000, maxMs: 30_000 });
    assert.equal(resolved.policies.timeoutMs, 10_000);
    assert.equal(resolved.policies.concurrency, 10);
    assert.equal(resolved.policies.lease, true);
    assert.deepEqual(resolved.policies.uses, []);
    assert.deepEqual(resolved.policies.adaptive, {
      min: 3,
      window: 10,
      p95BarMs: 8_000,
      p99BarMs: 9_000,
      maxTimeoutMs: 15_000,
    });
    assert.deepEqual(resolved.policies.backpressure, { after: 3, cooldownTicks: 2 });
    assert.match(
      def.description ?? '',
      /indicators -> analyse per symbol, candles from simulated random walk \(seed 1\)/,
    );
  });

  it('publishes every signal as an event, and on a channel only when asked; marks the loop as the recipe', () => {
    assert.deepEqual(signalsRecipe().publish, {});
    assert.equal(signalsRecipe().recipe, 'signals');
    assert.deepEqual(signalsRecipe({ publish: { channel: 'channel:raw-signals' } }).publish, {
      channel: 'channel:raw-signals',
    });
    assert.throws(() => signalsRecipe({ publish: { channel: '' } }), /publish\.channel/);
  });

  it('plans one item per symbol, keyed by the symbol, deduplicated by (symbol, tick)', async () => {
    const items = await plan(signalsRecipe());
    assert.equal(items.length, 20);
    assert.deepEqual(items[0], {
      key: 'ETH/USD',
      payload: { symbol: 'ETH/USD', tick: { id: TICK.id, scheduledAt: TICK.scheduledAt } },
      idempotencyKey: `ETH/USD@${TICK.id}`,
    });
    assert.deepEqual(
      items.map((i) => i.key),
      [...SEED_SYMBOLS],
    );
  });

  it('symbols from a list, an environment variable or a function, each checked', async () => {
    const fromEnv = signalsRecipe({ symbols: { env: 'SYMS' }, environment: { SYMS: ' BTC/USD, ETH/USD ' } });
    assert.deepEqual(
      (await plan(fromEnv)).map((i) => i.key),
      ['BTC/USD', 'ETH/USD'],
    );
    let calls = 0;
    const fromFn = signalsRecipe({ symbols: async () => (++calls === 1 ? ['A/USD'] : ['A/USD', 'B/USD']) });
    assert.equal((await plan(fromFn)).length, 1);
    assert.equal((await plan(fromFn)).length, 2, 'a function is asked every cycle');
    assert.throws(
      () => signalsRecipe({ symbols: { env: 'NOT_SET' }, environment: {} }),
      /signalsRecipe\(signals\): symbols: expected environment variable NOT_SET to hold symbols like "BTC\/USD,ETH\/USD", got nothing \(it is not set\)/,
    );
    assert.throws(
      () => signalsRecipe({ symbols: ['BTC/USD', 'BTC/USD'] }),
      /symbols\[1\]: expected each symbol once, got "BTC\/USD" again/,
    );
    assert.throws(
      () => signalsRecipe({ symbols: ['BTC/USD', ''] }),
      /symbols\[1\]: expected a symbol like "BTC\/USD", got ""/,
    );
    const bad = signalsRecipe({ symbols: () => ['X', 'X'] });
    await assert.rejects(plan(bad), /symbols\(\)\[1\]: expected each symbol once/);
  });

  it('refuses a bad interval, limit, indicator setting or stage name, naming the option', () => {
    assert.throws(
      () => signalsRecipe({ candles: { interval: '1M' } }),
      /signalsRecipe\(signals\): candles\.interval: expected a candle width like "1m"/,
    );
    assert.throws(
      () => signalsRecipe({ candles: { limit: 0 } }),
      /candles\.limit: expected an integer from 1 to 10000, got 0/,
    );
    assert.throws(
      () =>
        signalsRecipe({
          indicators: {
            emaFast: 30,
            emaSlow: 26,
            rsi: 14,
            macd: { fast: 12, slow: 26, signal: 9 },
            bollinger: { period: 20, deviations: 2 },
          },
        }),
      /signalsRecipe\(signals\): indicators\.emaFast: expected less than emaSlow/,
    );
    assert.throws(
      () => signalsRecipe({ stages: ['indicators', 'analyze' as 'analyse'] }),
      /stages: expected a built-in stage name \(indicators, analyse\) or a stage, got "analyze"/,
    );
    assert.throws(() => signalsRecipe({ policies: { timeout: 'ten seconds' } }), /timeout/);
  });

  it('act: candles up to the tick, indicators, analysis; a signal for the item, labelled with its source', async () => {
    const market = new TrendFeed();
    const def = signalsRecipe({ market, symbols: ['BTC/USD'] });
    const signal = (await act(def, 'BTC/USD')) as Signal;
    assert.ok(readSignal(signal).ok, JSON.stringify(readSignal(signal)));
    assert.deepEqual(market.calls, [{ symbol: 'BTC/USD', until: T0, interval: '1m', limit: 100 }]);
    assert.equal(signal.symbol, 'BTC/USD');
    assert.equal(signal.tick, TICK.id);
    assert.equal(signal.scheduledAt, T0);
    assert.equal(signal.cycleId, 'c1');
    assert.equal(signal.generatedAt, T0);
    const candles = await new TrendFeed().candles('BTC/USD', { interval: '1m', limit: 100, until: T0 });
    const indicators = computeIndicators(candles);
    assert.ok(indicators.ok);
    assert.deepEqual(signal.indicators, indicators.snapshot, 'the indicators of the candles up to the tick');
    const { action, confidence, score, reasons } = analyse(indicators.snapshot);
    assert.deepEqual(
      { action, confidence, score, reasons },
      {
        action: signal.action,
        confidence: signal.confidence,
        score: signal.score,
        reasons: signal.reasons,
      },
    );
    assert.deepEqual(signal.source, { feed: 'trend fixture', simulated: false });
    const simulated = (await act(signalsRecipe(), 'BTC/USD')) as Signal;
    assert.deepEqual(simulated.source, { feed: 'simulated random walk (seed 1)', simulated: true });
  });

  it('the simulated label is set from the feed, whatever a stage wrote', async () => {
    const liar = functionStage('liar', (s: Signal) => ({ ...s, source: { feed: 'an exchange', simulated: false } }));
    const def = signalsRecipe({ stages: ['indicators', 'analyse', liar] });
    const signal = (await act(def, 'ETH/USD')) as Signal;
    assert.deepEqual(signal.source, { feed: 'simulated random walk (seed 1)', simulated: true });
  });

  it('market data failures: unknown symbol is terminal, unavailable is retryable; both name the stage', async () => {
    const def = signalsRecipe({ market: new TrendFeed(), symbols: ['NOPE/USD', 'DOWN/USD'] });
    await assert.rejects(act(def, 'NOPE/USD'), (error: unknown) => {
      assert.ok(error instanceof StageError && error instanceof TerminalError);
      assert.equal(error.stage, 'indicators');
      assert.match(
        error.message,
        /^NOPE\/USD: stage "indicators" \(builtin\): TerminalError: trend fixture: NOPE\/USD: no such symbol$/,
      );
      return true;
    });
    await assert.rejects(act(def, 'DOWN/USD'), (error: unknown) => {
      assert.ok(error instanceof StageError && !(error instanceof TerminalError));
      assert.match(
        error.message,
        /stage "indicators" \(builtin\): MarketDataError: trend fixture: DOWN\/USD: HTTP 503/,
      );
      return true;
    });
  });

  it('too few candles is terminal and says how many are needed', async () => {
    const def = signalsRecipe({ candles: { limit: 20 } });
    await assert.rejects(
      act(def, 'BTC/USD'),
      /BTC\/USD: stage "indicators" \(builtin\): TerminalError: indicators: need at least 34 candles, got 20 from simulated random walk \(seed 1\) \(asked for 20 1m candles up to the tick\)/,
    );
  });

  it('an LLM stage folds its answer into the signal and adds llm_service to the policies', async () => {
    const asked: unknown[] = [];
    const advise: LlmCall<unknown> = {
      name: 'advise',
      async run(input) {
        asked.push(input);
        return {
          value: { action: 'SELL', confidence: 0.8, rationale: 'overbought' },
          model: 'stand-in',
          latencyMs: 42,
        };
      },
    };
    const report: LlmCall<unknown> = {
      name: 'report',
      run: async () => ({ value: { summary: 'Sell: overbought.' }, model: 'stand-in', latencyMs: 7 }),
    };
    const def = signalsRecipe({ llm: [advise, report] });
    assert.deepEqual(resolveLoop(def, 'test').policies.uses, ['llm_service']);
    const signal = (await act(def, 'SOL/USD')) as Signal;
    assert.equal(signal.action, 'SELL');
    assert.equal(signal.confidence, 0.8);
    assert.equal(signal.reasons.at(-1), 'advise: SELL (0.8) overbought');
    assert.deepEqual(signal.stages, [
      {
        stage: 'advise',
        action: 'SELL',
        confidence: 0.8,
        rationale: 'overbought',
        durationMs: 42,
        output: { model: 'stand-in', answer: { action: 'SELL', confidence: 0.8, rationale: 'overbought' } },
      },
      { stage: 'report', durationMs: 7, output: { model: 'stand-in', answer: { summary: 'Sell: overbought.' } } },
    ]);
    const first = asked[0] as {
      symbol: string;
      indicators: { price: number };
      previous: { action: string; reasons: string[] };
    };
    assert.equal(first.symbol, 'SOL/USD');
    assert.equal(typeof first.indicators.price, 'number');
    assert.ok(['BUY', 'SELL', 'HOLD'].includes(first.previous.action));
    assert.equal('indicators' in first.previous, false, 'the snapshot is sent once, as indicators');
    // Only before analyse: there is no signal to fold the answer into.
    const misplaced = signalsRecipe({ stages: ['indicators', signalLlmStage(advise), 'analyse'] });
    await assert.rejects(
      act(misplaced, 'SOL/USD'),
      /stage "advise" \(llm\): TerminalError: SOL\/USD: llm stage "advise" folds its answer into a signal: expected its input to be one \(put it after "analyse"\)/,
    );
  });

  it('a last stage that returns something else than a signal for the symbol fails the item, terminally', async () => {
    const wrong = signalsRecipe({
      stages: ['indicators', 'analyse', functionStage('swap', (s: Signal) => ({ ...s, symbol: 'XRP/USD' }))],
    });
    await assert.rejects(
      act(wrong, 'BTC/USD'),
      (error: unknown) =>
        error instanceof TerminalError && /expected a signal for BTC\/USD, got one for "XRP\/USD"/.test(String(error)),
    );
    const broken = signalsRecipe({
      stages: ['indicators', 'analyse', functionStage('drop', (s: Signal) => ({ ...s, action: 'MAYBE' }))],
    });
    await assert.rejects(
      act(broken, 'BTC/USD'),
      /stage "drop" \(function\): TerminalError: the last stage's output is not a Signal: action: expected one of "BUY", "SELL", "HOLD", got "MAYBE"/,
    );
  });
});
