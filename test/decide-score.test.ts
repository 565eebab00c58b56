/**
 * Seed 001's health score, states and default rules, table-driven against
 * the seed's own examples ("Health 0.2 -> add agents", "Health 0.95, 8
 * agents -> remove 3", "Queue size 15 -> process 10 items"), and the
 * documented confidence formula.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  confidence,
  coordinationImprove,
  generateDecisions,
  optimize,
  type Sample,
  SEED_RULES,
  scaleDown,
  scaleUp,
} from '../src/recipes/decide/decision-rules.ts';
import { healthScore, healthState, type Readings, SEED_SCORE } from '../src/recipes/decide/health-score.ts';

const r = (completionRate: number, activeAgents: number, workQueueSize: number, telemetryVolume: number): Readings => ({
  completionRate,
  activeAgents,
  workQueueSize,
  telemetryVolume,
});

/** A window of `n` samples of the same readings, or of a forced score. */
function window(readings: Readings, n = 1, score = healthScore(readings)): Sample[] {
  return Array.from({ length: n }, (_, i) => ({ at: i, readings, score }));
}

describe('decide: health score (seed weights 0.4/0.3/0.2/0.1, normalisers 5/10/20)', () => {
  const cases: Array<[string, Readings, number]> = [
    ['everything perfect', r(1, 5, 0, 20), 1],
    ['nothing at all', r(0, 0, 10, 0), 0],
    ['completion only', r(1, 0, 10, 0), 0.4],
    ['agents only, capped at 5', r(0, 8, 10, 0), 0.3],
    ['empty queue only', r(0, 0, 0, 0), 0.2],
    ['telemetry only, capped at 20', r(0, 0, 10, 40), 0.1],
    ['queue beyond 10 is no negative', r(0, 0, 25, 0), 0],
    ['a mixed case: 0.5*0.4 + 0.4*0.3 + 0.5*0.2 + 0.25*0.1', r(0.5, 2, 5, 5), 0.445],
  ];
  for (const [name, readings, expected] of cases) {
    it(name, () => assert.equal(healthScore(readings), expected));
  }

  it('takes weights and normalisers (the seed\'s "custom health scoring": agents/3, queue/5, telemetry/10)', () => {
    const o = {
      ...SEED_SCORE,
      weights: { completion: 0.5, agents: 0.2, queue: 0.2, telemetry: 0.1 },
      normalisers: { agents: 3, queue: 5, telemetry: 10 },
    };
    assert.equal(healthScore(r(1, 3, 0, 10), o), 1);
    assert.equal(healthScore(r(0, 3, 5, 0), o), 0.2);
  });
});

describe('decide: states (critical < 0.3, degraded < 0.6, healthy < 0.9, optimal)', () => {
  const cases: Array<[number, string]> = [
    [0, 'critical'],
    [0.29, 'critical'],
    [0.3, 'degraded'],
    [0.59, 'degraded'],
    [0.6, 'healthy'],
    [0.89, 'healthy'],
    [0.9, 'optimal'],
    [1, 'optimal'],
  ];
  for (const [score, state] of cases) it(`${score} is ${state}`, () => assert.equal(healthState(score), state));
});

