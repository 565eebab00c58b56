import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { VirtualClock } from '../time/virtual-clock.ts';
import { ConfigError } from './config-error.ts';
import { parseConfigText } from './load-config.ts';

const env = { PATH: process.env.PATH ?? '/usr/bin:/bin' };

function parse(text: string, vars: Record<string, string> = {}) {
  return parseConfigText(text, { file: 'autoloop.yaml', env: { ...env, ...vars } });
}

async function issuesOf(text: string): Promise<string[]> {
  try {
    await parse(text);
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    return error.issues.map((i) => `${i.path}: expected ${i.expected}, got ${i.got}`);
  }
  assert.fail('expected a ConfigError');
}

describe('recipe loops in YAML', () => {
  it('`recipe: signals` alone is the seed runner: cron */1, 20 symbols, seed policies, in file order', async () => {
    const config = await parse(`
store: memory://
loops:
  first:
    trigger: { interval: 10s }
    items: [a]
    act: { command: "cat" }
  signals:
    recipe: signals
`);
    assert.deepEqual(
      config.loops.map((l) => l.name),
      ['first', 'signals'],
    );
    const signals = config.loops[1]!;
    assert.deepEqual(signals.trigger, { kind: 'cron', expression: '*/1 * * * *', timezone: 'UTC' });
    assert.equal(signals.policies.concurrency, 10);
    assert.equal(signals.policies.timeoutMs, 10_000);
    assert.equal(signals.policies.retry.attempts, 2);
    const clock = new VirtualClock({ now: Date.UTC(2026, 0, 1) });
    const tick = { id: 'signals@x', loop: 'signals', trigger: 'cron' as const, scheduledAt: clock.now() };
    const ctx = { loop: 'signals', cycleId: 'c', tick, signal: new AbortController().signal, clock };
    const items = await signals.plan(await signals.observe(ctx), ctx);
    assert.equal(items.length, 20);
    assert.equal(items[0]?.key, 'ETH/USD');
  });

  it('symbols from the environment, and the LLM stages off with a note when no endpoint is set', async () => {
    const config = await parse(
      `
store: memory://
loops:
  signals:
    recipe: signals
    symbols: { env: SIGNAL_SYMBOLS }
    llm: { stages: [advise] }
`,
      { SIGNAL_SYMBOLS: 'BTC/USD,SOL/USD' },
    );
    const loop = config.loops[0]!;
    const clock = new VirtualClock({ now: 0 });
    const tick = { id: 't', loop: 'signals', trigger: 'cron' as const, scheduledAt: 0 };
    const ctx = { loop: 'signals', cycleId: 'c', tick, signal: new AbortController().signal, clock };
    const items = await loop.plan(await loop.observe(ctx), ctx);
    assert.deepEqual(
      items.map((i) => i.key),
      ['BTC/USD', 'SOL/USD'],
    );
    assert.equal(loop.policies.uses.length, 0, 'no LLM stage, so no llm_service');
    assert.match(config.notes.join('\n'), /LLM stages \(advise\) off: .*set LLM_BASE_URL/);
  });

  it('with an endpoint in the environment the LLM stage is on and uses llm_service', async () => {
    const config = await parse(
      `
store: memory://
dependencies:
  llm_service: { breaker: { failureThreshold: 5 }, rateLimit: { requests: 100, per: 1m } }
loops:
  signals:
    recipe: signals
    llm: { stages: [advise], model: test-model }
`,
      { LLM_BASE_URL: 'http://127.0.0.1:9/v1', LLM_API_KEY: 'sk-test-0123456789' },
    );
    assert.deepEqual(config.loops[0]?.policies.uses, ['llm_service']);
    assert.match(config.notes.join('\n'), /LLM stages advise on http:\/\/127\.0\.0\.1:9\/v1 \(test-model\)/);
    assert.doesNotMatch(config.notes.join('\n'), /sk-test/);
  });

  it('bad recipe options name the loop and the field', async () => {
    assert.deepEqual(
      await issuesOf(`
loops:
  signals:
    recipe: signals
    market: { simulated: { sede: 1 } }
`),
      ['loops.signals.market.simulated: expected a known key, got unknown key "sede"'],
    );
    const [candles] = await issuesOf(`
loops:
  signals:
    recipe: signals
    candles: { interval: 7q }
`);
    assert.match(candles ?? '', /^loops\.signals\.candles\.interval: expected a candle width like "1m"/);
    const [unknown] = await issuesOf(`
loops:
  mine:
    recipe: signal
`);
    assert.equal(unknown, 'loops.mine.recipe: expected one of "signals", "reconcile", "decide", got "signal"');
  });
});
