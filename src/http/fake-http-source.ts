import type { CycleRecord, ItemResult } from '../core/cycle-record.ts';
import type { HealthReport } from '../runtime/health.ts';
import type { RuntimeSnapshot } from '../runtime/runtime-views.ts';
import type { TasksView } from '../runtime/tasks-view.ts';
import type { StoredEvent } from '../storage/store.ts';
import type { HttpSource } from './routes.ts';

/**
 * An {@link HttpSource} with no runtime behind it, for tests of the HTTP
 * surface: one loop (`prices`), one breaker (`llm_service`), an in-memory
 * event log, and a record of every admin call. Everything healthy unless an
 * override says otherwise.
 *
 * @example
 * const source = createFakeHttpSource({ security: { token: 'a-long-test-token' } });
 * source.emit('cycle.started', 'prices', { tick: 't1' });
 * const app = createHttpApp(source);
 */
export interface FakeHttpSource extends HttpSource {
  /** Admin calls in order: `run prices`, `pause prices`, `resume prices`, `requeue prices <cycle> <key>`, `shutdown`. */
  readonly calls: string[];
  /** How many times `events.after` / `events.latest` were called (the SSE polls). */
  readonly reads: { after: number; latest: number };
  /** Appends an event to the log (seq 1, 2, ...) and returns it. */
  emit(type: string, loop: string | null, data?: unknown): StoredEvent;
}

export interface FakeHttpSourceOverrides extends Partial<Omit<HttpSource, 'events' | 'admin' | 'security'>> {
  events?: Partial<HttpSource['events']>;
  admin?: Partial<HttpSource['admin']>;
  security?: Partial<HttpSource['security']>;
  /** Loop names. Default `['prices']`. */
  loops?: string[];
}

export const FAKE_NOW = Date.parse('2026-01-01T00:00:00.000Z');

export function fakeHealthReport(healthy: boolean, loops: readonly string[] = ['prices']): HealthReport {
  const components: HealthReport['components'] = {
    runtime: { healthy: true, detail: 'running' },
    store: healthy ? { healthy: true, detail: 'memory://' } : { healthy: false, detail: 'store unreachable' },
    'breaker:llm_service': { healthy: true, detail: 'closed', p95Ms: 120 },
  };
  for (const loop of loops) components[`loop:${loop}`] = { healthy: true, schedule: 'every 10s', paused: false };
  return {
    healthy,
    status: healthy ? 'healthy' : 'unhealthy',
    checkedAt: new Date(FAKE_NOW).toISOString(),
    components,
  };
}

export function fakeCycleRecord(loop: string, n: number, overrides: Partial<CycleRecord> = {}): CycleRecord {
  const startedAt = FAKE_NOW - n * 10_000;
  return {
    id: `${loop}#${n}`,
    loop,
    tickId: `${loop}@${new Date(startedAt).toISOString()}`,
    trigger: 'interval',
    scheduledAt: startedAt,
    startedAt,
    finishedAt: startedAt + 1_500,
    steps: { observeMs: 10, planMs: 1, actMs: 1_489 },
    counts: { planned: 20, succeeded: 19, failed: 1, skipped: 0 },
    outcome: { kind: 'partial', failed: 1 },
    owner: 'test-host:1:abcd1234',
    ...overrides,
  };
}

/**
 * The item results of a fake cycle: as many as it planned, each with a
 * payload; the last `counts.failed` of them failed (`exchange timeout`).
 */
export function fakeItemResults(record: CycleRecord): ItemResult[] {
  const { planned, failed } = record.counts;
  return Array.from({ length: planned }, (_, i) => {
    const bad = i >= planned - failed;
    const startedAt = record.startedAt + 10 + (i % 5) * 20;
    return {
      cycleId: record.id,
      loop: record.loop,
      key: `item-${i + 1}`,
      idempotencyKey: `${record.loop}:item-${i + 1}:${record.tickId}`,
      priority: 2,
      status: bad ? 'failed' : 'succeeded',
      attempts: bad ? 3 : 1,
      startedAt,
      finishedAt: startedAt + 80,
      durationMs: 80,
      payload: { n: i + 1 },
      ...(bad ? { error: { name: 'Error', message: 'exchange timeout' } } : { output: { price: 100 + i } }),
    };
  });
}

