/**
 * The decide recipe's OpenTelemetry spans, exported by a real in-process
 * exporter (the SDK's InMemorySpanExporter) from a runtime with
 * `tracing.enabled`: the four names, the cycle span as the parent of the
 * other three, their attributes from the readings and decisions, the
 * virtual clock's times; with tracing off, nothing is exported.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type HrTime, SpanStatusCode } from '@opentelemetry/api';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { SPAN_NAMES } from '../src/recipes/decide/decide-spans.ts';
import { journal, setup } from './support/decide-runtime.ts';

const ms = (t: HrTime) => t[0] * 1000 + t[1] / 1e6;
const named = (spans: ReadableSpan[], name: string) => spans.filter((s) => s.name === name);

async function traced(act?: (key: string) => unknown) {
  const exporter = new InMemorySpanExporter();
  const s = await setup(
    {},
    act,
    {},
    {
      observability: { tracing: { enabled: true, serviceName: 'decide-test' }, traceExporter: exporter, env: {} },
    },
  );
  return { s, exporter };
}

describe('decide: OpenTelemetry spans', () => {
  it('a cycle that executes a decision: cycle_complete is the parent of analysis, generation and execution', async () => {
    const { s, exporter } = await traced();
    try {
      await s.run('work'); // 0 of 3 completed: degraded -> scale_up
      const cycle = await s.run('autopilot');
      const spans = exporter.getFinishedSpans();
      const [root, ...moreRoots] = named(spans, SPAN_NAMES.cycle);
      assert.ok(root, 'a cycle_complete span');
      assert.equal(moreRoots.length, 0);
      assert.equal(root.parentSpanContext, undefined, 'cycle_complete is a root');
      assert.deepEqual(root.attributes, {
        'autoloop.loop': 'autopilot',
        'autoloop.cycle.id': cycle.id,
        cycle_duration_ms: Math.round((cycle.finishedAt ?? Number.NaN) - cycle.startedAt),
        decisions_executed: 1,
        decisions_failed: 0,
        system_improvement: false,
      });
      const children = [SPAN_NAMES.analysis, SPAN_NAMES.generation, SPAN_NAMES.execution].map((name) => {
        const [span, ...more] = named(spans, name);
        assert.ok(span, name);
        assert.equal(more.length, 0, name);
        assert.equal(span.parentSpanContext?.spanId, root.spanContext().spanId, `${name} is a child of the cycle`);
        assert.equal(span.spanContext().traceId, root.spanContext().traceId);
        assert.ok(ms(span.startTime) >= ms(root.startTime) && ms(span.endTime) <= ms(root.endTime), name);
        return span;
      });
      const [analysis, generation, execution] = children as [ReadableSpan, ReadableSpan, ReadableSpan];
      const [executed] = await journal(s.runtime);
      assert.ok(executed && executed.confidence >= 0.6);
      assert.deepEqual(analysis.attributes, {
        'autoloop.decide.targets': 1,
        completion_rate: 0,
        active_agents: 2,
        work_queue_size: 0,
        health_score: 0.325,
        health_state: 'degraded',
        'autoloop.decide.target': 'work',
      });
      assert.deepEqual(generation.attributes, {
        decision_count: 1,
        highest_priority: 1,
        decision_types: ['scale_up'],
      });
      assert.deepEqual(execution.attributes, {
        decision_id: `${cycle.id}:1`,
        decision_type: 'scale_up',
        confidence: executed?.confidence,
        'autoloop.decide.target': 'work',
        execution_result: 'executed',
      });
      assert.equal(execution.status.code, SpanStatusCode.UNSET);
      assert.equal(ms(root.endTime), cycle.finishedAt, 'the cycle span ends on the runtime clock at the cycle end');
    } finally {
      await s.stop();
    }
  });

  it('system_improvement: true when the mean score rose since the previous cycle', async () => {
    let ok = false;
    const { s, exporter } = await traced((key) => {
      if (ok) return key;
      throw new Error('down');
    });
    try {
      await s.run('work');
      await s.run('autopilot'); // 0.325
      ok = true;
      await s.run('work');
      await s.run('work'); // 6 of 9 completed: higher
      await s.run('autopilot');
      const roots = named(exporter.getFinishedSpans(), SPAN_NAMES.cycle);
      assert.deepEqual(
        roots.map((r) => r.attributes.system_improvement),
        [false, true],
      );
    } finally {
      await s.stop();
    }
  });

  it('with tracing off: the recipe draws no span (the hook is the no-op one)', async () => {
    const exporter = new InMemorySpanExporter();
    const s = await setup({}, undefined, {}, { observability: { traceExporter: exporter } });
    try {
      await s.run('work');
      await s.run('autopilot');
      assert.equal(s.runtime.loop('work').pool.concurrency, 3, 'the cycle still acted');
      assert.equal(exporter.getFinishedSpans().length, 0);
    } finally {
      await s.stop();
    }
  });
});
