import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Counter, Gauge, Registry } from 'prom-client';
import type { Logger } from '../../core/logger.ts';
import { VirtualClock } from '../../time/virtual-clock.ts';
import { AlertEvaluator, renderSummary } from './alert-evaluator.ts';
import type { AlertEvent, AlertEventName, AlertPayload } from './alert-event.ts';
import { type AlertRuleSpec, buildAlertRule } from './alert-rule.ts';

const T0 = Date.UTC(2026, 0, 1);

function capturingLogger() {
  const lines: Array<{ level: string; fields: object; message: string | undefined }> = [];
  const make = (): Logger => ({
    debug: (fields, message) => lines.push({ level: 'debug', fields, message }),
    info: (fields, message) => lines.push({ level: 'info', fields, message }),
    warn: (fields, message) => lines.push({ level: 'warn', fields, message }),
    error: (fields, message) => lines.push({ level: 'error', fields, message }),
    child: () => make(),
  });
  return { logger: make(), lines };
}

function setup(specs: AlertRuleSpec[]) {
  const clock = new VirtualClock({ now: T0 });
  const registry = new Registry();
  const events: AlertEvent[] = [];
  const sent: Array<{ event: AlertEventName; data: AlertPayload }> = [];
  const { logger, lines } = capturingLogger();
  const evaluator = new AlertEvaluator({
    registry,
    rules: specs.map(buildAlertRule),
    clock,
    intervalMs: 15_000,
    logger,
    onAlert: (event) => events.push(event),
    webhooks: { send: (event, data) => sent.push({ event, data }) },
  });
  return { clock, registry, evaluator, events, sent, lines };
}