export function fakeSnapshot(loops: readonly string[] = ['prices']): RuntimeSnapshot {
  const latency = { count: 20, window: 100, p50: 80, p95: 120, p99: 200, errorRate: 0.05 };
  return {
    owner: 'test-host:1:abcd1234',
    pid: 1,
    state: 'running',
    startedAt: new Date(FAKE_NOW - 3_600_000).toISOString(),
    uptimeS: 3600,
    store: 'memory://',
    loops: loops.map((name) => ({
      name,
      description: `the ${name} loop`,
      recipe: null,
      schedule: 'every 10s',
      paused: false,
      running: false,
      concurrency: 10,
      inFlight: 0,
      nextRunAt: new Date(FAKE_NOW + 10_000).toISOString(),
      lastCycle: fakeCycleRecord(name, 1),
      lastSuccessAt: new Date(FAKE_NOW - 10_000).toISOString(),
      latency,
      adaptive: { limit: 8, min: 2, max: 16 },
      backpressure: { state: 'normal', cooldowns: 0 },
    })),
    dependencies: [{ name: 'llm_service', breaker: { state: 'closed', value: 0 }, latency }],
    leases: { active: 3 },
    queue: [{ loop: loops[0] ?? 'prices', priority: 2, count: 4 }],
    instances: [],
  };
}

export function fakeTasks(): TasksView {
  return {
    total: 1,
    byPriority: [{ priority: 'high', count: 1 }],
    byLoop: [{ loop: 'prices', count: 1, estimatedSeconds: 2 }],
    items: [
      {
        loop: 'prices',
        key: 'BTC/USD',
        priority: 'high',
        enqueuedAt: new Date(FAKE_NOW).toISOString(),
        claimedBy: null,
      },
    ],
  };
}

export function createFakeHttpSource(overrides: FakeHttpSourceOverrides = {}): FakeHttpSource {
  const loops = overrides.loops ?? ['prices'];
  const log: StoredEvent[] = [];
  const calls: string[] = [];
  const reads = { after: 0, latest: 0 };
  const known = (loop: string) => {
    if (!loops.includes(loop)) throw new Error(`unknown loop "${loop}"; loops in this config: ${loops.join(', ')}`);
  };
  let runs = 0;
  const queued = new Set<string>();
  // The ids fakeCycleRecord gives: `<loop>#<n>`.
  const cycleOf = (id: string) => {
    const match = /^(.+)#(\d+)$/.exec(id);
    const loop = match?.[1] ?? '';
    return loops.includes(loop) ? fakeCycleRecord(loop, Number(match?.[2])) : undefined;
  };
  return {
    health: async () => fakeHealthReport(true, loops),
    ready: async () => fakeHealthReport(true, loops),
    live: () => fakeHealthReport(true, loops),
    metrics: async () => ({
      contentType: 'text/plain; version=0.0.4; charset=utf-8',
      body: 'autoloop_cycles_total{loop="prices",outcome="ok"} 1\n',
    }),
    snapshot: async () => fakeSnapshot(loops),
    tasks: async () => fakeTasks(),
    cycles: async (loop, limit) => {
      known(loop);
      return Array.from({ length: Math.min(limit, 3) }, (_, i) => fakeCycleRecord(loop, i + 1));
    },
    cycle: async (id) => cycleOf(id),
    items: async (cycleId) => {
      const record = cycleOf(cycleId);
      return record ? fakeItemResults(record) : [];
    },
    ...withoutNested(overrides),
    events: {
      after: async (seq, limit) => {
        reads.after++;
        return log.filter((e) => e.seq > seq).slice(0, limit);
      },
      latest: async (limit) => {
        reads.latest++;
        return log.slice(-limit);
      },
      ...overrides.events,
    },
    admin: {
      loops: () => [...loops],
      run: async (loop) => {
        known(loop);
        calls.push(`run ${loop}`);
        return fakeCycleRecord(loop, 0, { id: `${loop}#manual-${++runs}`, trigger: 'manual', outcome: { kind: 'ok' } });
      },
      pause: (loop) => {
        known(loop);
        calls.push(`pause ${loop}`);
      },
      resume: (loop) => {
        known(loop);
        calls.push(`resume ${loop}`);
      },
      requeue: async (loop, cycleId, item) => {
        known(loop);
        calls.push(`requeue ${loop} ${cycleId} ${item.key}`);
        if (queued.has(item.idempotencyKey)) return undefined;
        queued.add(item.idempotencyKey);
        return String(queued.size);
      },
      shutdown: () => {
        calls.push('shutdown');
      },
      ...overrides.admin,
    },
    security: { token: '', allowedHosts: [], bindHost: '127.0.0.1', ...overrides.security },
    calls,
    reads,
    emit(type, loop, data = {}) {
      const event: StoredEvent = { seq: log.length + 1, at: FAKE_NOW + log.length, type, loop, data };
      log.push(event);
      return event;
    },
  };
}

function withoutNested(overrides: FakeHttpSourceOverrides): Partial<HttpSource> {
  const { events: _e, admin: _a, security: _s, loops: _l, ...rest } = overrides;
  return rest;
}
