/**
 * A decide loop's sensing: the Prometheus queries (once, shared by every
 * target), each target loop's own telemetry, and the seed's coordination
 * directory, each scored. What a sensor cannot read is a `problem`; the
 * others go on.
 */
import type { ResolvedLoop } from '../../core/loop.ts';
import type { LoopGovernor } from '../../policies/loop-governor.ts';
import type { LoopControl } from '../../runtime/loop-control.ts';
import type { Store } from '../../storage/store.ts';
import type { Clock } from '../../time/clock.ts';
import { readCoordination, type SensorProblem } from './coordination-sensor.ts';
import type { DecideConfig } from './decide-config.ts';
import type { RuleOptions } from './decision-rules.ts';
import type { HealthState, Readings } from './health-score.ts';
import { healthScore, healthState } from './health-score.ts';
import { readPrometheus } from './prometheus-sensor.ts';
import { readLoop } from './runtime-sensor.ts';

/** The target name of the seed's coordination directory. */
export const COORDINATION = 'coordination';

export interface TargetStatus {
  readonly target: string;
  readonly at: number;
  readonly readings: Readings;
  readonly score: number;
  readonly state: HealthState;
  readonly p95Ms?: number | null;
  /** The Prometheus queries' numbers (the same for every target). */
  readonly values?: Readonly<Record<string, number>>;
}

/** What sensing reads from. */
export interface SenseSources {
  readonly config: DecideConfig;
  readonly rules: RuleOptions;
  readonly coordinationDir: string | undefined;
  readonly from: {
    readonly store: Store;
    readonly clock: Clock;
    readonly control: LoopControl;
    readonly definitions: readonly ResolvedLoop[];
    governor(loop: string): LoopGovernor | undefined;
  };
}

/** Every target's status now, in order: the loops of `targets`, then `coordination`. */
export async function senseTargets(o: SenseSources, problems: SensorProblem[]): Promise<TargetStatus[]> {
  const a = o.from;
  const now = a.clock.now();
  const out: TargetStatus[] = [];
  const prometheus = o.config.sources.prometheus;
  let shared: Record<string, number> = {};
  if (prometheus) {
    const p = await readPrometheus(
      { url: prometheus.url, timeoutMs: prometheus.timeout, queries: prometheus.queries },
      a.clock,
    );
    problems.push(...p.problems);
    shared = p.values;
  }
  if (o.config.sources.loops) {
    for (const target of o.config.targets) {
      try {
        const r = await readLoop(target, {
          store: a.store,
          governor: (l) => a.governor(l),
          concurrency: (l) => (a.control.names().includes(l) ? a.control.concurrency(l).limit : undefined),
          definition: (l) => a.definitions.find((d) => d.name === l),
        });
        const score = healthScore(r.readings, o.rules);
        out.push({
          target,
          at: now,
          readings: r.readings,
          score,
          state: healthState(score, o.rules.thresholds),
          p95Ms: r.p95Ms,
          values: r.p95Ms === null ? shared : { ...shared, p95Ms: r.p95Ms },
        });
      } catch (error) {
        problems.push({ file: `loop:${target}`, reason: (error as Error).message });
      }
    }
  }
  if (o.coordinationDir) {
    try {
      const c = await readCoordination(o.coordinationDir);
      problems.push(...c.problems);
      const score = healthScore(c.readings, o.rules);
      out.push({
        target: COORDINATION,
        at: now,
        readings: c.readings,
        score,
        state: healthState(score, o.rules.thresholds),
        values: shared,
      });
    } catch (error) {
      problems.push({ file: o.coordinationDir, reason: (error as Error).message });
    }
  }
  return out;
}
