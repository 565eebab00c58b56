import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { EventBus } from '../observability/events.ts';
import type { InstanceStatus } from './service-instance.ts';
import { METRIC_NAMES, registerServiceMetrics } from './service-metrics.ts';

const row = (over: Partial<InstanceStatus> = {}): InstanceStatus => ({
  service: 'api',
  instance: 0,
  state: 'running',
  pid: 4242,
  startedAt: '2026-01-01T00:00:00.000Z',
  uptimeMs: 1000,
  restarts: 0,
  failing: false,
  ready: true,
  rssBytes: 50_000_000,
  cpuPercent: null,
  cpuSeconds: 1.5,
  memoryLimitBytes: null,
  healthFailures: 0,
  lastExit: null,
  detail: 'running',
  ...over,
});

describe('service metrics', () => {
  it('up, memory, CPU, start time and failing per instance from the status; restarts from the bus', async () => {
    const registry = new Registry();
    const bus = new EventBus({ now: () => 0 });
    let rows = [
      row(),
      row({
        instance: 1,
        state: 'backoff',
        pid: null,
        rssBytes: null,
        cpuSeconds: null,
        startedAt: null,
        failing: true,
      }),
    ];
    const metrics = registerServiceMetrics(registry, bus, () => rows);
    bus.emit('service.restarting', {
      service: 'api',
      instance: 1,
      delayMs: 100,
      attempt: 1,
      reason: 'exited with code 1',
    });
    const text = await registry.metrics();
    assert.match(text, /^autoloop_service_up\{service="api",instance="0"\} 1$/m);
    assert.match(text, /^autoloop_service_up\{service="api",instance="1"\} 0$/m);
    assert.match(text, /^autoloop_service_memory_bytes\{service="api",instance="0"\} 50000000$/m);
    assert.match(text, /^autoloop_service_cpu_seconds_total\{service="api",instance="0"\} 1\.5$/m);
    assert.match(text, /^autoloop_service_start_time_seconds\{service="api",instance="0"\} 1767225600$/m);
    assert.match(text, /^autoloop_service_failing\{service="api",instance="1"\} 1$/m);
    assert.match(text, /^autoloop_service_restarts_total\{service="api",instance="1"\} 1$/m);
    assert.match(text, /^autoloop_service_restarts_total\{service="api",instance="0"\} 0$/m);
    rows = [row({ cpuSeconds: 0.5 })];
    const after = await registry.metrics();
    assert.match(after, /^autoloop_service_cpu_seconds_total\{service="api",instance="0"\} 0\.5$/m);
    for (const gauge of ['up', 'memory_bytes', 'start_time_seconds', 'failing']) {
      assert.doesNotMatch(
        after,
        new RegExp(`^autoloop_service_${gauge}\\{service="api",instance="1"\\}`, 'm'),
        `${gauge} of a scaled-away instance`,
      );
    }
    metrics.dispose();
    for (const name of METRIC_NAMES) assert.equal(registry.getSingleMetric(name), undefined);
  });
});
