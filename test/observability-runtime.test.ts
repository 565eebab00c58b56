import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defineLoop } from '../src/config/define-loop.ts';
import { buildAlertRule } from '../src/observability/alerts/alert-rule.ts';
import { createRuntime } from '../src/runtime/runtime.ts';
import { MemoryStore } from '../src/storage/memory/memory-store.ts';
import { VirtualClock } from '../src/time/virtual-clock.ts';

const T0 = Date.UTC(2026, 0, 1);

describe('alerts wired into a runtime', () => {
  it('a rule over the runtime metrics fires after its for-duration, reaches the bus and the event log, and resolves', async () => {
    let failing = true;
    const loop = defineLoop({
      name: 'jobs',
      trigger: { cron: '*/10 * * * * *' },
      observe: () => ['a'],
      act: () => {
        if (failing) throw new Error('down');
      },
    });
    const rule = buildAlertRule({
      name: 'JobsFailing',
      metric: 'autoloop_cycles_total',
      labels: { loop: 'jobs', outcome: 'failed' },
      function: 'increase',
      windowMs: 30_000,
      op: '>',
      threshold: 0,
      forMs: 10_000,
      severity: 'critical',
    });
    const clock = new VirtualClock({ now: T0 });
    const store = new MemoryStore();
    const runtime = createRuntime({
      loops: [loop],
      store,
      clock,
      observability: { alerts: { defaults: false, intervalMs: 5_000, rules: [rule] } },
    });
    const seen: string[] = [];
    runtime.bus.on('alert.firing', (e) => seen.push(`firing ${e.alert} ${e.labels.loop ?? ''}`.trim()));
    runtime.bus.on('alert.resolved', (e) => seen.push(`resolved ${e.alert}`));
    await runtime.start();
    await clock.advance(40_000);
    assert.ok(seen.includes('firing JobsFailing jobs'), seen.join('; '));
    assert.equal(runtime.alerts().find((a) => a.alert === 'JobsFailing')?.state, 'firing');
    failing = false;
    await clock.advance(60_000);
    assert.equal(seen.at(-1), 'resolved JobsFailing');
    const stopped = runtime.stop();
    await clock.runUntil(() => runtime.state === 'stopped');
    await stopped;
    const logged = (await store.events.latest({ limit: 1000 })).map((e) => e.type);
    assert.ok(logged.includes('alert.firing') && logged.includes('alert.resolved'), 'both are in the event log');
    assert.equal(clock.pendingTimers, 0, 'the evaluator stopped with the runtime');
  });
});
