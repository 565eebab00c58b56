import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { EventBus } from '../../observability/events.ts';
import { createMetrics } from '../../observability/metrics.ts';
import { createSignalsMetrics, failureReason, RESULT_PUBLISHED, type ResultPublished } from './signals-metrics.ts';

function setup(options: { latencyP95Ms?: () => number } = {}) {
  const bus = new EventBus({ now: () => 1_700_000_000_000 });
  const registry = new Registry();
  const metrics = createSignalsMetrics(bus, {
    registry,
    loops: ['signals'],
    breakers: ['llm_service'],
    ...options,
  });
  const text = () => registry.metrics();
  return {
    bus,
    metrics,
    text,
    /** The value of one exact series line, or undefined when absent. */
    value: async (series: string) => {
      const line = (await text()).split('\n').find((l) => l.startsWith(`${series} `));
      return line === undefined ? undefined : Number(line.slice(series.length + 1));
    },
    published(data: Omit<ResultPublished, 'tickId' | 'finishedAt' | 'cycleId'> & { cycleId?: string }) {
      // The runtime's event, not in the event map yet: emitted by name, as the runtime will.
      bus.emit(RESULT_PUBLISHED as never, { cycleId: 'c1', tickId: 't1', finishedAt: 0, ...data } as never);
    },
  };
}

const ERR = (name: string, message = 'x') => ({ name, message });

