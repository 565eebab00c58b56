/**
 * The OpenTelemetry spans of a decide cycle, named and attributed as the
 * telemetry engine decide follows names them, drawn with the recipe's span
 * hook (observability/span-hook.ts: no-ops when `tracing.enabled` is off):
 *
 *   swarmsh.autonomous.cycle_complete          the whole cycle (root); ended when the runtime's cycle ends
 *   ├─ swarmsh.autonomous.system_analysis      sensors read and every target scored
 *   ├─ swarmsh.autonomous.decision_generation  rules, ranking and verdicts
 *   └─ swarmsh.autonomous.decision_execution   one per decision executed (its effector)
 *
 * Attributes: system_analysis has `completion_rate`, `active_agents`,
 * `work_queue_size`, `health_score`, `health_state` of the weakest target
 * (as `decide status` headlines it), plus `autoloop.decide.targets`;
 * decision_generation `decision_count`, `highest_priority` (the top
 * decision's; 0 is the most urgent; absent with no decision),
 * `decision_types`; decision_execution `decision_id`, `decision_type`,
 * `execution_result` (`executed` or `failed`), `confidence`, plus
 * `autoloop.decide.target`; cycle_complete `cycle_duration_ms`,
 * `decisions_executed`, `decisions_failed`, `system_improvement` (the mean
 * score of the targets rose since the previous cycle; false on the first),
 * plus `autoloop.loop` and `autoloop.cycle.id` (the runtime's `cycle <loop>`
 * span carries the same id).
 */
import type { EventMap } from '../../observability/events.ts';
import type { HookSpan, SpanHook } from '../../observability/span-hook.ts';
import type { Decision } from './decision-rules.ts';
import type { TargetStatus } from './sense-targets.ts';

export const SPAN_NAMES = {
  cycle: 'swarmsh.autonomous.cycle_complete',
  analysis: 'swarmsh.autonomous.system_analysis',
  generation: 'swarmsh.autonomous.decision_generation',
  execution: 'swarmsh.autonomous.decision_execution',
} as const;

interface OpenCycle {
  readonly span: HookSpan;
  executed: number;
  failed: number;
  improvement: boolean;
}

/** Cycles whose root span is open at once; past it the oldest is ended as it is (a runtime that lost events). */
const MAX_OPEN = 100;

/** One decide loop's spans, cycle by cycle (see the header). */
export class DecideSpans {
  readonly #hook: SpanHook;
  readonly #loop: string;
  readonly #open = new Map<string, OpenCycle>();
  #lastMean: number | null = null;

  constructor(hook: SpanHook, loop: string) {
    this.#hook = hook;
    this.#loop = loop;
  }

  /** Opens the cycle's root span (at the start of observe). */
  cycle(cycleId: string): void {
    if (!this.#hook.enabled) return;
    if (this.#open.size >= MAX_OPEN) {
      const [oldest, open] = this.#open.entries().next().value as [string, OpenCycle];
      open.span.end();
      this.#open.delete(oldest);
    }
    const span = this.#hook.start(SPAN_NAMES.cycle, {
      attributes: { 'autoloop.loop': this.#loop, 'autoloop.cycle.id': cycleId },
    });
    this.#open.set(cycleId, { span, executed: 0, failed: 0, improvement: false });
  }

  /** The analysis span, from `startMs` to now, over what the sensors read. */
  analysis(cycleId: string, startMs: number, targets: readonly TargetStatus[]): void {
    const parent = this.#open.get(cycleId);
    const mean = targets.length > 0 ? targets.reduce((sum, t) => sum + t.score, 0) / targets.length : null;
    if (parent && mean !== null) parent.improvement = this.#lastMean !== null && mean > this.#lastMean;
    if (mean !== null) this.#lastMean = mean;
    if (!parent) return;
    const worst = targets.reduce<TargetStatus | undefined>((w, t) => (!w || t.score < w.score ? t : w), undefined);
    const span = this.#hook.start(SPAN_NAMES.analysis, {
      parent: parent.span,
      startMs,
      attributes: {
        'autoloop.decide.targets': targets.length,
        ...(worst && {
          completion_rate: worst.readings.completionRate,
          active_agents: worst.readings.activeAgents,
          work_queue_size: worst.readings.workQueueSize,
          health_score: worst.score,
          health_state: worst.state,
          'autoloop.decide.target': worst.target,
        }),
      },
    });
    span.end();
  }

  /** The generation span, from `startMs` to now, over the ranked decisions. */
  generation(cycleId: string, startMs: number, decisions: readonly Decision[]): void {
    const parent = this.#open.get(cycleId);
    if (!parent) return;
    const span = this.#hook.start(SPAN_NAMES.generation, {
      parent: parent.span,
      startMs,
      attributes: {
        decision_count: decisions.length,
        highest_priority: decisions[0]?.priority,
        decision_types: [...new Set(decisions.map((d) => d.type))],
      },
    });
    span.end();
  }

  /** Opens an execution span; the returned function ends it with the result. */
  execution(cycleId: string, id: string, d: Decision): (result: 'executed' | 'failed', error?: string) => void {
    const parent = this.#open.get(cycleId);
    if (!parent) return () => {};
    const span = this.#hook.start(SPAN_NAMES.execution, {
      parent: parent.span,
      attributes: {
        decision_id: id,
        decision_type: d.type,
        confidence: d.confidence,
        'autoloop.decide.target': d.target,
      },
    });
    return (result, error) => {
      if (result === 'executed') parent.executed += 1;
      else parent.failed += 1;
      span.set({ execution_result: result });
      if (error !== undefined) span.fail(error);
      span.end();
    };
  }

  /** Ends the cycle's root span (the runtime's `cycle.finished` for this loop). */
  finished(e: EventMap['cycle.finished'], at: number): void {
    const open = this.#open.get(e.cycleId);
    if (!open) return;
    this.#open.delete(e.cycleId);
    open.span.set({
      cycle_duration_ms: Math.round(e.durationMs),
      decisions_executed: open.executed,
      decisions_failed: open.failed,
      system_improvement: open.improvement,
    });
    if (e.outcome.kind === 'failed') open.span.fail(e.outcome.error.message);
    open.span.end(at);
  }

  /** Ends every open span (the recipe stops). */
  close(): void {
    for (const open of this.#open.values()) open.span.end();
    this.#open.clear();
  }
}
