/**
 * The recipe's metrics on the runtime's registry: the seed's
 * `autonomous_health_score` per decide loop and target, and decisions by
 * type and result (executed, failed, rolled-back, dry-run, below-confidence,
 * no-effector, over-max).
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { DecisionRecord } from './decide-loop.ts';

export class DecideMetrics {
  readonly score: Gauge<'loop' | 'target'>;
  readonly decisions: Counter<'loop' | 'type' | 'result'>;
  readonly #registry: Registry;

  constructor(registry: Registry) {
    this.#registry = registry;
    this.score = new Gauge({
      name: 'autonomous_health_score',
      help: "Weighted health score (0..1) of a decide target, at its last cycle (the original decision engine's formula)",
      labelNames: ['loop', 'target'],
      registers: [registry],
    });
    this.decisions = new Counter({
      name: 'autonomous_decisions_total',
      help: 'Decisions of a decide loop, by type and result',
      labelNames: ['loop', 'type', 'result'],
      registers: [registry],
    });
  }

  decision(loop: string, r: DecisionRecord): void {
    this.decisions.inc({ loop, type: r.type, result: r.result.kind });
  }

  dispose(): void {
    this.#registry.removeSingleMetric('autonomous_health_score');
    this.#registry.removeSingleMetric('autonomous_decisions_total');
  }
}