describe("decide: the seed's examples", () => {
  it('Health 0.2 -> add 3 agents (critical: scale_up, priority 0)', () => {
    const w = window(r(0.2, 1, 12, 2), 1, 0.2);
    const d = scaleUp('work', w, SEED_RULES);
    assert.ok(d);
    assert.equal(d.type, 'scale_up');
    assert.deepEqual(d.parameters, { add: 3, from: 1, to: 4 });
    assert.equal(d.priority, 0);
    assert.equal(d.confidence, 0.84);
    assert.match(d.rationale, /health 0\.2 \(critical\): completion rate 0\.2, 1 agent\(s\), queue 12, telemetry 2/);
    assert.match(d.rationale, /add 3 agent\(s\) \(1 -> 4, max 10\)/);
  });

  it('Health 0.45 (degraded) -> add 1 agent x scaleFactor, never past maxAgents', () => {
    const w = window(r(0.5, 2, 5, 5), 5, 0.45);
    assert.deepEqual(scaleUp('work', w, SEED_RULES)?.parameters, { add: 1, from: 2, to: 3 });
    assert.deepEqual(scaleUp('work', w, { ...SEED_RULES, scaleFactor: 2 })?.parameters, { add: 2, from: 2, to: 4 });
    assert.deepEqual(scaleUp('work', window(r(0.5, 9, 5, 5), 1, 0.2), SEED_RULES)?.parameters, {
      add: 1,
      from: 9,
      to: 10,
    });
    assert.equal(scaleUp('work', window(r(0.5, 10, 5, 5), 1, 0.2), SEED_RULES), undefined);
  });

  it('Health 0.95, 8 agents -> remove 3 (scale_down to the agents normaliser, 5)', () => {
    const w = window(r(1, 8, 0, 15), 1, 0.95);
    const d = scaleDown('work', w, SEED_RULES);
    assert.ok(d);
    assert.deepEqual(d.parameters, { remove: 3, from: 8, to: 5 });
    assert.equal(d.priority, 2);
    assert.equal(d.confidence, 0.69); // 0.5 + 0.3 * 0.5 + 0.2 * 1/5
    assert.equal(scaleDown('work', window(r(1, 5, 0, 15), 1, 0.95), SEED_RULES), undefined, 'not over-provisioned');
  });

  it('Queue size 15 -> process 10 items (coordination_improve, priority 1)', () => {
    const d = coordinationImprove('work', window(r(0.9, 4, 15, 10), 5), SEED_RULES);
    assert.ok(d);
    assert.deepEqual(d.parameters, { process: 10 });
    assert.equal(d.priority, 1);
    assert.equal(d.confidence, 0.85); // 0.5 + 0.3 * 0.5 + 0.2
    assert.match(d.rationale, /queue 15/);
    assert.equal(coordinationImprove('work', window(r(0.9, 4, 10, 10)), SEED_RULES), undefined);
  });

  it('Health 0.6-0.9 -> optimize the weakest term', () => {
    const d = optimize('work', window(r(1, 1, 0, 20), 5), SEED_RULES); // 0.4 + 0.06 + 0.2 + 0.1 = 0.76
    assert.ok(d);
    assert.deepEqual(d.parameters, { term: 'agents' });
    assert.equal(d.priority, 3);
  });
});

describe('decide: confidence = 0.5 agreement + 0.3 margin + 0.2 support', () => {
  const cases: Array<[string, [number, number, number, number], number]> = [
    ['full evidence', [1, 1, 5, 5], 1],
    ['one sample, far past', [1, 1, 1, 5], 0.84],
    ['half the window agrees, just past', [0.5, 0, 4, 5], 0.41],
    ['margin capped at 1', [1, 7, 5, 5], 1],
    ['no samples', [0, 0, 0, 5], 0],
  ];
  for (const [name, [a, m, n, w], expected] of cases) it(name, () => assert.equal(confidence(a, m, n, w), expected));

  it('a condition that held in 2 of 5 samples scores below the default bar', () => {
    const w: Sample[] = [0.8, 0.7, 0.8, 0.5, 0.45].map((score, at) => ({ at, readings: r(0.5, 2, 0, 5), score }));
    const d = scaleUp('work', w, SEED_RULES);
    assert.ok(d);
    assert.equal(d.confidence, 0.55); // 0.5 * 2/5 + 0.3 * (0.15 / 0.3) + 0.2 * 5/5
    assert.ok(d.confidence < 0.6);
  });
});

describe('decide: generateDecisions ranks and deduplicates', () => {
  it('orders by priority, then confidence, one decision per target and type', () => {
    const windows = new Map<string, Sample[]>([
      ['a', window(r(0.1, 1, 15, 0), 5)], // critical: scale_up (0) and coordination_improve (1)
      ['b', window(r(1, 8, 0, 20), 5)], // optimal, over-provisioned: scale_down (2)
      ['c', window(r(1, 1, 0, 20), 1)], // healthy: optimize (3)
    ]);
    const ds = generateDecisions(windows);
    assert.deepEqual(
      ds.map((d) => `${d.target}:${d.type}`),
      ['a:scale_up', 'a:coordination_improve', 'b:scale_down', 'c:optimize'],
    );
    const twice = generateDecisions(windows, SEED_RULES, [scaleUp, scaleUp]);
    assert.equal(twice.length, 1);
  });
});
