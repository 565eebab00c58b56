/**
 * Rules a user writes in YAML (`rules:` of a decide loop): conditions over
 * one target's readings, all of which must hold, and the decision they
 * make, with its target and amount:
 *
 * ```yaml
 * rules:
 *   - name: slow-fetch
 *     target: fetch
 *     when:
 *       - { value: p95Ms, above: 2000 }          # a reading of the target
 *       - { value: fetch_failures, below: 0.1 }  # a Prometheus query by name
 *     do: { type: scale_up, amount: 2 }
 *     priority: 1
 * ```
 *
 * Values: the four readings (`completionRate`, `activeAgents`,
 * `workQueueSize`, `telemetryVolume`), `score`, a loop's `p95Ms`, every
 * query of `sources.prometheus`, and `<sensor>.<key>` of `sources.sensors`.
 * `do` may also set a dependency's rate limit (`{ type: rate_limit,
 * dependency, requests, per }`) or scale a supervised service
 * (`{ type: scale_service, service, instances | by }`). A value missing from a sample (no latency
 * yet, a query that failed) makes the condition false for that sample.
 *
 * Confidence is the seed rules' formula (decision-rules.ts): agreement = the
 * share of the window's samples where every condition held; margin = the
 * smallest distance of the last sample past a bar, over |bar| (1 for a bar
 * of 0); support = samples / window.
 */
import type { DecisionType, Rule, Sample } from './decision-rules.ts';
import { cite, confidence, round2 } from './decision-rules.ts';

export const READING_VALUES = [
  'completionRate',
  'activeAgents',
  'workQueueSize',
  'telemetryVolume',
  'score',
  'p95Ms',
] as const;

export type Comparison = 'above' | 'below' | 'atLeast' | 'atMost';

export interface Condition {
  readonly value: string;
  readonly above?: number | undefined;
  readonly below?: number | undefined;
  readonly atLeast?: number | undefined;
  readonly atMost?: number | undefined;
}

export type RuleAction =
  | { readonly type: 'scale_up' | 'scale_down'; readonly amount: number }
  | { readonly type: 'pause' | 'resume' | 'run_now' }
  | { readonly type: 'webhook'; readonly url: string }
  | { readonly type: 'command'; readonly run: string }
  | { readonly type: 'rate_limit'; readonly dependency: string; readonly requests: number; readonly per: number }
  | {
      readonly type: 'scale_service';
      readonly service: string;
      readonly instances?: number | undefined;
      readonly by?: number | undefined;
    };

export interface UserRuleSpec {
  readonly name: string;
  readonly target: string;
  readonly when: readonly Condition[];
  readonly do: RuleAction;
  readonly priority: number;
}

const WORDS: Record<Comparison, string> = { above: '>', below: '<', atLeast: '>=', atMost: '<=' };

/** A sample's value by name, undefined when it has none. */
export function sampleValue(s: Sample, name: string): number | undefined {
  if (name === 'score') return s.score;
  if (name in s.readings) return s.readings[name as keyof Sample['readings']];
  return s.values?.[name];
}

/** The comparisons of a condition (one or more of above/below/atLeast/atMost). */
function comparisons(c: Condition): Array<[Comparison, number]> {
  return (['above', 'below', 'atLeast', 'atMost'] as const).flatMap((k) =>
    c[k] === undefined ? [] : [[k, c[k]] as [Comparison, number]],
  );
}

/** How far `v` is past the bar, over |bar|; negative when the comparison fails (strict ones fail at 0). */
function distance(kind: Comparison, v: number, bar: number): number {
  const d = (kind === 'above' || kind === 'atLeast' ? v - bar : bar - v) / (Math.abs(bar) || 1);
  if ((kind === 'above' || kind === 'below') && d === 0) return -1;
  return d;
}

/** The smallest distance past a bar over all conditions; undefined when one fails or a value is missing. */
function margin(s: Sample, when: readonly Condition[]): number | undefined {
  let least = Number.POSITIVE_INFINITY;
  for (const c of when) {
    const v = sampleValue(s, c.value);
    if (v === undefined) return undefined;
    for (const [kind, bar] of comparisons(c)) {
      const d = distance(kind, v, bar);
      if (d < 0) return undefined;
      least = Math.min(least, d);
    }
  }
  return least === Number.POSITIVE_INFINITY ? 0 : least;
}

function describe(s: Sample, when: readonly Condition[]): string {
  return when
    .map((c) => {
      const v = sampleValue(s, c.value);
      const bars = comparisons(c)
        .map(([k, bar]) => `${WORDS[k]} ${bar}`)
        .join(' and ');
      return `${c.value} ${v === undefined ? '(none)' : round2(v)} ${bars}`;
    })
    .join(', ');
}

/** The parameters of the action on the last sample; undefined when it would change nothing. */
function parametersOf(
  a: RuleAction,
  now: Sample,
  maxAgents: number,
): { parameters: Record<string, number | string>; what: string } | undefined {
  const from = now.readings.activeAgents;
  switch (a.type) {
    case 'scale_up': {
      const to = Math.min(maxAgents, from + a.amount);
      return to > from
        ? { parameters: { add: to - from, from, to }, what: `add ${to - from} (${from} -> ${to})` }
        : undefined;
    }
    case 'scale_down': {
      const to = Math.max(1, from - a.amount);
      return to < from
        ? { parameters: { remove: from - to, from, to }, what: `remove ${from - to} (${from} -> ${to})` }
        : undefined;
    }
    case 'webhook':
      return { parameters: { url: a.url }, what: `call ${a.url}` };
    case 'command':
      return { parameters: { command: a.run }, what: `run \`${a.run}\`` };
    case 'rate_limit':
      return {
        parameters: { dependency: a.dependency, requests: a.requests, perMs: a.per },
        what: `set ${a.dependency}'s rate limit to ${a.requests} per ${a.per} ms`,
      };
    case 'scale_service':
      return a.by === undefined
        ? {
            parameters: { service: a.service, instances: a.instances ?? 1 },
            what: `run ${a.instances} instance(s) of ${a.service}`,
          }
        : { parameters: { service: a.service, by: a.by }, what: `scale ${a.service} by ${a.by > 0 ? '+' : ''}${a.by}` };
    default:
      return { parameters: {}, what: a.type.replace('_', ' ') };
  }
}

/** A {@link Rule} from a user's spec: it proposes only for its own target. */
export function userRule(spec: UserRuleSpec): Rule {
  return (target, window, o) => {
    const now = window[window.length - 1];
    if (target !== spec.target || !now) return undefined;
    const m = margin(now, spec.when);
    if (m === undefined) return undefined;
    const made = parametersOf(spec.do, now, o.maxAgents);
    if (!made) return undefined;
    const held = window.filter((s) => margin(s, spec.when) !== undefined).length;
    const type: DecisionType = spec.do.type;
    return {
      type,
      target,
      parameters: made.parameters,
      priority: spec.priority,
      confidence: confidence(held / window.length, m, window.length, o.window),
      rationale: `rule "${spec.name}": ${describe(now, spec.when)} in ${held}/${window.length} samples; ${cite(now, o)} -> ${made.what}`,
      rule: spec.name,
    };
  };
}
