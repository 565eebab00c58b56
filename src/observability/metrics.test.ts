import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { EventBus } from './events.ts';
import { createMetrics, skipReasonClass } from './metrics.ts';

const ERROR = { name: 'Error', message: 'boom' };

function setup(options: { registry?: Registry; followEvents?: boolean } = {}) {
  let now = 1_700_000_000_000;
  const bus = new EventBus({ now: () => now });
  const metrics = createMetrics(bus, { ...options, processMetrics: false });
  const text = () => metrics.registry.metrics();
  return {
    bus,
    metrics,
    text,
    setNow: (ms: number) => {
      now = ms;
    },
    /** The value of one exact series line, or undefined when absent. */
    value: async (series: string) => {
      const line = (await text()).split('\n').find((l) => l.startsWith(`${series} `));
      return line === undefined ? undefined : Number(line.slice(series.length + 1));
    },
  };
}

function finished(loop: string, cycleId: string, outcome: 'ok' | 'partial' | 'failed', durationMs: number) {
  const value =
    outcome === 'ok'
      ? { kind: 'ok' as const }
      : outcome === 'partial'
        ? { kind: 'partial' as const, failed: 1 }
        : { kind: 'failed' as const, error: ERROR, step: 'observe' as const };
  return {
    loop,
    cycleId,
    tickId: `${loop}@t`,
    outcome: value,
    durationMs,
    counts: { planned: 0, succeeded: 0, failed: 0, skipped: 0 },
  };
}

describe('skipReasonClass', () => {
  it('takes the text before the first colon, normalised', () => {
    assert.equal(skipReasonClass('overlap: cycle c-41 still running'), 'overlap');
    assert.equal(skipReasonClass('shutdown'), 'shutdown');
    assert.equal(skipReasonClass('  Lease Taken : by x:y'), 'lease_taken');
    assert.equal(skipReasonClass(': nothing before'), 'unknown');
    assert.equal(skipReasonClass(''), 'unknown');
    assert.equal(skipReasonClass('x'.repeat(100)).length, 40);
  });
});

