import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { ResolvedDependency, ResolvedLoop } from '../../core/loop.ts';
import { VirtualClock } from '../../time/virtual-clock.ts';
import { EventBus } from '../events.ts';
import { ATTEMPT_DURATION_BUCKETS, createMetrics } from '../metrics.ts';
import { AlertEvaluator } from './alert-evaluator.ts';
import type { AlertEvent } from './alert-event.ts';
import { buildAlertRule } from './alert-rule.ts';
import { type AlertFeatures, alertFeatures, alertRules, defaultAlertRules } from './default-rules.ts';

const T0 = Date.UTC(2026, 0, 1);
const STEP = 15_000;
const LOOP = 'prices';

/** One loop that uses every feature, one dependency with a breaker: all seven rules. */
const ALL: AlertFeatures = {
  loops: [{ name: LOOP, periodMs: 60_000, latencyBarMs: 8_000, backpressure: true, leases: true }],
  breakers: ['llm'],
};

const SEVEN = [
  'AutoloopCycleDelayed',
  'AutoloopHighSkipRate',
  'AutoloopCircuitBreakerOpen',
  'AutoloopHighLatencyMode',
  'AutoloopBackpressureCooldown',
  'AutoloopStaleLeaseRecoveryHigh',
  'AutoloopCycleFailureRateHigh',
];

/**
 * The series the runtime's metrics module exports (same names and labels),
 * driven directly, plus a healthy loop: every tick a cycle runs ok, the
 * breaker is closed and latency is low. Each test adds one fault.
 */
function fleet() {
  const clock = new VirtualClock({ now: T0 });
  const registry = new Registry();
  const registers = [registry];
  const m = {
    lastCycle: new Gauge({
      name: 'autoloop_last_cycle_timestamp_seconds',
      help: 'h',
      labelNames: ['loop', 'outcome'],
      registers,
    }),
    cycles: new Counter({ name: 'autoloop_cycles_total', help: 'h', labelNames: ['loop', 'outcome'], registers }),
    skipped: new Counter({
      name: 'autoloop_cycles_skipped_total',
      help: 'h',
      labelNames: ['loop', 'reason'],
      registers,
    }),
    breaker: new Gauge({ name: 'autoloop_breaker_state', help: 'h', labelNames: ['breaker'], registers }),
    attempts: new Histogram({
      name: 'autoloop_item_attempt_duration_seconds',
      help: 'h',
      labelNames: ['loop'],
      buckets: [...ATTEMPT_DURATION_BUCKETS],
      registers,
    }),
    cooldowns: new Counter({
      name: 'autoloop_backpressure_cooldowns_total',
      help: 'h',
      labelNames: ['loop'],
      registers,
    }),
    stale: new Counter({ name: 'autoloop_stale_leases_recovered_total', help: 'h', registers }),
  };
  for (const outcome of ['ok', 'partial', 'failed', 'skipped']) m.cycles.inc({ loop: LOOP, outcome }, 0);
  m.breaker.set({ breaker: 'llm' }, 0);
  const events: AlertEvent[] = [];
  const evaluator = new AlertEvaluator({
    registry,
    clock,
    rules: defaultAlertRules(ALL),
    intervalMs: STEP,
    onAlert: (e) => events.push(e),
  });
  let healthy = true;
  let attemptSeconds = 1.2;
  return {
    m,
    events,
    evaluator,
    clock,
    /** Stop running cycles (the loop is stuck). */
    stall() {
      healthy = false;
    },
    resume() {
      healthy = true;
    },
    /** From now on, each tick's attempts take this long. */
    latency(seconds: number) {
      attemptSeconds = seconds;
    },
    /** One evaluation interval: a healthy cycle (unless stalled), `fault`, then an evaluation. */
    async tick(fault?: () => void) {
      await clock.advance(STEP);
      if (healthy) {
        m.cycles.inc({ loop: LOOP, outcome: 'ok' });
        m.lastCycle.set({ loop: LOOP, outcome: 'ok' }, clock.now() / 1000);
        for (let i = 0; i < 5; i++) m.attempts.observe({ loop: LOOP }, attemptSeconds);
      }
      fault?.();
      return evaluator.evaluate();
    },
    /** Ticks until `predicate` holds on the new events, at most `limitMs`; returns the virtual time it took. */
    async until(predicate: (e: AlertEvent) => boolean, limitMs: number, fault?: () => void) {
      const start = clock.now();
      while (clock.now() - start < limitMs) {
        const fresh = await this.tick(fault);
        if (fresh.some(predicate)) return clock.now() - start;
      }
      assert.fail(
        `nothing matched within ${limitMs} ms; events: ${JSON.stringify(events.map((e) => [e.type, e.data.alert]))}`,
      );
    },
    names: (type: AlertEvent['type']) => events.filter((e) => e.type === type).map((e) => e.data.alert),
  };
}

