/**
 * A decide loop's sensing: the Prometheus queries and the loop's own
 * sensors (once, shared by every target), each target loop's own
 * telemetry, and the seed's coordination directory, each scored (the
 * weighted formula, or the config's TS scorer). `sources.readings` takes
 * any of the four readings from a named value instead. What a sensor
 * cannot read is a `problem`; the others go on.
 */
import type { ResolvedLoop } from '../../core/loop.ts';
import type { LoopGovernor } from '../../policies/loop-governor.ts';
import type { LoopControl } from '../../runtime/loop-control.ts';
import type { Store } from '../../storage/store.ts';
import type { Clock } from '../../time/clock.ts';
import { readCoordination, type SensorProblem } from './coordination-sensor.ts';
import { readSensors } from './custom-sensors.ts';
import type { DecideConfig } from './decide-config.ts';
import type { RuleOptions } from './decision-rules.ts';
import type { HealthState, Readings } from './health-score.ts';
import { healthScore, healthState } from './health-score.ts';
import { readPrometheus } from './prometheus-sensor.ts';
import { readLoop } from './runtime-sensor.ts';
import type { UserModules } from './user-modules.ts';

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
  /** The config's directory (command sensors run there). */
  readonly dir: string;
  /** The TS sensors and scorer, once loaded. */
  readonly modules: UserModules;
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
  const shared = await sharedValues(o, problems);
  const scored = async (target: string, sensed: Readings, values: Record<string, number>, p95Ms?: number | null) => {
    try {
      const readings = mapReadings(sensed, values, o.config.sources.readings, target, problems);
      const score = o.modules.scorer
        ? await o.modules.scorer({ target, readings, values })
        : healthScore(readings, o.rules);
      const state = healthState(score, o.rules.thresholds);
      out.push({ target, at: now, readings, score, state, ...(p95Ms !== undefined && { p95Ms }), values });
    } catch (error) {
      problems.push({ file: `score:${target}`, reason: (error as Error).message });
    }
  };
  if (o.config.sources.loops) {
    for (const target of o.config.targets) {
      let r: Awaited<ReturnType<typeof readLoop>>;
      try {
        r = await readLoop(target, {
          store: a.store,
          governor: (l) => a.governor(l),
          concurrency: (l) => (a.control.names().includes(l) ? a.control.concurrency(l).limit : undefined),
          definition: (l) => a.definitions.find((d) => d.name === l),
        });
      } catch (error) {
        problems.push({ file: `loop:${target}`, reason: (error as Error).message });
        continue;
      }
      await scored(target, r.readings, r.p95Ms === null ? shared : { ...shared, p95Ms: r.p95Ms }, r.p95Ms);
    }
  }
  if (o.coordinationDir) {
    try {
      const c = await readCoordination(o.coordinationDir);
      problems.push(...c.problems);
      await scored(COORDINATION, c.readings, shared);
    } catch (error) {
      problems.push({ file: o.coordinationDir, reason: (error as Error).message });
    }
  }
  return out;
}

/** The values every target's sample carries: the Prometheus queries and the sensors, read at once. */
async function sharedValues(o: SenseSources, problems: SensorProblem[]): Promise<Record<string, number>> {
  const { prometheus, sensors } = o.config.sources;
  const [p, s] = await Promise.all([
    prometheus
      ? readPrometheus(
          { url: prometheus.url, timeoutMs: prometheus.timeout, queries: prometheus.queries },
          o.from.clock,
        )
      : undefined,
    sensors
      ? readSensors(sensors, { clock: o.from.clock, dir: o.dir, targets: o.config.targets, modules: o.modules.sensors })
      : undefined,
  ]);
  problems.push(...(p?.problems ?? []), ...(s?.problems ?? []));
  return { ...p?.values, ...s?.values };
}

/** `sources.readings`: a reading taken from a named value; a value missing this cycle keeps the sensed reading (a problem). */
function mapReadings(
  sensed: Readings,
  values: Readonly<Record<string, number>>,
  mapping: DecideConfig['sources']['readings'],
  target: string,
  problems: SensorProblem[],
): Readings {
  if (!mapping) return sensed;
  const out: Record<keyof Readings, number> = { ...sensed };
  for (const [reading, name] of Object.entries(mapping) as Array<[keyof Readings, string]>) {
    const v = values[name];
    if (v === undefined)
      problems.push({
        file: `reading:${target}.${reading}`,
        reason: `no value "${name}" this cycle; the sensed ${reading} is used`,
      });
    else out[reading] = v;
  }
  return out;
}
