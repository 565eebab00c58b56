/**
 * Seed 001's four decision rules, and the confidence of a decision.
 *
 * A rule looks at one target's window of samples (oldest first; the last is
 * now) and proposes at most one decision:
 *
 * | type                   | when (last sample)                      | parameters                                     | priority |
 * |------------------------|-----------------------------------------|------------------------------------------------|----------|
 * | `scale_up`             | score < degraded (0.6)                  | add: 3 when critical, else 1 (x scaleFactor), capped at maxAgents | 0 critical, else 1 |
 * | `scale_down`           | score >= healthy (0.9), agents > normaliser | remove: agents - agents normaliser (8 -> 3)     | 2 |
 * | `coordination_improve` | queue > queue normaliser (10)           | process: min(queue, queue normaliser) (15 -> 10) | 1 |
 * | `optimize`             | degraded <= score < healthy             | term: the weakest of the four score terms      | 3 |
 *
 * Priorities are the runtime's (0 critical ... 3 low; lower runs first).
 *
 * Confidence, in [0, 1], rounded to 2 decimals, from the evidence only:
 *
 * ```
 * confidence = 0.5 * agreement + 0.3 * margin + 0.2 * support
 *   agreement = samples of the window where the rule's condition holds / samples
 *   margin    = min(1, distance of the last sample past the threshold / scale)
 *               (scale: 0.3 for scale_up, 0.1 for scale_down, the queue
 *               normaliser for coordination_improve, 0.15 for optimize:
 *               the distance to the nearer edge of its band)
 *   support   = min(1, samples / window)   (window: samples for full support, default 5)
 * ```
 *
 * So one sample of health 0.2 gives 0.5 + 0.3 + 0.04 = 0.84; five agreeing
 * samples 1.0; a condition that held in 2 of 5 samples at most 0.7. The
 * seed's bands read the same way: >= 0.8 clear, 0.6..0.8 proceed with
 * caution, below 0.6 (the default `minConfidence`) not executed.
 */
import type { HealthState, Readings, ScoreOptions } from './health-score.ts';
import { healthScore, healthState, SEED_SCORE } from './health-score.ts';

/** The seed's four, then the types user rules add (one per effector). */
/** Every decision type: the seed's four, then what rules and effectors add. */
export const DECISION_TYPES = [
  'scale_up',
  'scale_down',
  'coordination_improve',
  'optimize',
  'pause',
  'resume',
  'run_now',
  'webhook',
  'command',
  'rate_limit',
  'scale_service',
] as const;

export type DecisionType = (typeof DECISION_TYPES)[number];

/** One sample of a target: its readings and the score they make. */
export interface Sample {
  readonly at: number;
  readonly readings: Readings;
  readonly score: number;
  /** Further named numbers user rules read: `p95Ms` of a loop, the Prometheus queries by name. */
  readonly values?: Readonly<Record<string, number>>;
}

/** A proposed decision, before it is ranked, executed or audited. */
export interface Decision {
  readonly type: DecisionType;
  /** What it acts on: a loop's name, or `coordination` for the seed's directory. */
  readonly target: string;
  readonly parameters: Readonly<Record<string, number | string>>;
  readonly priority: number;
  readonly confidence: number;
  /** In words, citing the readings. */
  readonly rationale: string;
  /** The user rule that proposed it (absent for the seed's four). */
  readonly rule?: string;
}

export interface RuleOptions extends ScoreOptions {
  /** Agents a scale-up never goes past (seed: `..._MAX_AGENTS`). */
  readonly maxAgents: number;
  /** Multiplies a scale-up's step (seed: `..._SCALE_FACTOR`). */
  readonly scaleFactor: number;
  /** Samples behind a decision for full support. */
  readonly window: number;
}

export const SEED_RULES: RuleOptions = Object.freeze({ ...SEED_SCORE, maxAgents: 10, scaleFactor: 1, window: 5 });

/** A rule: proposes at most one decision for one target's window. */
export type Rule = (target: string, window: readonly Sample[], o: RuleOptions) => Decision | undefined;

export const round2 = (x: number): number => Math.round(x * 100) / 100;

/** The documented formula (see the header). */
export function confidence(agreement: number, margin: number, samples: number, window: number): number {
  const support = Math.min(1, samples / Math.max(1, window));
  return round2(0.5 * agreement + 0.3 * Math.min(1, Math.max(0, margin)) + 0.2 * support);
}

function agreement(window: readonly Sample[], holds: (s: Sample) => boolean): { share: number; held: number } {
  const held = window.filter(holds).length;
  return { share: window.length === 0 ? 0 : held / window.length, held };
}

export function cite(s: Sample, o: ScoreOptions): string {
  const r = s.readings;
  return (
    `health ${s.score} (${healthState(s.score, o.thresholds)}): completion rate ${round2(r.completionRate)}, ` +
    `${r.activeAgents} agent(s), queue ${r.workQueueSize}, telemetry ${r.telemetryVolume}`
  );
}