const firing = (name: string) => (e: AlertEvent) => e.type === 'alert.firing' && e.data.alert === name;
const resolved = (name: string) => (e: AlertEvent) => e.type === 'alert.resolved' && e.data.alert === name;

async function warmUp(f: ReturnType<typeof fleet>) {
  await f.evaluator.evaluate();
  for (let i = 0; i < 40; i++) await f.tick(); // 10 minutes of healthy cycles
  assert.equal(f.events.length, 0, 'a healthy loop raises nothing');
}

describe('seed 002 default alert rules', () => {
  it('are seven for a loop using every feature, in the seed order', () => {
    assert.deepEqual(
      defaultAlertRules(ALL).map((r) => r.name),
      SEVEN,
    );
  });

  it('AutoloopCycleDelayed (SignalGenerationDelayed): no cycle ran for 2 periods, for 2m; resolves when one runs', async () => {
    const f = fleet();
    await warmUp(f);
    f.stall();
    // Skipped ticks keep updating the skipped timestamp; they are not runs.
    const took = await f.until(firing('AutoloopCycleDelayed'), 10 * 60_000, () =>
      f.m.lastCycle.set({ loop: LOOP, outcome: 'skipped' }, f.clock.now() / 1000),
    );
    // last ran at t; condition true once age > 120 s (first check at 135 s), then 2 min pending
    assert.equal(took, 255_000);
    const event = f.events.find(firing('AutoloopCycleDelayed'));
    assert.deepEqual(event?.data.labels, { loop: LOOP });
    assert.match(event?.data.summary ?? '', /^Loop prices last ran a cycle 255s ago \(its schedule allows 120s\)$/);
    f.m.lastCycle.set({ loop: LOOP, outcome: 'partial' }, f.clock.now() / 1000);
    await f.until(resolved('AutoloopCycleDelayed'), STEP);
    assert.deepEqual(f.names('alert.firing'), ['AutoloopCycleDelayed']);
  });

  it('AutoloopHighSkipRate: over 30% of ticks skipped for 5m; benign skips do not count', async () => {
    const f = fleet();
    await warmUp(f);
    const skip = (reason: string) => () => {
      f.m.skipped.inc({ loop: LOOP, reason });
      f.m.cycles.inc({ loop: LOOP, outcome: 'skipped' });
    };
    // A peer running every tick (duplicate_tick), a pause: not trouble.
    for (let i = 0; i < 40; i++) {
      await f.tick(() => {
        skip('duplicate_tick')();
        skip('paused')();
      });
    }
    assert.equal(f.events.length, 0);
    // One overlap skip per run: a share of 0.5.
    const took = await f.until(firing('AutoloopHighSkipRate'), 15 * 60_000, skip('overlap'));
    assert.ok(took >= 5 * 60_000 && took <= 5 * 60_000 + 2 * STEP, `fired after ${took} ms`);
    assert.deepEqual(f.events.find(firing('AutoloopHighSkipRate'))?.data.labels, { loop: LOOP });
    assert.ok(Math.abs((f.events.find(firing('AutoloopHighSkipRate'))?.data.value ?? 0) - 0.5) < 0.05);
    await f.until(resolved('AutoloopHighSkipRate'), 5 * 60_000);
    assert.deepEqual(f.names('alert.firing'), ['AutoloopHighSkipRate']);
  });

  it('AutoloopCircuitBreakerOpen: a breaker open for 1m is critical; closes -> resolved', async () => {
    const f = fleet();
    await warmUp(f);
    f.m.breaker.set({ breaker: 'llm' }, 1);
    const took = await f.until(firing('AutoloopCircuitBreakerOpen'), 5 * 60_000);
    assert.equal(took, 75_000, 'open seen at the first tick, fired 60 s later');
    const event = f.events.find(firing('AutoloopCircuitBreakerOpen'));
    assert.equal(event?.data.severity, 'critical');
    assert.equal(event?.data.summary, 'Circuit breaker llm is open; cycles of loops using it are skipped');
    f.m.breaker.set({ breaker: 'llm' }, 0.5); // half-open is not open
    await f.until(resolved('AutoloopCircuitBreakerOpen'), STEP);
    assert.deepEqual(f.names('alert.firing'), ['AutoloopCircuitBreakerOpen']);
  });

  it("AutoloopHighLatencyMode: the p95 of attempts over 5m above the loop's bar for 5m; back under it -> resolved", async () => {
    const f = fleet();
    await warmUp(f);
    f.latency(9.5);
    const took = await f.until(firing('AutoloopHighLatencyMode'), 10 * 60_000);
    // Over 5% of the window's attempts are slow from the second slow tick; then it must hold for 5m.
    assert.equal(took, 5 * 60_000 + 2 * STEP);
    const event = f.events.find(firing('AutoloopHighLatencyMode'));
    assert.equal(event?.data.threshold, 8);
    assert.ok(
      (event?.data.value ?? 0) > 8 && (event?.data.value ?? 0) <= 10,
      `p95 in the 8-10 s bucket: ${event?.data.value}`,
    );
    f.latency(3);
    // Resolved once fewer than 5% of the attempts in the 5m window are slow.
    await f.until(resolved('AutoloopHighLatencyMode'), 5 * 60_000 + STEP);
    assert.deepEqual(f.names('alert.firing'), ['AutoloopHighLatencyMode']);
  });

  it('AutoloopBackpressureCooldown: more than 2 cooldowns in 10m fires at once; resolves when they age out', async () => {
    const f = fleet();
    await warmUp(f);
    await f.tick(() => f.m.cooldowns.inc({ loop: LOOP })); // the series appears: counted from 0
    await f.tick(() => f.m.cooldowns.inc({ loop: LOOP }));
    assert.equal(f.events.length, 0, 'two are allowed');
    await f.tick(() => f.m.cooldowns.inc({ loop: LOOP }));
    assert.deepEqual(f.names('alert.firing'), ['AutoloopBackpressureCooldown']);
    const took = await f.until(resolved('AutoloopBackpressureCooldown'), 15 * 60_000);
    assert.ok(took > 9 * 60_000 && took <= 10 * 60_000, `resolved after ${took} ms`);
  });

  it('AutoloopStaleLeaseRecoveryHigh: over 0.1 recoveries/s over 15m; resolves when they leave the window', async () => {
    const f = fleet();
    await warmUp(f);
    await f.tick(() => f.m.stale.inc(50)); // 50 over the 10 minutes seen so far: 0.08/s
    assert.equal(f.events.length, 0);
    await f.tick(() => f.m.stale.inc(150)); // 200: 0.32/s
    assert.deepEqual(f.names('alert.firing'), ['AutoloopStaleLeaseRecoveryHigh']);
    const took = await f.until(resolved('AutoloopStaleLeaseRecoveryHigh'), 20 * 60_000);
    // 200 over the full 15 m is still 0.22/s: it resolves when the burst leaves the window
    assert.ok(took > 14 * 60_000 && took <= 15 * 60_000 + STEP, `resolved after ${took} ms`);
    assert.deepEqual(f.names('alert.firing'), ['AutoloopStaleLeaseRecoveryHigh']);
  });

  it('AutoloopCycleFailureRateHigh: over 20% of cycles failed in 15m is critical at once; resolves as they age out', async () => {
    const f = fleet();
    await warmUp(f); // 40 ok cycles in the window
    f.stall();
    const fail = () => {
      f.m.cycles.inc({ loop: LOOP, outcome: 'failed' });
      f.m.lastCycle.set({ loop: LOOP, outcome: 'failed' }, f.clock.now() / 1000);
    };
    const took = await f.until(firing('AutoloopCycleFailureRateHigh'), 10 * 60_000, fail);
    assert.equal(took, 11 * STEP, '11 failed of 51: the share passes 0.2');
    const event = f.events.find(firing('AutoloopCycleFailureRateHigh'));
    assert.equal(event?.data.severity, 'critical');
    assert.ok(Math.abs((event?.data.value ?? 0) - 11 / 51) < 1e-9);
    f.resume();
    await f.until(resolved('AutoloopCycleFailureRateHigh'), 16 * 60_000);
    // Failed cycles still ran: the delay alert stayed quiet.
    assert.deepEqual(f.names('alert.firing'), ['AutoloopCycleFailureRateHigh']);
  });
});

