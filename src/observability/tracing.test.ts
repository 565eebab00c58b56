import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { type HrTime, SpanStatusCode } from '@opentelemetry/api';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { EventBus, type EventMap } from './events.ts';
import { startTracing } from './tracing.ts';

const T0 = Date.UTC(2026, 0, 1);
const ERROR = { name: 'Error', message: 'upstream 502' };

function setup() {
  let now = T0;
  const bus = new EventBus({ now: () => now });
  const exporter = new InMemorySpanExporter();
  const tracing = startTracing(bus, { enabled: true, exporter, processor: 'simple', serviceName: 'test-svc' });
  const at = (ms: number) => {
    now = T0 + ms;
  };
  return { bus, exporter, tracing, at };
}

/** One cycle: observe 100 ms, plan 50 ms, act 400 ms with a succeeded item, a retried-then-failed one, a skipped one. */
function emitCycle(s: ReturnType<typeof setup>, options: { steps: boolean }) {
  const { bus, at } = s;
  const base = { loop: 'prices', cycleId: 'c1' };
  at(0);
  bus.emit('cycle.started', { ...base, tickId: 'prices@t1', trigger: 'interval' });
  at(150);
  bus.emit('item.started', { ...base, key: 'BTC', attempt: 1 });
  bus.emit('item.started', { ...base, key: 'ETH', attempt: 1 });
  at(250);
  bus.emit('item.succeeded', { ...base, key: 'BTC', attempts: 1, durationMs: 100 });
  bus.emit('item.retried', { ...base, key: 'ETH', attempt: 1, delayMs: 100, error: ERROR });
  at(350);
  bus.emit('item.started', { ...base, key: 'ETH', attempt: 2 });
  at(500);
  bus.emit('item.failed', { ...base, key: 'ETH', attempts: 2, durationMs: 350, error: ERROR });
  bus.emit('item.skipped', { ...base, key: 'SOL', reason: 'leased elsewhere' });
  at(550);
  const finished: EventMap['cycle.finished'] & { steps?: object } = {
    ...base,
    tickId: 'prices@t1',
    outcome: { kind: 'partial', failed: 1 },
    durationMs: 550,
    counts: { planned: 3, succeeded: 1, failed: 1, skipped: 1 },
    ...(options.steps ? { steps: { observeMs: 100, planMs: 50, actMs: 400 } } : {}),
  };
  bus.emit('cycle.finished', finished);
}

const hrMs = (t: HrTime) => t[0] * 1000 + t[1] / 1e6;
const ms = (t: HrTime) => hrMs(t) - T0;
const byName = (spans: ReadableSpan[], name: string) => spans.filter((span) => span.name === name);
const parentOf = (span: ReadableSpan) => span.parentSpanContext?.spanId;