describe('createMetrics', () => {
  it('counts cycles by outcome, with durations and last-cycle time from the event clock', async () => {
    const t = setup();
    t.setNow(1_700_000_123_456);
    t.bus.emit('cycle.finished', finished('prices', 'c1', 'ok', 1500));
    t.bus.emit('cycle.finished', finished('prices', 'c2', 'partial', 250));
    t.bus.emit('cycle.finished', finished('prices', 'c3', 'failed', 10));
    t.bus.emit('cycle.finished', finished('prices', 'c4', 'ok', 20));
    t.bus.emit('cycle.finished', finished('collect', 'c5', 'ok', 20));

    assert.equal(await t.value('autoloop_cycles_total{loop="prices",outcome="ok"}'), 2);
    assert.equal(await t.value('autoloop_cycles_total{loop="prices",outcome="partial"}'), 1);
    assert.equal(await t.value('autoloop_cycles_total{loop="prices",outcome="failed"}'), 1);
    assert.equal(await t.value('autoloop_cycles_total{loop="collect",outcome="ok"}'), 1);
    assert.equal(await t.value('autoloop_cycle_duration_seconds_count{loop="prices"}'), 4);
    assert.equal(await t.value('autoloop_cycle_duration_seconds_sum{loop="prices"}'), 1.78);
    assert.equal(await t.value('autoloop_cycle_duration_seconds_bucket{le="0.01",loop="prices"}'), 1);
    assert.equal(await t.value('autoloop_cycle_duration_seconds_bucket{le="1",loop="prices"}'), 3);
    assert.equal(await t.value('autoloop_last_cycle_timestamp_seconds{loop="prices",outcome="ok"}'), 1_700_000_123.456);
  });

  it('with followEvents off: the series exist (scrape-time gauges still read) but no event moves them', async () => {
    const t = setup({ followEvents: false });
    t.bus.emit('cycle.finished', finished('prices', 'c1', 'ok', 1500));
    t.bus.emit('cycle.skipped', { loop: 'prices', tickId: 'a', reason: 'overlap: cycle c1 still running' });
    const text = await t.text();
    assert.match(text, /# TYPE autoloop_cycles_total counter/);
    assert.doesNotMatch(text, /autoloop_cycles_total\{/);
    assert.doesNotMatch(text, /autoloop_cycle_duration_seconds_count\{/);
  });

  it('ignores running and skipped outcomes on cycle.finished (skips count from cycle.skipped)', async () => {
    const t = setup();
    t.bus.emit('cycle.finished', { ...finished('prices', 'c1', 'ok', 1), outcome: { kind: 'running' } });
    t.bus.emit('cycle.finished', { ...finished('prices', 'c2', 'ok', 1), outcome: { kind: 'skipped', reason: 'x' } });
    assert.doesNotMatch(await t.text(), /autoloop_cycles_total\{/);
  });

  it('counts skipped cycles by outcome and by reason class', async () => {
    const t = setup();
    t.setNow(1_700_000_200_000);
    t.bus.emit('cycle.skipped', { loop: 'prices', tickId: 'a', reason: 'overlap: cycle c1 still running' });
    t.bus.emit('cycle.skipped', { loop: 'prices', tickId: 'b', reason: 'overlap: cycle c2 still running' });
    t.bus.emit('cycle.skipped', { loop: 'prices', tickId: 'c', reason: 'shutdown' });

    assert.equal(await t.value('autoloop_cycles_total{loop="prices",outcome="skipped"}'), 3);
    assert.equal(await t.value('autoloop_cycles_skipped_total{loop="prices",reason="overlap"}'), 2);
    assert.equal(await t.value('autoloop_cycles_skipped_total{loop="prices",reason="shutdown"}'), 1);
    assert.equal(
      await t.value('autoloop_last_cycle_timestamp_seconds{loop="prices",outcome="skipped"}'),
      1_700_000_200,
    );
  });

  it('counts items, retries and item durations', async () => {
    const t = setup();
    const base = { loop: 'prices', cycleId: 'c1' };
    t.bus.emit('item.started', { ...base, key: 'BTC', attempt: 1 });
    t.bus.emit('item.retried', { ...base, key: 'BTC', attempt: 1, delayMs: 5000, error: ERROR });
    t.bus.emit('item.started', { ...base, key: 'BTC', attempt: 2 });
    t.bus.emit('item.succeeded', { ...base, key: 'BTC', attempts: 2, durationMs: 7000 });
    t.bus.emit('item.started', { ...base, key: 'ETH', attempt: 1 });
    t.bus.emit('item.failed', { ...base, key: 'ETH', attempts: 1, durationMs: 2, error: ERROR });

    assert.equal(await t.value('autoloop_items_total{loop="prices",outcome="succeeded"}'), 1);
    assert.equal(await t.value('autoloop_items_total{loop="prices",outcome="failed"}'), 1);
    assert.equal(await t.value('autoloop_item_retries_total{loop="prices"}'), 1);
    assert.equal(await t.value('autoloop_item_duration_seconds_sum{loop="prices",outcome="succeeded"}'), 7);
    assert.equal(await t.value('autoloop_item_duration_seconds_bucket{le="10",loop="prices",outcome="succeeded"}'), 1);
    assert.equal(await t.value('autoloop_item_duration_seconds_bucket{le="5",loop="prices",outcome="succeeded"}'), 0);
    assert.equal(await t.value('autoloop_item_duration_seconds_bucket{le="0.001",loop="prices",outcome="failed"}'), 0);
    assert.equal(await t.value('autoloop_item_duration_seconds_bucket{le="0.005",loop="prices",outcome="failed"}'), 1);
    assert.equal(await t.value('autoloop_item_duration_seconds_bucket{le="600",loop="prices",outcome="failed"}'), 1);
  });

  it('tracks items in flight per attempt, never below zero', async () => {
    const t = setup();
    const gauge = 'autoloop_items_in_flight{loop="prices"}';
    const base = { loop: 'prices', cycleId: 'c1' };
    t.bus.emit('item.started', { ...base, key: 'A', attempt: 1 });
    t.bus.emit('item.started', { ...base, key: 'B', attempt: 1 });
    assert.equal(await t.value(gauge), 2);
    t.bus.emit('item.retried', { ...base, key: 'A', attempt: 1, delayMs: 100, error: ERROR });
    assert.equal(await t.value(gauge), 1, 'an attempt waiting for its retry is not in flight');
    t.bus.emit('item.started', { ...base, key: 'A', attempt: 2 });
    assert.equal(await t.value(gauge), 2);
    t.bus.emit('item.succeeded', { ...base, key: 'A', attempts: 2, durationMs: 5 });
    t.bus.emit('item.failed', { ...base, key: 'B', attempts: 1, durationMs: 5, error: ERROR });
    assert.equal(await t.value(gauge), 0);
    // An item failed without any attempt (e.g. breaker open) must not push the gauge negative.
    t.bus.emit('item.failed', { ...base, key: 'C', attempts: 0, durationMs: 0, error: ERROR });
    assert.equal(await t.value(gauge), 0);
  });

  it('clears attempts left running when their cycle finishes', async () => {
    const t = setup();
    t.bus.emit('item.started', { loop: 'prices', cycleId: 'c1', key: 'A', attempt: 1 });
    t.bus.emit('item.started', { loop: 'prices', cycleId: 'c2', key: 'A', attempt: 1 });
    t.bus.emit('cycle.finished', finished('prices', 'c1', 'failed', 5));
    assert.equal(await t.value('autoloop_items_in_flight{loop="prices"}'), 1);
  });

  it('sets the concurrency limit gauge', async () => {
    const t = setup();
    t.bus.emit('loop.concurrency', { loop: 'prices', limit: 10 });
    t.bus.emit('loop.concurrency', { loop: 'prices', limit: 7 });
    assert.equal(await t.value('autoloop_concurrency_limit{loop="prices"}'), 7);
  });

  it('initialises per-loop series at zero when the runtime starts', async () => {
    const t = setup();
    t.bus.emit('runtime.started', { owner: 'h:1:x', loops: ['prices'] });
    for (const outcome of ['ok', 'partial', 'failed', 'skipped']) {
      assert.equal(await t.value(`autoloop_cycles_total{loop="prices",outcome="${outcome}"}`), 0);
    }
    assert.equal(await t.value('autoloop_items_total{loop="prices",outcome="failed"}'), 0);
    assert.equal(await t.value('autoloop_item_retries_total{loop="prices"}'), 0);
    assert.equal(await t.value('autoloop_items_in_flight{loop="prices"}'), 0);
  });

  it('keeps runtimes apart and stops following the bus after dispose', async () => {
    const a = setup();
    const b = setup();
    a.bus.emit('cycle.skipped', { loop: 'prices', tickId: 'a', reason: 'overlap' });
    assert.equal(await a.value('autoloop_cycles_total{loop="prices",outcome="skipped"}'), 1);
    assert.equal(await b.value('autoloop_cycles_total{loop="prices",outcome="skipped"}'), undefined);

    a.metrics.dispose();
    a.metrics.dispose();
    a.bus.emit('cycle.skipped', { loop: 'prices', tickId: 'b', reason: 'overlap' });
    assert.equal(await a.value('autoloop_cycles_total{loop="prices",outcome="skipped"}'), 1, 'values stay readable');
  });

  it('registers into a given registry', async () => {
    const registry = new Registry();
    const t = setup({ registry });
    assert.equal(t.metrics.registry, registry);
    assert.ok(registry.getSingleMetric('autoloop_cycles_total'));
  });

  it('observes attempt latencies in seconds per loop, from item.attempted', async () => {
    const t = setup();
    const attempt = { loop: 'prices', cycleId: 'c1', key: 'A', attempt: 1 };
    t.bus.emit('item.attempted', { ...attempt, durationMs: 1_500, ok: true });
    t.bus.emit('item.attempted', { ...attempt, attempt: 2, durationMs: 9_000, ok: false });
    assert.equal(await t.value('autoloop_item_attempt_duration_seconds_count{loop="prices"}'), 2);
    assert.equal(await t.value('autoloop_item_attempt_duration_seconds_sum{loop="prices"}'), 10.5);
    assert.equal(await t.value('autoloop_item_attempt_duration_seconds_bucket{le="2",loop="prices"}'), 1);
    assert.equal(await t.value('autoloop_item_attempt_duration_seconds_bucket{le="8",loop="prices"}'), 1);
    assert.equal(await t.value('autoloop_item_attempt_duration_seconds_bucket{le="10",loop="prices"}'), 2);
  });

  it('has no precomputed quantile: latency is histograms only', async () => {
    const t = setup();
    t.bus.emit('runtime.started', { owner: 'h:1:x', loops: ['prices'] });
    const text = await t.text();
    assert.doesNotMatch(text, /p95|p99|quantile/);
    for (const type of text.matchAll(/^# TYPE (autoloop_\S+) (\S+)$/gm)) {
      if (/_seconds$/.test(type[1] as string)) assert.match(type[2] as string, /histogram|gauge/);
    }
  });

  it("collects prom-client's process metrics under their standard names when asked", async () => {
    const bus = new EventBus({ now: () => 0 });
    const metrics = createMetrics(bus);
    const text = await metrics.registry.metrics();
    assert.match(text, /^process_cpu_seconds_total /m);
    assert.match(text, /^# TYPE nodejs_eventloop_lag_seconds gauge$/m);
    assert.doesNotMatch(text, /^autoloop_(process|nodejs)_/m);
    assert.match(text, /^# TYPE autoloop_cycles_total counter$/m);
    metrics.dispose();
  });
});
