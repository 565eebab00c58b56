/**
 * The TypeScript a decide loop's config names, imported once when the
 * recipe starts: sensors (`sources.sensors.<name>.module`), a scorer
 * (`score.module`) and rules (`rules[i].module`).
 *
 * ```ts
 * // sensors.ts: named numbers, values `backlog.depth` and `backlog.oldestS` of every target's sample
 * export const read = async ({ signal }: SensorInput) => ({ depth: await depth(signal), oldestS: 12 });
 * // score.ts: replaces the weighted formula; a number in [0, 1]
 * export const score = ({ readings, values }: ScorerInput) => (values['backlog.depth'] > 100 ? 0.2 : readings.completionRate);
 * // rules.ts: zero, one or several decisions for one target's window (synchronous)
 * export const slowFetch = ({ target, window }: RuleInput) => window.at(-1)!.score < 0.5
 *   ? { type: 'scale_up', parameters: { to: 4 }, confidence: 0.8, rationale: 'health below 0.5' } : undefined;
 * ```
 *
 * Each export is checked when it loads (file, export, a function): a
 * {@link ConfigError} naming the path (`loops.autopilot.score.module`).
 * What a scorer or a rule returns is checked on every call: a scorer's
 * number outside [0, 1], or a rule's decision with a bad field, is a problem
 * named `score:<target>` / `rule:<name>` of the cycle (the target is not
 * scored / the decision is dropped), naming the module and the field.
 */

import { z } from 'zod';
import type { ConfigIssue } from '../../config/config-error.ts';
import { ConfigError } from '../../config/config-error.ts';
import type { ModuleRef } from '../../config/file-schema.ts';
import { importFunction } from '../../config/module-ref.ts';
import { validate } from '../../config/zod-issues.ts';
import type { SensorProblem } from './coordination-sensor.ts';
import type { DecideConfig } from './decide-config.ts';
import {
  DECISION_TYPES,
  type Decision,
  type DecisionType,
  type Rule,
  type RuleOptions,
  type Sample,
} from './decision-rules.ts';
import type { Readings } from './health-score.ts';

/** What a TS sensor is called with. */
export interface SensorInput {
  /** The decide loop's targets. */
  readonly targets: readonly string[];
  /** Aborts at the sensor's `timeout` and when the cycle is cancelled. */
  readonly signal: AbortSignal;
}

export type SensorFn = (input: SensorInput) => unknown;

/** What a TS scorer is called with, per target. */
export interface ScorerInput {
  readonly target: string;
  readonly readings: Readings;
  /** The sample's named values: `p95Ms`, the Prometheus queries, `<sensor>.<key>`. */
  readonly values: Readonly<Record<string, number>>;
}

/** A scorer as the sensing calls it: the score, or throws with the reason naming the module. */
export type Scorer = (input: ScorerInput) => Promise<number>;

/** What a TS rule is called with, per target. */
export interface RuleInput {
  readonly target: string;
  /** The target's samples, oldest first; the last is now. */
  readonly window: readonly Sample[];
  readonly options: RuleOptions;
}

export interface UserModules {
  readonly sensors: ReadonlyMap<string, SensorFn>;
  readonly scorer: Scorer | undefined;
  readonly rules: readonly Rule[];
}

/** The parameters an effector reads, by decision type (effectors.ts). */
const NEEDS: Partial<Record<DecisionType, Record<string, 'number' | 'string'>>> = {
  scale_up: { to: 'number' },
  scale_down: { to: 'number' },
  rate_limit: { dependency: 'string', requests: 'number', perMs: 'number' },
  scale_service: { service: 'string' },
  webhook: { url: 'string' },
  command: { command: 'string' },
};

const label = (ref: ModuleRef) => `${ref.module}#${ref.exportName}`;

/**
 * Imports every module `config` names, relative to `dir`. Rejects with one
 * ConfigError listing every module that did not load; `report` receives the
 * problems of rules at run time.
 */
