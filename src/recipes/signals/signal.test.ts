import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { VirtualClock } from '../../time/virtual-clock.ts';
import { analyse } from './analyse.ts';
import { computeIndicators } from './indicators.ts';
import { SimulatedFeed } from './market/simulated-feed.ts';
import { readSignal, type Signal } from './signal.ts';

const TICK_AT = Date.UTC(2026, 0, 5, 12, 0);

/** The built-in path end to end: simulated candles -> indicators -> analysis -> a Signal. */
async function builtInSignal(symbol: string): Promise<Signal> {
  const clock = new VirtualClock({ now: TICK_AT + 1500 });
  const market = new SimulatedFeed({ clock, seed: 42 });
  const candles = await market.candles(symbol, { interval: '1m', limit: 100, until: TICK_AT });
  const outcome = computeIndicators(candles);
  assert.ok(outcome.ok);
  const { action, confidence, score, reasons } = analyse(outcome.snapshot);
  return {
    symbol,
    tick: `signals@${new Date(TICK_AT).toISOString()}`,
    scheduledAt: TICK_AT,
    action,
    confidence,
    score,
    reasons,
    indicators: outcome.snapshot,
    generatedAt: clock.now(),
    cycleId: 'c-1',
    source: { feed: market.description, simulated: market.simulated },
  };
}

describe('Signal', () => {
  it('a signal from the built-in path reads back through JSON unchanged', async () => {
    const signal = await builtInSignal('ETH/USD');
    const read = readSignal(JSON.parse(JSON.stringify(signal)));
    assert.ok(read.ok, read.ok ? '' : read.problem);
    assert.deepEqual(read.signal, signal);
    assert.equal(read.signal.source?.simulated, true);
    assert.equal(read.signal.indicators.candles, 100);
  });

  it('keeps pipeline stages and drops unknown keys', async () => {
    const signal = {
      ...(await builtInSignal('BTC/USD')),
      stages: [{ stage: 'advise', action: 'HOLD', confidence: 0.7, rationale: 'range-bound', output: { note: 1 } }],
      addedLater: true,
    };
    const read = readSignal(signal);
    assert.ok(read.ok);
    assert.deepEqual(read.signal.stages, signal.stages);
    assert.equal('addedLater' in read.signal, false);
  });

  it('names the path of each problem', async () => {
    const signal = await builtInSignal('SOL/USD');
    const bad = {
      ...signal,
      tick: undefined,
      action: 'buy',
      confidence: 1.5,
      indicators: { ...signal.indicators, rsi: 'high' },
    };
    const read = readSignal(bad);
    assert.equal(read.ok, false);
    const problem = read.ok ? '' : read.problem;
    for (const path of ['tick: ', 'action: ', 'confidence: ', 'indicators.rsi: '])
      assert.ok(problem.includes(path), `${path} in ${problem}`);
    const notObject = readSignal('nope');
    assert.match(notObject.ok ? '' : notObject.problem, /^signal: /);
  });
});