describe('createSignalsMetrics', () => {
  it('counts signals by symbol and action from result.published, for the signals loops only', async () => {
    const t = setup();
    t.published({ loop: 'signals', key: 'BTC/USD', output: { action: 'BUY' } });
    t.published({ loop: 'signals', key: 'BTC/USD', output: { action: 'BUY' } });
    t.published({ loop: 'signals', key: 'ETH/USD', output: { action: 'HOLD' } });
    t.published({ loop: 'other', key: 'ETH/USD', output: { action: 'SELL' } });
    assert.equal(await t.value('signal_generation_total{symbol="BTC/USD",action="BUY"}'), 2);
    assert.equal(await t.value('signal_generation_total{symbol="ETH/USD",action="HOLD"}'), 1);
    assert.equal(await t.value('signal_generation_total{symbol="ETH/USD",action="SELL"}'), undefined);
  });

  it('counts skipped symbols by reason: locked, and failures by their error class', async () => {
    const t = setup();
    t.bus.emit('item.skipped', { loop: 'signals', cycleId: 'c1', key: 'SOL/USD', reason: 'lease held' });
    const failed = (key: string, error: { name: string; message: string }) =>
      t.bus.emit('item.failed', { loop: 'signals', cycleId: 'c1', key, attempts: 1, durationMs: 5, error });
    failed('BTC/USD', ERR('TimeoutError'));
    failed('ETH/USD', ERR('StageError', 'ETH/USD: stage "advise" (llm): boom'));
    failed('DOGE/USD', ERR('BreakerOpenError', 'circuit breaker "llm_service" is open: it will half-open in 5 ms'));
    failed(
      'AVAX/USD',
      ERR('StageError', 'AVAX/USD: stage "x" (function): BreakerOpenError: circuit breaker "exchange" is open'),
    );
    assert.equal(await t.value('signal_generation_skipped_total{symbol="SOL/USD",reason="locked"}'), 1);
    assert.equal(await t.value('signal_generation_skipped_total{symbol="BTC/USD",reason="timeout"}'), 1);
    assert.equal(await t.value('signal_generation_skipped_total{symbol="ETH/USD",reason="stage_failed"}'), 1);
    assert.equal(await t.value('signal_generation_skipped_total{symbol="DOGE/USD",reason="breaker_open"}'), 1);
    assert.equal(await t.value('circuit_breaker_rejected_total{breaker="llm_service"}'), 1);
    assert.equal(await t.value('circuit_breaker_rejected_total{breaker="exchange"}'), 1);
    assert.equal(failureReason(ERR('ShutdownError')), 'shutdown');
    assert.equal(failureReason(ERR('CommandError')), 'error');
  });

  it('cycle failures, skipped cycles by reason, cooldowns, last cycle signals and cycle duration', async () => {
    const t = setup();
    const finished = (kind: 'ok' | 'failed', succeeded: number, durationMs: number) =>
      t.bus.emit('cycle.finished', {
        loop: 'signals',
        cycleId: `c${durationMs}`,
        tickId: 't',
        outcome: kind === 'ok' ? { kind } : { kind, step: 'act', error: ERR('AutoloopError') },
        durationMs,
        counts: { planned: 20, succeeded, failed: 20 - succeeded, skipped: 0 },
      });
    finished('ok', 20, 12_000);
    finished('failed', 0, 3_000);
    t.bus.emit('cycle.skipped', {
      loop: 'signals',
      tickId: 't2',
      reason: 'breaker: llm_service is open; half-open in 30s',
    });
    t.bus.emit('cycle.skipped', {
      loop: 'signals',
      tickId: 't3',
      reason: 'latency: p99 9500 ms is above the 9000 ms bar',
    });
    t.bus.emit('cycle.skipped', { loop: 'signals', tickId: 't4', reason: 'overlap: cycle c1 still running' });
    t.bus.emit('backpressure.cooldown', { loop: 'signals', ticks: 2 });
    t.bus.emit('backpressure.cooldown', { loop: 'other', ticks: 2 });
    assert.equal(await t.value('cycle_failures_total'), 1);
    assert.equal(await t.value('cycles_skipped_circuit_open_total'), 1);
    assert.equal(await t.value('cycles_skipped_high_latency_total'), 1);
    assert.equal(await t.value('backpressure_cooldowns_total'), 1);
    assert.equal(await t.value('signals_generated_last_cycle'), 0);
    assert.equal(await t.value('cycle_duration_seconds_count'), 2);
    assert.equal(await t.value('cycle_duration_seconds_sum'), 15);
    assert.equal(await t.value('cycle_duration_seconds_bucket{le="10"}'), 1);
  });

  it('active locks and symbols processing follow the items, and a finished cycle clears what it left', async () => {
    const t = setup();
    const base = { loop: 'signals', cycleId: 'c1' };
    t.bus.emit('item.started', { ...base, key: 'A', attempt: 1 });
    t.bus.emit('item.started', { ...base, key: 'B', attempt: 1 });
    t.bus.emit('item.started', { ...base, key: 'C', attempt: 1 });
    t.bus.emit('item.started', { loop: 'other', cycleId: 'o1', key: 'A', attempt: 1 });
    assert.equal(await t.value('active_locks'), 3);
    assert.equal(await t.value('symbols_processing'), 3);
    t.bus.emit('item.retried', { ...base, key: 'A', attempt: 1, delayMs: 5_000, error: ERR('TimeoutError') });
    assert.equal(await t.value('active_locks'), 3, 'a symbol waiting to retry still holds its lease');
    assert.equal(await t.value('symbols_processing'), 2);
    t.bus.emit('item.succeeded', { ...base, key: 'B', attempts: 1, durationMs: 2_000 });
    t.bus.emit('item.succeeded', { ...base, key: 'B', attempts: 1, durationMs: 2_000 });
    assert.equal(await t.value('active_locks'), 2, 'a repeated event changes nothing');
    assert.equal(await t.value('symbols_processing'), 1);
    assert.equal(await t.value('symbol_processing_duration_seconds_count{symbol="B"}'), 2);
    t.bus.emit('cycle.finished', {
      ...base,
      tickId: 't',
      outcome: { kind: 'partial', failed: 2 },
      durationMs: 9_000,
      counts: { planned: 3, succeeded: 1, failed: 2, skipped: 0 },
    });
    assert.equal(await t.value('active_locks'), 0);
    assert.equal(await t.value('symbols_processing'), 0);
    assert.equal(await t.value('signals_generated_last_cycle'), 1);
  });

  it('breaker state: one series per breaker, the current state with 0 / 0.5 / 1', async () => {
    const t = setup();
    assert.equal(await t.value('circuit_breaker_state{breaker="llm_service",state="closed"}'), 0);
    t.bus.emit('breaker.state', { breaker: 'llm_service', from: 'closed', to: 'open' });
    assert.equal(await t.value('circuit_breaker_state{breaker="llm_service",state="open"}'), 1);
    assert.equal(await t.value('circuit_breaker_state{breaker="llm_service",state="closed"}'), undefined);
    t.bus.emit('breaker.state', { breaker: 'llm_service', from: 'open', to: 'half-open' });
    assert.equal(await t.value('circuit_breaker_state{breaker="llm_service",state="half_open"}'), 0.5);
    assert.equal(await t.value('circuit_breaker_state{breaker="llm_service",state="open"}'), undefined);
    t.bus.emit('breaker.state', { breaker: 'llm_service', from: 'half-open', to: 'closed' });
    assert.equal(await t.value('circuit_breaker_state{breaker="llm_service",state="closed"}'), 0);
    assert.equal(
      (await t.text()).split('\n').filter((l) => l.startsWith('circuit_breaker_state{')).length,
      1,
      'the alert circuit_breaker_state{state="open"} == 1 cannot stay true after recovery',
    );
  });

  it('adaptive batch size, p95 (own window or the given one), stale locks and LLM latency', async () => {
    const t = setup();
    t.bus.emit('loop.concurrency', { loop: 'signals', limit: 5 });
    t.bus.emit('loop.concurrency', { loop: 'other', limit: 99 });
    assert.equal(await t.value('adaptive_batch_size'), 5);
    for (const ms of [1_000, 2_000, 9_500]) {
      t.bus.emit('item.succeeded', { loop: 'signals', cycleId: 'c', key: `k${ms}`, attempts: 1, durationMs: ms });
    }
    assert.equal(await t.value('current_p95_latency_ms'), 9_500);
    const given = setup({ latencyP95Ms: () => 8_100 });
    assert.equal(await given.value('current_p95_latency_ms'), 8_100);

    t.bus.emit('lease.recovered', { key: 'signals/BTC/USD', previousOwner: 'host:1:dead' });
    t.bus.emit('lease.recovered', { key: 'other/BTC/USD', previousOwner: 'host:1:dead' });
    assert.equal(await t.value('stale_locks_recovered_total{symbol="BTC/USD",reason="lease_expired"}'), 1);

    const end = { loop: 'signals', symbol: 'BTC/USD', stage: 'advise', ok: true, durationMs: 8_500 } as const;
    t.metrics.observeStage({ ...end, kind: 'llm' });
    t.metrics.observeStage({ ...end, kind: 'function' });
    t.metrics.observeStage({ ...end, kind: 'llm', loop: 'other' });
    assert.equal(await t.value('llm_latency_ms_count'), 1);
    assert.equal(await t.value('llm_latency_ms_bucket{le="9000"}'), 1);
    assert.equal(await t.value('llm_latency_ms_bucket{le="8000"}'), 0);
  });

  it("sits beside autoloop's own series on one registry, and stops on dispose", async () => {
    const bus = new EventBus({ now: () => 0 });
    const own = createMetrics(bus, { processMetrics: false });
    const seed = createSignalsMetrics(bus, { registry: own.registry, loops: ['signals'] });
    bus.emit('backpressure.cooldown', { loop: 'signals', ticks: 2 });
    const text = await own.registry.metrics();
    assert.match(text, /^autoloop_backpressure_cooldowns_total\{loop="signals"\} 1$/m);
    assert.match(text, /^backpressure_cooldowns_total 1$/m);
    seed.dispose();
    seed.dispose();
    bus.emit('backpressure.cooldown', { loop: 'signals', ticks: 2 });
    assert.match(await own.registry.metrics(), /^backpressure_cooldowns_total 1$/m);
    assert.throws(
      () => createSignalsMetrics(bus, { registry: own.registry, loops: ['signals'] }),
      /already been registered/,
    );
    own.dispose();
  });
});