describe('startTracing', () => {
  it('makes a span per cycle with observe, plan and act children and an item span per item under act', async () => {
    const s = setup();
    emitCycle(s, { steps: true });
    await s.tracing.forceFlush();
    const spans = s.exporter.getFinishedSpans();
    assert.deepEqual(spans.map((span) => span.name).sort(), [
      'act',
      'cycle prices',
      'item',
      'item',
      'item',
      'observe',
      'plan',
    ]);
    const cycle = byName(spans, 'cycle prices')[0] as ReadableSpan;
    assert.equal(parentOf(cycle), undefined, 'the cycle is a root span');
    assert.deepEqual(cycle.attributes, {
      'autoloop.loop': 'prices',
      'autoloop.tick': 'prices@t1',
      'autoloop.cycle.id': 'c1',
      'autoloop.trigger': 'interval',
      'autoloop.outcome': 'partial',
      'autoloop.items.planned': 3,
      'autoloop.items.succeeded': 1,
      'autoloop.items.failed': 1,
      'autoloop.items.skipped': 1,
    });
    assert.deepEqual([ms(cycle.startTime), ms(cycle.endTime)], [0, 550], 'times come from the bus clock');
    assert.equal(cycle.resource.attributes['service.name'], 'test-svc');

    const cycleId = cycle.spanContext().spanId;
    const steps = ['observe', 'plan', 'act'].map((name) => byName(spans, name)[0] as ReadableSpan);
    for (const step of steps) {
      assert.equal(parentOf(step), cycleId, `${step.name} is a child of the cycle`);
      assert.equal(step.spanContext().traceId, cycle.spanContext().traceId);
    }
    assert.deepEqual(
      steps.map((step) => [step.name, ms(step.startTime), ms(step.endTime)]),
      [
        ['observe', 0, 100],
        ['plan', 100, 150],
        ['act', 150, 550],
      ],
    );

    const act = steps[2] as ReadableSpan;
    const items = byName(spans, 'item');
    for (const item of items) assert.equal(parentOf(item), act.spanContext().spanId, 'items are children of act');
    const item = (key: string) => items.find((i) => i.attributes['autoloop.item.key'] === key) as ReadableSpan;
    assert.deepEqual(item('BTC').attributes, {
      'autoloop.loop': 'prices',
      'autoloop.item.key': 'BTC',
      'autoloop.item.outcome': 'succeeded',
      'autoloop.item.attempts': 1,
    });
    assert.deepEqual([ms(item('BTC').startTime), ms(item('BTC').endTime)], [150, 250]);
    const eth = item('ETH');
    assert.equal(eth.attributes['autoloop.item.attempts'], 2);
    assert.equal(eth.status.code, SpanStatusCode.ERROR);
    assert.equal(eth.status.message, 'upstream 502');
    assert.deepEqual(
      eth.events.map((e) => [e.name, e.attributes?.['autoloop.item.attempt'], ms(e.time)]),
      [['retry', 1, 250]],
    );
    assert.equal(item('SOL').attributes['autoloop.skip.reason'], 'leased elsewhere');
    await s.tracing.shutdown();
  });

  it('without step durations on cycle.finished, draws act from the items', async () => {
    const s = setup();
    emitCycle(s, { steps: false });
    const spans = s.exporter.getFinishedSpans();
    assert.deepEqual(byName(spans, 'observe'), []);
    const act = byName(spans, 'act')[0] as ReadableSpan;
    assert.deepEqual([ms(act.startTime), ms(act.endTime)], [150, 500]);
    await s.tracing.shutdown();
  });

  it('marks a failed cycle and its failed step, and records skipped ticks as zero-length cycle spans', async () => {
    const s = setup();
    s.bus.emit('cycle.started', { loop: 'l', cycleId: 'c2', tickId: 't2', trigger: 'cron' });
    s.at(20);
    const finished: EventMap['cycle.finished'] & { steps: object } = {
      loop: 'l',
      cycleId: 'c2',
      tickId: 't2',
      outcome: { kind: 'failed', step: 'observe', error: ERROR },
      durationMs: 20,
      counts: { planned: 0, succeeded: 0, failed: 0, skipped: 0 },
      steps: { observeMs: 20 },
    };
    s.bus.emit('cycle.finished', finished);
    s.bus.emit('cycle.skipped', { loop: 'l', tickId: 't3', reason: 'overlap: c9 still running' });
    const spans = s.exporter.getFinishedSpans();
    const [failed, skipped] = byName(spans, 'cycle l') as [ReadableSpan, ReadableSpan];
    assert.equal(failed.status.code, SpanStatusCode.ERROR);
    assert.equal(failed.attributes['autoloop.failed_step'], 'observe');
    assert.equal(byName(spans, 'observe')[0]?.status.code, SpanStatusCode.ERROR);
    assert.deepEqual(skipped.attributes, {
      'autoloop.loop': 'l',
      'autoloop.tick': 't3',
      'autoloop.outcome': 'skipped',
      'autoloop.skip.reason': 'overlap: c9 still running',
    });
    assert.deepEqual(skipped.startTime, skipped.endTime);
    await s.tracing.shutdown();
  });

  it('is off unless enabled, and OTEL_SDK_DISABLED or OTEL_TRACES_EXPORTER=none turn it off', async () => {
    const bus = new EventBus({ now: () => T0 });
    const exporter = new InMemorySpanExporter();
    const off = [
      startTracing(bus, { enabled: false, exporter }),
      startTracing(bus, { enabled: true, exporter, env: { OTEL_SDK_DISABLED: 'TRUE' } }),
      startTracing(bus, { enabled: true, exporter, env: { OTEL_TRACES_EXPORTER: 'none' } }),
    ];
    assert.deepEqual(
      off.map((t) => t.enabled),
      [false, false, false],
    );
    bus.emit('cycle.skipped', { loop: 'l', tickId: 't', reason: 'paused' });
    for (const t of off) await t.shutdown();
    assert.deepEqual(exporter.getFinishedSpans(), []);
  });

  it('exports over OTLP/HTTP to OTEL_EXPORTER_OTLP_ENDPOINT (a real local collector)', async () => {
    const posts: Array<{ method: string; url: string; type: string; bytes: number }> = [];
    const collector = createServer((req, res) => {
      let bytes = 0;
      req.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
      });
      req.on('end', () => {
        posts.push({ method: req.method ?? '', url: req.url ?? '', type: req.headers['content-type'] ?? '', bytes });
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', resolve));
    const { port } = collector.address() as AddressInfo;
    const saved = process.env.OTEL_EXPORTER_OTLP_ENDPOINT;
    // The exporter reads the standard variables itself, when it is constructed.
    process.env.OTEL_EXPORTER_OTLP_ENDPOINT = `http://127.0.0.1:${port}`;
    try {
      const bus = new EventBus({ now: () => T0 });
      const tracing = startTracing(bus, { enabled: true, env: process.env });
      bus.emit('cycle.started', { loop: 'l', cycleId: 'c', tickId: 't', trigger: 'manual' });
      bus.emit('cycle.finished', {
        loop: 'l',
        cycleId: 'c',
        tickId: 't',
        outcome: { kind: 'ok' },
        durationMs: 5,
        counts: { planned: 0, succeeded: 0, failed: 0, skipped: 0 },
      });
      await tracing.shutdown(); // flushes the batch
      assert.equal(posts.length, 1);
      assert.equal(posts[0]?.method, 'POST');
      assert.equal(posts[0]?.url, '/v1/traces');
      assert.match(posts[0]?.type ?? '', /^application\/(json|x-protobuf)/);
      assert.ok((posts[0]?.bytes ?? 0) > 0);
    } finally {
      if (saved === undefined) delete process.env.OTEL_EXPORTER_OTLP_ENDPOINT;
      else process.env.OTEL_EXPORTER_OTLP_ENDPOINT = saved;
      collector.closeAllConnections();
      await new Promise<void>((resolve) => collector.close(() => resolve()));
    }
  });
});