describe('AlertEvaluator', () => {
  it('runs on the clock: pending, firing after `for`, resolved when the condition clears', async () => {
    const { clock, registry, evaluator, events, sent, lines } = setup([
      {
        name: 'BreakerOpen',
        metric: 'breaker_state',
        op: '==',
        threshold: 1,
        forMs: 60_000,
        severity: 'critical',
        summary: 'breaker {{ $labels.breaker }} is open ({{ $value }})',
      },
    ]);
    const gauge = new Gauge({ name: 'breaker_state', help: 'h', labelNames: ['breaker'], registers: [registry] });
    gauge.set({ breaker: 'llm' }, 1);
    gauge.set({ breaker: 'db' }, 0);
    const stop = new AbortController();
    const running = evaluator.run(stop.signal);

    await clock.advance(45_000);
    assert.equal(events.length, 0);
    assert.deepEqual(
      evaluator.alerts().map((a) => [a.alert, a.state, a.labels.breaker]),
      [['BreakerOpen', 'pending', 'llm']],
    );
    await clock.advance(15_000); // 60 s after it became active
    assert.equal(events.length, 1);
    const firing = events[0] as AlertEvent;
    assert.equal(firing.type, 'alert.firing');
    assert.deepEqual(firing.data, {
      alert: 'BreakerOpen',
      severity: 'critical',
      state: 'firing',
      labels: { breaker: 'llm' },
      value: 1,
      op: '==',
      threshold: 1,
      expr: 'breaker_state == 1',
      summary: 'breaker llm is open (1)',
      activeAt: T0,
      firedAt: T0 + 60_000,
      resolvedAt: null,
    });
    assert.deepEqual(sent, [{ event: 'alert.firing', data: firing.data }]);
    assert.ok(lines.some((l) => l.level === 'error' && l.message === 'alert firing: breaker llm is open (1)'));

    await clock.advance(60_000);
    assert.equal(events.length, 1, 'a firing alert is not re-sent');
    gauge.set({ breaker: 'llm' }, 0);
    await clock.advance(15_000);
    assert.equal(events.length, 2);
    const resolved = events[1] as AlertEvent;
    assert.equal(resolved.type, 'alert.resolved');
    assert.equal(resolved.data.resolvedAt, T0 + 135_000);
    assert.equal(resolved.data.value, 0);
    assert.deepEqual(evaluator.alerts()[0]?.state, 'resolved');
    assert.ok(lines.some((l) => l.level === 'info' && l.message?.startsWith('alert resolved')));

    stop.abort();
    await running;
    assert.equal(clock.pendingTimers, 0, 'no timer left behind');
  });

  it('a pending alert that clears before `for` never fires', async () => {
    const { clock, registry, evaluator, events } = setup([
      { name: 'High', metric: 'g', op: '>', threshold: 10, forMs: 60_000 },
    ]);
    const gauge = new Gauge({ name: 'g', help: 'h', registers: [registry] });
    gauge.set(11);
    await evaluator.evaluate();
    await clock.advance(30_000);
    gauge.set(5);
    await evaluator.evaluate();
    await clock.advance(60_000);
    gauge.set(11);
    await evaluator.evaluate();
    assert.equal(events.length, 0);
    assert.equal(evaluator.alerts()[0]?.activeAt, T0 + 90_000, 'a new activation restarts `for`');
  });

  it('keeps rate windows: fires on a per-second rate over the window and resolves when increments stop', async () => {
    const { clock, registry, evaluator, events } = setup([
      { name: 'Busy', metric: 'jobs_total', function: 'rate', windowMs: 60_000, op: '>', threshold: 0.1 },
    ]);
    const counter = new Counter({ name: 'jobs_total', help: 'h', registers: [registry] });
    await evaluator.evaluate(); // baseline sample: a rate needs two
    for (let i = 0; i < 4; i++) {
      await clock.advance(15_000);
      counter.inc(3); // 3 per 15 s = 0.2/s
      await evaluator.evaluate();
    }
    assert.equal(events.length, 1);
    assert.equal(events[0]?.type, 'alert.firing');
    assert.equal(events[0]?.data.firedAt, T0 + 15_000, 'fires at the first evaluation with a rate');
    assert.ok(Math.abs((events[0]?.data.value ?? 0) - 0.2) < 1e-9);
    // Increments stop at t=60 s. At 75 s the window [15 s, 75 s] still holds 9: 0.15/s.
    await clock.advance(15_000);
    assert.deepEqual(await evaluator.evaluate(), []);
    assert.equal(evaluator.alerts()[0]?.state, 'firing');
    assert.ok(Math.abs((evaluator.alerts()[0]?.value ?? 0) - 0.15) < 1e-9);
    // At 90 s the window [30 s, 90 s] holds 6: 0.1/s, not above the threshold.
    await clock.advance(15_000);
    const resolved = await evaluator.evaluate();
    assert.deepEqual(
      resolved.map((e) => e.type),
      ['alert.resolved'],
    );
  });

  it('counts a counter series that appears between evaluations from 0', async () => {
    const { clock, registry, evaluator, events } = setup([
      { name: 'Cooldowns', metric: 'cooldowns_total', function: 'increase', windowMs: 600_000, op: '>', threshold: 2 },
    ]);
    const counter = new Counter({ name: 'cooldowns_total', help: 'h', labelNames: ['loop'], registers: [registry] });
    await evaluator.evaluate();
    await clock.advance(15_000);
    counter.inc({ loop: 'a' }, 3); // the series is born with 3
    await evaluator.evaluate();
    assert.deepEqual(
      events.map((e) => [e.type, e.data.labels, e.data.value]),
      [['alert.firing', { loop: 'a' }, 3]],
    );
  });

  it('groups `by` labels, divides by the summed denominators, and skips a zero denominator', async () => {
    const { registry, evaluator } = setup([
      {
        name: 'FailShare',
        metric: 'cycles',
        labels: { outcome: 'failed' },
        by: ['loop'],
        divideBy: [{ metric: 'cycles', labels: { outcome: '!=skipped' } }],
        op: '>',
        threshold: 0.2,
      },
    ]);
    const gauge = new Gauge({ name: 'cycles', help: 'h', labelNames: ['loop', 'outcome'], registers: [registry] });
    gauge.set({ loop: 'a', outcome: 'failed' }, 1);
    gauge.set({ loop: 'a', outcome: 'ok' }, 3);
    gauge.set({ loop: 'a', outcome: 'skipped' }, 100);
    gauge.set({ loop: 'b', outcome: 'failed' }, 0);
    gauge.set({ loop: 'b', outcome: 'ok' }, 1);
    gauge.set({ loop: 'c', outcome: 'failed' }, 0);
    const events = await evaluator.evaluate();
    assert.deepEqual(
      events.map((e) => [e.data.labels, e.data.value, e.data.loop]),
      [[{ loop: 'a' }, 0.25, 'a']],
    );
  });

  it('matches labels with =, !=, =~ and !~', async () => {
    const { registry, evaluator } = setup([
      { name: 'M', metric: 'x', labels: { a: '=~one|two', b: '!~skip.*', c: '!=no' }, op: '>', threshold: 0 },
    ]);
    const gauge = new Gauge({ name: 'x', help: 'h', labelNames: ['a', 'b', 'c'], registers: [registry] });
    gauge.set({ a: 'one', b: 'keep', c: 'yes' }, 1);
    gauge.set({ a: 'two', b: 'skipped', c: 'yes' }, 1);
    gauge.set({ a: 'three', b: 'keep', c: 'yes' }, 1);
    gauge.set({ a: 'one', b: 'keep', c: 'no' }, 1);
    const events = await evaluator.evaluate();
    assert.deepEqual(
      events.map((e) => e.data.labels),
      [{ a: 'one', b: 'keep', c: 'yes' }],
    );
  });

  it('resolves a firing alert whose series disappears, with a null value', async () => {
    const { registry, evaluator } = setup([{ name: 'G', metric: 'g', op: '>', threshold: 0 }]);
    const gauge = new Gauge({ name: 'g', help: 'h', labelNames: ['k'], registers: [registry] });
    gauge.set({ k: 'v' }, 1);
    assert.equal((await evaluator.evaluate())[0]?.type, 'alert.firing');
    gauge.reset();
    const events = await evaluator.evaluate();
    assert.deepEqual(
      events.map((e) => [e.type, e.data.value]),
      [['alert.resolved', null]],
    );
  });

  it('warns once about a metric not in the registry, and a throwing callback does not stop delivery', async () => {
    const clock = new VirtualClock({ now: T0 });
    const registry = new Registry();
    const { logger, lines } = capturingLogger();
    const sent: string[] = [];
    const evaluator = new AlertEvaluator({
      registry,
      clock,
      logger,
      rules: [buildAlertRule({ name: 'G', metric: 'g', op: '>', threshold: 0 })],
      onAlert: () => {
        throw new Error('listener bug');
      },
      webhooks: { send: (event) => sent.push(event) },
    });
    await evaluator.evaluate();
    await evaluator.evaluate();
    assert.equal(lines.filter((l) => l.message?.includes('not in the registry')).length, 1);
    new Gauge({ name: 'g', help: 'h', registers: [registry] }).set(1);
    await evaluator.evaluate();
    assert.deepEqual(sent, ['alert.firing']);
    assert.ok(lines.some((l) => l.message === 'alert delivery to callback failed'));
  });

  it('renders summary templates', () => {
    assert.equal(
      renderSummary('{{ $labels.loop }}: {{$value}} ({{ $labels.none }})', { loop: 'x' }, 1 / 3),
      'x: 0.3333 ()',
    );
    assert.equal(renderSummary('v={{ $value }}', {}, null), 'v=n/a');
  });
});
