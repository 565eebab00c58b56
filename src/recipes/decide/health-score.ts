/**
 * Seed 001's weighted health score and its four states, as pure functions.
 *
 * ```
 * score = completionRate                      * 0.4
 *       + min(activeAgents / agents, 1)       * 0.3   (agents:    5)
 *       + max(0, 1 - workQueueSize / queue)   * 0.2   (queue:    10)
 *       + min(telemetryVolume / telemetry, 1) * 0.1   (telemetry: 20)
 * ```
 *
 * Weights and normalisers are configurable (defaults above, the seed's); the
 * weights need not sum to 1, the score is divided by their sum so it stays in
 * [0, 1]. States: critical < 0.3 <= degraded < 0.6 <= healthy < 0.9 <= optimal.
 */

/** One sample of the four readings the score is made of (the seed's `metrics`). */
export interface Readings {
  /** Completed / (completed + failed) work, in [0, 1]; 1 when nothing ran yet. */
  readonly completionRate: number;
  /** Workers on the job: the seed's agents; for a loop, its concurrency limit. */
  readonly activeAgents: number;
  /** Work waiting. */
  readonly workQueueSize: number;
  /** How much telemetry arrived (records, spans, telemetry files) in the window. */
  readonly telemetryVolume: number;
}

export interface ScoreWeights {
  readonly completion: number;
  readonly agents: number;
  readonly queue: number;
  readonly telemetry: number;
}

export interface ScoreNormalisers {
  /** Agents at which the agents term is full. */
  readonly agents: number;
  /** Queue size at which the queue term is empty. */
  readonly queue: number;
  /** Telemetry volume at which the telemetry term is full. */
  readonly telemetry: number;
}

export interface StateThresholds {
  readonly critical: number;
  readonly degraded: number;
  readonly healthy: number;
}

export interface ScoreOptions {
  readonly weights: ScoreWeights;
  readonly normalisers: ScoreNormalisers;
  readonly thresholds: StateThresholds;
}

export const SEED_SCORE: ScoreOptions = Object.freeze({
  weights: Object.freeze({ completion: 0.4, agents: 0.3, queue: 0.2, telemetry: 0.1 }),
  normalisers: Object.freeze({ agents: 5, queue: 10, telemetry: 20 }),
  thresholds: Object.freeze({ critical: 0.3, degraded: 0.6, healthy: 0.9 }),
});

export type HealthState = 'critical' | 'degraded' | 'healthy' | 'optimal';

const clamp01 = (x: number): number => Math.min(1, Math.max(0, x));

/** The weighted score in [0, 1], rounded to 4 decimals (so table tests compare exactly). */
export function healthScore(r: Readings, o: ScoreOptions = SEED_SCORE): number {
  const w = o.weights;
  const n = o.normalisers;
  const sum = w.completion + w.agents + w.queue + w.telemetry;
  const raw =
    clamp01(r.completionRate) * w.completion +
    clamp01(r.activeAgents / n.agents) * w.agents +
    clamp01(1 - r.workQueueSize / n.queue) * w.queue +
    clamp01(r.telemetryVolume / n.telemetry) * w.telemetry;
  return Math.round((raw / sum) * 10_000) / 10_000;
}

/** The state a score is in. */
export function healthState(score: number, t: StateThresholds = SEED_SCORE.thresholds): HealthState {
  if (score < t.critical) return 'critical';
  if (score < t.degraded) return 'degraded';
  if (score < t.healthy) return 'healthy';
  return 'optimal';
}
