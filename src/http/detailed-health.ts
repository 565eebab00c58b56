import type { CycleRecord } from '../core/cycle-record.ts';
import type { ComponentHealth, HealthReport } from '../runtime/health.ts';
import type { RuntimeSnapshot } from '../runtime/runtime-views.ts';
import { redactStoreUrl } from '../storage/open-store.ts';

/**
 * The body of `/health/detailed`: seed 002's monitoring view (last cycle,
 * its duration and items, active leases, breakers, adaptive state,
 * backpressure, store, uptime), per loop, built from the runtime's snapshot
 * and its health report. Plain data; times are ISO strings.
 */
export function detailedHealth(snapshot: RuntimeSnapshot, health: HealthReport) {
  const store = health.components.store;
  return {
    healthy: health.healthy,
    status: health.status,
    checkedAt: health.checkedAt,
    ...(health.ageMs !== undefined && { ageMs: health.ageMs }),
    instance: snapshot.owner,
    state: snapshot.state,
    startedAt: snapshot.startedAt,
    uptimeSeconds: snapshot.uptimeS,
    store: {
      url: redactStoreUrl(snapshot.store),
      connected: store?.healthy === true,
      detail: store?.detail ?? null,
    },
    activeLeases: snapshot.leases.active,
    loops: snapshot.loops.map((loop) => {
      const component: ComponentHealth | undefined = health.components[`loop:${loop.name}`];
      return {
        name: loop.name,
        healthy: component?.healthy ?? null,
        detail: component?.detail ?? null,
        schedule: loop.schedule,
        paused: loop.paused,
        running: loop.running,
        nextRunAt: loop.nextRunAt,
        lastSuccessAt: loop.lastSuccessAt,
        lastCycle: loop.lastCycle ? lastCycle(loop.lastCycle) : null,
        itemsInFlight: loop.inFlight,
        concurrency: loop.concurrency,
        adaptive: {
          ...(loop.adaptive ?? { limit: loop.concurrency, min: null, max: null }),
          enabled: loop.adaptive !== null,
          p95LatencyMs: loop.latency.p95,
        },
        latency: loop.latency,
        backpressure: loop.backpressure,
      };
    }),
    circuitBreakers: Object.fromEntries(
      snapshot.dependencies.flatMap((d) =>
        d.breaker ? [[d.name, { state: d.breaker.state, value: d.breaker.value, p95LatencyMs: d.latency.p95 }]] : [],
      ),
    ),
    queue: snapshot.queue,
    components: health.components,
  };
}

function lastCycle(record: CycleRecord) {
  const { outcome } = record;
  return {
    id: record.id,
    trigger: record.trigger,
    outcome: outcome.kind,
    ...(outcome.kind === 'skipped' ? { reason: outcome.reason } : {}),
    ...(outcome.kind === 'failed' ? { step: outcome.step, error: outcome.error.message } : {}),
    startedAt: new Date(record.startedAt).toISOString(),
    finishedAt: record.finishedAt === null ? null : new Date(record.finishedAt).toISOString(),
    durationSeconds: record.finishedAt === null ? null : (record.finishedAt - record.startedAt) / 1000,
    items: record.counts,
  };
}