describe('default rules by feature', () => {
  it('include only what the loops use: no breaker, no adaptive, no backpressure, no leases, a manual loop', () => {
    const rules = defaultAlertRules({
      loops: [{ name: 'ops', periodMs: null, latencyBarMs: null, backpressure: false, leases: false }],
      breakers: [],
    });
    assert.deepEqual(
      rules.map((r) => r.name),
      ['AutoloopHighSkipRate', 'AutoloopCycleFailureRateHigh'],
    );
    assert.deepEqual(defaultAlertRules({ loops: [], breakers: [] }), []);
  });

  it('scale the delay threshold with the period and the latency bar with the loop', () => {
    const rules = defaultAlertRules({
      loops: [
        { name: 'hourly', periodMs: 3_600_000, latencyBarMs: null, backpressure: false, leases: false },
        { name: 'fast', periodMs: 5_000, latencyBarMs: 2_000, backpressure: false, leases: false },
      ],
      breakers: [],
    });
    const delayed = rules.filter((r) => r.name === 'AutoloopCycleDelayed');
    assert.deepEqual(
      delayed.map((r) => [r.matchers.find((m) => m.label === 'loop')?.value, r.threshold]),
      [
        ['hourly', 7200],
        ['fast', 120],
      ],
    );
    assert.equal(rules.find((r) => r.name === 'AutoloopHighLatencyMode')?.threshold, 2);
  });

  it('alertFeatures reads resolved loops and dependencies', () => {
    const loop = (name: string, trigger: ResolvedLoop['trigger'], policies: Partial<ResolvedLoop['policies']>) =>
      ({
        name,
        trigger,
        policies: { lease: true, adaptive: null, backpressure: { after: 3, cooldownTicks: 2 }, ...policies },
      }) as unknown as ResolvedLoop;
    const adaptive = { min: 1, window: 10, p95BarMs: 5_000, p99BarMs: 6_000, maxTimeoutMs: 1 };
    const deps = [
      { name: 'llm', breaker: { failureThreshold: 5 }, rateLimit: null },
      { name: 'api', breaker: null, rateLimit: null },
    ] as unknown as ResolvedDependency[];
    const features = alertFeatures(
      [
        loop('a', { kind: 'cron', expression: '*/5 * * * *', timezone: 'UTC' }, { adaptive }),
        loop('b', { kind: 'manual' }, { lease: false, backpressure: null }),
      ],
      deps,
      T0,
    );
    assert.deepEqual(features, {
      loops: [
        { name: 'a', periodMs: 300_000, latencyBarMs: 5_000, backpressure: true, leases: true },
        { name: 'b', periodMs: null, latencyBarMs: null, backpressure: false, leases: false },
      ],
      breakers: ['llm'],
    });
  });

  it('a user rule replaces the default of the same name; defaults: false drops them all', () => {
    const own = buildAlertRule({ name: 'AutoloopHighSkipRate', metric: 'x', op: '>', threshold: 1 });
    const merged = alertRules({ defaults: true, rules: [own] }, ALL);
    assert.equal(merged.length, 7);
    assert.equal(merged.filter((r) => r.name === 'AutoloopHighSkipRate')[0], own);
    assert.deepEqual(alertRules({ defaults: false, rules: [own] }, ALL), [own]);
  });

  it('reference only metrics the runtime registers, with the labels they match on', async () => {
    const bus = new EventBus({ now: () => T0 });
    const metrics = createMetrics(bus, {
      processMetrics: false,
      breakers: () => [{ name: 'llm', stateValue: 0 }],
    });
    bus.emit('runtime.started', { owner: 'o', loops: [LOOP] });
    const names = new Set((await metrics.registry.getMetricsAsJSON()).map((m) => m.name));
    for (const rule of defaultAlertRules(ALL)) {
      for (const selector of [rule, ...rule.divideBy]) {
        // A quantile rule names its histogram's `_bucket` series.
        const metric = rule.function === 'quantile' ? selector.metric.replace(/_bucket$/, '') : selector.metric;
        assert.ok(names.has(metric), `${rule.name}: ${metric} is registered`);
      }
    }
    metrics.dispose();
  });
});