export async function loadUserModules(
  config: DecideConfig,
  site: { readonly name: string; readonly dir: string },
  report: (problem: SensorProblem) => void,
): Promise<UserModules> {
  const issues: ConfigIssue[] = [];
  const file = `decide ${site.name}`;
  const at = (path: string) => ({ file, path: `loops.${site.name}.${path}` });
  const load = async (ref: ModuleRef, path: string) => {
    const r = await importFunction(ref, site.dir, at(path));
    if ('issue' in r) {
      issues.push(r.issue);
      return undefined;
    }
    return r.fn as (...args: unknown[]) => unknown;
  };
  const sensors = new Map<string, SensorFn>();
  for (const [name, spec] of Object.entries(config.sources.sensors ?? {})) {
    if (!('module' in spec)) continue;
    const fn = await load(spec.module, `sources.sensors.${name}.module`);
    if (fn) sensors.set(name, fn);
  }
  const scoreRef = config.score?.module;
  const scoreFn = scoreRef ? await load(scoreRef, 'score.module') : undefined;
  const rules: Rule[] = [];
  for (const [i, spec] of config.rules.entries()) {
    if (!('module' in spec)) continue;
    const fn = await load(spec.module, `rules[${i}].module`);
    if (fn) rules.push(moduleRule(spec.name ?? spec.module.exportName, label(spec.module), fn, report));
  }
  if (issues.length > 0) throw new ConfigError(issues);
  return { sensors, scorer: scoreRef && scoreFn ? scorer(label(scoreRef), scoreFn) : undefined, rules };
}

function scorer(where: string, fn: (input: ScorerInput) => unknown): Scorer {
  return async (input) => {
    const got = await fn(input);
    if (typeof got !== 'number' || !(got >= 0 && got <= 1)) {
      throw new Error(`scorer ${where} returned ${show(got)} for ${input.target}; expected a number in [0, 1]`);
    }
    return Math.round(got * 10_000) / 10_000;
  };
}

/** A {@link Rule} over a user's function; a bad decision is reported (naming the rule, module and field) and dropped. */
function moduleRule(
  name: string,
  where: string,
  fn: (input: RuleInput) => unknown,
  report: (problem: SensorProblem) => void,
): Rule {
  return (target, window, options) => {
    try {
      const got = fn({ target, window, options });
      if (got === undefined || got === null) return undefined;
      if (got instanceof Promise) throw new Error('returned a promise; a rule is synchronous');
      const list = Array.isArray(got) ? got : [got];
      // A Rule proposes one decision: the most confident the function returned for this target.
      const decisions = list.map((d, i) => checkDecision(d, target, name, Array.isArray(got) ? `[${i}].` : ''));
      return decisions.sort((a, b) => b.confidence - a.confidence)[0];
    } catch (error) {
      report({ file: `rule:${name}`, reason: `${where}: ${(error as Error).message}` });
      return undefined;
    }
  };
}

/** A rule's decision as a user's function may return it (target and priority optional). */
const decisionSchema = z
  .object({
    type: z.enum(DECISION_TYPES),
    target: z.string().optional(),
    parameters: z
      .record(
        z.string(),
        z.union([z.string(), z.number().refine(Number.isFinite)], { error: 'a number or a string' }),
        {
          error: 'an object of numbers and strings',
        },
      )
      .default({}),
    priority: z.int({ error: 'an integer 0..3' }).min(0).max(3).default(2),
    confidence: z.number({ error: 'a number in [0, 1]' }).min(0).max(1, { error: 'a number in [0, 1]' }),
    rationale: z
      .string({ error: 'a sentence citing the readings' })
      .trim()
      .min(1, { error: 'a sentence citing the readings' }),
  })
  .superRefine((d, ctx) => {
    for (const [key, kind] of Object.entries(NEEDS[d.type] ?? {})) {
      if (typeof d.parameters[key] !== kind) {
        ctx.addIssue({ code: 'custom', path: ['parameters', key], message: `a ${kind} (${d.type} needs it)` });
      }
    }
  });

/** A user's decision checked field by field; throws naming the first bad field. */
export function checkDecision(d: unknown, target: string, rule: string, prefix = ''): Decision {
  const checked = validate(decisionSchema, d, rule);
  if (!checked.ok) {
    const issue = checked.issues[0] as ConfigIssue;
    throw new Error(`${prefix}${issue.path || 'decision'}: expected ${issue.expected}, got ${issue.got}`);
  }
  const o = checked.value;
  if ((o.target ?? target) !== target) {
    throw new Error(
      `${prefix}target: expected the target it was asked about ("${target}") or none, got ${show(o.target)}`,
    );
  }
  return {
    type: o.type,
    target,
    parameters: o.parameters,
    priority: o.priority,
    confidence: Math.round(o.confidence * 100) / 100,
    rationale: o.rationale,
    rule,
  };
}

function show(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (typeof v === 'string') return JSON.stringify(v);
  try {
    return (JSON.stringify(v) ?? String(v)).slice(0, 80);
  } catch {
    return String(v);
  }
}