const last = (w: readonly Sample[]): Sample | undefined => w[w.length - 1];

export const scaleUp: Rule = (target, window, o) => {
  const now = last(window);
  const bar = o.thresholds.degraded;
  if (!now || now.score >= bar) return undefined;
  const state: HealthState = healthState(now.score, o.thresholds);
  const from = now.readings.activeAgents;
  const to = Math.min(o.maxAgents, from + (state === 'critical' ? 3 : 1) * o.scaleFactor);
  if (to <= from) return undefined;
  const { share, held } = agreement(window, (s) => s.score < bar);
  return {
    type: 'scale_up',
    target,
    parameters: { add: to - from, from, to },
    priority: state === 'critical' ? 0 : 1,
    confidence: confidence(share, (bar - now.score) / 0.3, window.length, o.window),
    rationale: `${cite(now, o)}; below ${bar} in ${held}/${window.length} samples -> add ${to - from} agent(s) (${from} -> ${to}, max ${o.maxAgents})`,
  };
};

export const scaleDown: Rule = (target, window, o) => {
  const now = last(window);
  const bar = o.thresholds.healthy;
  const enough = o.normalisers.agents;
  if (!now || now.score < bar || now.readings.activeAgents <= enough) return undefined;
  const from = now.readings.activeAgents;
  const { share, held } = agreement(window, (s) => s.score >= bar && s.readings.activeAgents > enough);
  return {
    type: 'scale_down',
    target,
    parameters: { remove: from - enough, from, to: enough },
    priority: 2,
    confidence: confidence(share, (now.score - bar) / 0.1, window.length, o.window),
    rationale: `${cite(now, o)}; at or above ${bar} with more than ${enough} agents in ${held}/${window.length} samples -> remove ${from - enough} (${from} -> ${enough})`,
  };
};

export const coordinationImprove: Rule = (target, window, o) => {
  const now = last(window);
  const bar = o.normalisers.queue;
  if (!now || now.readings.workQueueSize <= bar) return undefined;
  const queue = now.readings.workQueueSize;
  const { share, held } = agreement(window, (s) => s.readings.workQueueSize > bar);
  const process = Math.min(queue, bar);
  return {
    type: 'coordination_improve',
    target,
    parameters: { process },
    priority: 1,
    confidence: confidence(share, (queue - bar) / bar, window.length, o.window),
    rationale: `${cite(now, o)}; queue above ${bar} in ${held}/${window.length} samples -> process ${process} items`,
  };
};

export const optimize: Rule = (target, window, o) => {
  const now = last(window);
  const { degraded, healthy } = o.thresholds;
  const inBand = (s: Sample) => s.score >= degraded && s.score < healthy;
  if (!now || !inBand(now)) return undefined;
  const term = weakestTerm(now.readings, o);
  const { share, held } = agreement(window, inBand);
  return {
    type: 'optimize',
    target,
    parameters: { term },
    priority: 3,
    confidence: confidence(share, Math.min(now.score - degraded, healthy - now.score) / 0.15, window.length, o.window),
    rationale: `${cite(now, o)}; between ${degraded} and ${healthy} in ${held}/${window.length} samples -> improve ${term}, the weakest term`,
  };
};

/** The term that loses the most weighted score. */
export function weakestTerm(r: Readings, o: ScoreOptions): 'completion' | 'agents' | 'queue' | 'telemetry' {
  const full = (x: Readings) => healthScore(x, o);
  const n = o.normalisers;
  const gains = {
    completion: full({ ...r, completionRate: 1 }),
    agents: full({ ...r, activeAgents: Math.max(r.activeAgents, n.agents) }),
    queue: full({ ...r, workQueueSize: 0 }),
    telemetry: full({ ...r, telemetryVolume: Math.max(r.telemetryVolume, n.telemetry) }),
  };
  return (Object.keys(gains) as Array<keyof typeof gains>).reduce((a, b) => (gains[b] > gains[a] ? b : a));
}

export const DEFAULT_RULES: readonly Rule[] = [scaleUp, scaleDown, coordinationImprove, optimize];

/**
 * Every rule over every target's window, deduplicated (one decision per
 * target and type: the most confident) and ranked: priority, then
 * confidence (higher first), then target and type (stable).
 */
export function generateDecisions(
  windows: ReadonlyMap<string, readonly Sample[]>,
  o: RuleOptions = SEED_RULES,
  rules: readonly Rule[] = DEFAULT_RULES,
): Decision[] {
  const byKey = new Map<string, Decision>();
  for (const [target, window] of windows) {
    for (const rule of rules) {
      const d = rule(target, window, o);
      if (!d) continue;
      const key = `${d.target}\u0000${d.type}`;
      const seen = byKey.get(key);
      if (!seen || d.confidence > seen.confidence) byKey.set(key, d);
    }
  }
  return [...byKey.values()].sort(
    (a, b) =>
      a.priority - b.priority ||
      b.confidence - a.confidence ||
      a.target.localeCompare(b.target) ||
      a.type.localeCompare(b.type),
  );
}
