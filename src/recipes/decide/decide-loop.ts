/**
 * One `recipe: decide` loop: seed 001's cycle as observe -> plan -> act.
 *
 * - observe: read the sensors (sense-targets.ts: Prometheus queries, each
 *   target loop's telemetry, the coordination directory), score each
 *   target, keep its window of the last `window` samples, generate the
 *   decisions (the seed's rules and the user's, ranked, deduplicated), and
 *   give each a verdict: `held` (being verified, rolled back recently, or
 *   within `minInterval` of the last executed decision on its target),
 *   `below-confidence`, `no-effector`, `over-max` (past `max` this cycle),
 *   `dry-run` or `execute`. Every decision not executed is journaled now.
 * - plan: the `execute` ones, as work items, in rank order.
 * - act: apply the effector (effectors.ts, through the runtime's
 *   LoopControl), journal the result (`executed` with the change, or
 *   `failed` with the error).
 *
 * Verification (`verify: { after, margin }`): an executed decision is
 * re-scored at the first cycle `after` ms later. When its target's score
 * fell by more than `margin` since the decision, the change is undone and
 * journaled `rolled-back` (with both scores); else `verified`. A target
 * rolled back is `held` (no decision executed on it) for another `after`,
 * so the same rule cannot flap it straight back; a target whose decision
 * is being verified is `held` too (effects are judged one at a time). Pending verifications live
 * in memory: a restart forgets them.
 *
 * Journal `decide:<loop>` (store.journals): one entry per decision with its
 * readings, score, state, confidence, rationale, result and duration. A
 * sensor that fails, or a malformed coordination file, is a `problem` of the
 * cycle's status; the cycle goes on with what it read.
 */
import { resolve } from 'node:path';
import type { Logger } from '../../core/logger.ts';
import type { CycleContext, LoopDefinition, ResolvedLoop } from '../../core/loop.ts';
import type { WorkItem } from '../../core/work-item.ts';
import type { Dependency } from '../../policies/dependency.ts';
import type { LoopGovernor } from '../../policies/loop-governor.ts';
import type { LoopControl } from '../../runtime/loop-control.ts';
import type { ServiceControl } from '../../runtime/service-control.ts';
import type { Store } from '../../storage/store.ts';
import type { Clock } from '../../time/clock.ts';
import type { RecipeSite } from '../recipe.ts';
import type { SensorProblem } from './coordination-sensor.ts';
import type { DecideConfig } from './decide-config.ts';
import {
  DEFAULT_RULES,
  type Decision,
  generateDecisions,
  type Rule,
  type RuleOptions,
  type Sample,
  SEED_RULES,
} from './decision-rules.ts';
import { apply, type Change, hasEffector, reversible, undo } from './effectors.ts';
import { type HealthState, healthState, type Readings } from './health-score.ts';
import { COORDINATION, senseTargets, type TargetStatus } from './sense-targets.ts';
import { loadUserModules, type UserModules } from './user-modules.ts';
import { userRule } from './user-rules.ts';

export { COORDINATION, type TargetStatus } from './sense-targets.ts';

/** The store namespace of the recipe's documents (`<loop>/latest`: the last {@link DecideStatus}). */
export const NAMESPACE = 'decide';

/** Score points kept per target for the panel. */
const HISTORY = 60;

/** What `decide execute` may change for one cycle. */
export interface ExecuteOverrides {
  readonly max?: number;
  readonly minConfidence?: number;
  readonly dryRun?: boolean;
}

export type Verdict = 'execute' | 'dry-run' | 'below-confidence' | 'no-effector' | 'over-max' | 'held';

export type DecisionResult =
  | { readonly kind: Exclude<Verdict, 'execute'>; readonly reason: string }
  | { readonly kind: 'executed'; readonly change: Change }
  | { readonly kind: 'failed'; readonly error: string }
  | { readonly kind: 'rolled-back'; readonly of: string; readonly change: Change; readonly reason: string }
  | { readonly kind: 'verified'; readonly of: string; readonly before: number; readonly after: number };

/** One journal entry: a decision with the evidence it was made on and what became of it. */
export interface DecisionRecord extends Decision {
  readonly id: string;
  readonly cycleId: string;
  readonly at: number;
  readonly readings: Readings;
  readonly score: number;
  readonly state: HealthState;
  readonly result: DecisionResult;
  readonly durationMs: number;
}

/** The last cycle's analysis (`GET /decide`, `status`). */
export interface DecideStatus {
  readonly at: number;
  readonly cycleId: string;
  readonly targets: readonly TargetStatus[];
  readonly problems: readonly SensorProblem[];
  readonly decisions: number;
  readonly executing: number;
}

export interface DecideAttachment {
  readonly store: Store;
  readonly clock: Clock;
  readonly logger: Logger;
  governor(loop: string): LoopGovernor | undefined;
  readonly definitions: readonly ResolvedLoop[];
  /** The runtime's loops, named dependencies and supervised services: the effectors act on them. */
  readonly control: LoopControl;
  readonly dependencies: ReadonlyMap<string, Dependency>;
  readonly services: ServiceControl;
  /** Called with every target's score (metrics). */
  readonly onScore?: (target: string, score: number) => void;
  /** Called with every journaled decision (metrics). */
  readonly onDecision?: (record: DecisionRecord) => void;
}

interface Pending {
  readonly decision: Decision;
  readonly sample: Sample;
  readonly id: string;
}

const loops = new WeakMap<object, DecideLoop>();

const sampleOf = (t: TargetStatus): Sample => ({
  at: t.at,
  readings: t.readings,
  score: t.score,
  ...(t.values && { values: t.values }),
});

/**
 * The DecideLoop a resolved loop was built from, found by its `act` or its
 * `observe` (a simulation wraps `act` in its model, and keeps `observe`).
 */
export function decideLoopOf(loop: { readonly act?: unknown; readonly observe?: unknown }): DecideLoop | undefined {
  for (const fn of [loop.act, loop.observe]) {
    const found = typeof fn === 'function' ? loops.get(fn) : undefined;
    if (found) return found;
  }
  return undefined;
}

// Size (about 480 lines, over the ~300 we aim for): decide, execute, audit, anti-flap and verify share
// the loop's window of samples, pending verifications and held targets (sensing is in sense-targets.ts).
// The next split is verification and rollback, into a class of its own holding #verifying and #held.
export class DecideLoop {
  readonly name: string;
  readonly config: DecideConfig;
  readonly rules: RuleOptions;
  readonly coordinationDir: string | undefined;
  readonly definition: LoopDefinition<Pending[], Pending>;
  readonly #baseRules: readonly Rule[];
  readonly #dir: string;
  /** The TS sensors, scorer and rules (user-modules.ts), imported once; problems their rules report, until the cycle takes them. */
  #modules: Promise<UserModules> | null = null;
  #loaded: UserModules | null = null;
  readonly #ruleProblems: SensorProblem[] = [];
  #attached: DecideAttachment | null = null;
  readonly #windows = new Map<string, Sample[]>();
  /** Executed decisions waiting for their verification, and targets held after a rollback (until). */
  #verifying: Array<{ record: DecisionRecord; change: Change; dueAt: number }> = [];
  readonly #held = new Map<string, number>();
  /** Anti-flap: when a decision last executed on each target. */
  readonly #lastExecuted = new Map<string, number>();
  #status: DecideStatus | null = null;
  /** Overrides for the next cycle only (`autoloop decide execute --max 1 --dry-run`). */
  #once: ExecuteOverrides = {};
  /** Each target's score per cycle, oldest first, at most {@link HISTORY} points per target (in memory: the panel's chart). */
  readonly #history: Array<{ target: string; at: number; score: number; state: HealthState }> = [];

  constructor(config: DecideConfig, site: Pick<RecipeSite, 'name' | 'dir'>) {
    this.name = site.name;
    this.config = config;
    const s = config.score;
    this.rules = {
      weights: { ...SEED_RULES.weights, ...s?.weights },
      normalisers: { ...SEED_RULES.normalisers, ...s?.normalisers },
      thresholds: { ...SEED_RULES.thresholds, ...s?.thresholds },
      maxAgents: config.agents.max,
      scaleFactor: config.scaleFactor,
      window: config.window,
    };
    this.#baseRules = [
      ...(config.defaultRules ? DEFAULT_RULES : []),
      ...config.rules.flatMap((r, i) => ('when' in r ? [userRule({ ...r, name: r.name ?? `rule ${i + 1}` })] : [])),
    ];
    this.#dir = site.dir;
    this.coordinationDir = config.sources.coordination ? resolve(site.dir, config.sources.coordination) : undefined;
    const act = (item: WorkItem<Pending>, ctx: CycleContext) => this.#act(item.payload, ctx);
    const observe = (ctx: CycleContext) => this.#observe(ctx);
    this.definition = {
      name: site.name,
      description:
        config.description ??
        `decide over ${[...config.targets, ...(this.coordinationDir ? [COORDINATION] : [])].join(', ')}`,
      trigger: { interval: config.interval ?? 30_000 },
      observe,
      plan: (pending) =>
        pending.map((p) => ({
          key: p.id,
          priority: p.decision.priority,
          payload: p,
        })),
      act,
      policies: { concurrency: 1, retry: { attempts: 1 } },
    };
    loops.set(act, this);
    loops.set(observe, this);
  }

  /** The seed's rules (unless `defaultRules: false`), the YAML rules, then the TS rules once loaded. */
  get ruleSet(): readonly Rule[] {
    return this.#loaded ? [...this.#baseRules, ...this.#loaded.rules] : this.#baseRules;
  }

  /**
   * Imports the TS sensors, scorer and rules the config names (once; the
   * recipe's start awaits it, so a bad module stops the runtime's start).
   * Rejects with a ConfigError naming each path that did not load.
   */
  load(): Promise<UserModules> {
    this.#modules ??= loadUserModules(this.config, { name: this.name, dir: this.#dir }, (p) =>
      this.#ruleProblems.push(p),
    ).then((m) => {
      this.#loaded = m;
      return m;
    });
    return this.#modules;
  }

  /** The journal of this loop's decisions. */
  get journal(): string {
    return `decide:${this.name}`;
  }

  get status(): DecideStatus | null {
    return this.#status;
  }

  /** Each target's score of the recent cycles, oldest first (at most 60 per target; kept in memory). */
  get history(): ReadonlyArray<{ target: string; at: number; score: number; state: HealthState }> {
    return this.#history;
  }

  attach(attachment: DecideAttachment): void {
    this.#attached = attachment;
  }

  detach(): void {
    this.#attached = null;
  }

  #need(): DecideAttachment {
    if (!this.#attached) throw new Error(`decide loop "${this.name}" ran before the recipe started`);
    return this.#attached;
  }

  /**
   * Runs one cycle now through `run` (the runtime's manual tick) with
   * `overrides` in force for that cycle only, and resolves with its id.
   */
  async executeOnce(overrides: ExecuteOverrides, run: (loop: string) => Promise<{ id: string }>): Promise<string> {
    this.#once = overrides;
    try {
      return (await run(this.name)).id;
    } finally {
      this.#once = {};
    }
  }

  /** The latest `limit` decisions, newest first. */
  async recent(limit = 20): Promise<DecisionRecord[]> {
    const { store } = this.#need();
    const all = await store.journals.read(this.journal, { limit: 100_000 });
    return all
      .slice(-limit)
      .reverse()
      .map((e) => e.value as DecisionRecord);
  }

  /**
   * Undoes an executed decision by id (its previous concurrency or pause
   * state back); journals the rollback. Throws for an id that was not
   * executed, was rolled back already, or whose change has no inverse.
   */
  async rollback(id: string): Promise<DecisionRecord> {
    const a = this.#need();
    const all = await this.recent(100_000);
    const found = all.find((r) => r.id === id);
    if (found?.result.kind !== 'executed') {
      const known = all.filter((r) => r.result.kind === 'executed').map((r) => r.id);
      throw new Error(
        `decide: no executed decision "${id}" in ${this.journal}; executed: ${known.slice(0, 10).join(', ') || '(none)'}`,
      );
    }
    if (all.some((r) => r.result.kind === 'rolled-back' && r.result.of === id)) {
      throw new Error(`decide: ${id} was rolled back already`);
    }
    if (!reversible(found.result.change)) {
      throw new Error(
        `decide: ${id} (${found.type}) made a ${found.result.change.kind} change, which cannot be undone`,
      );
    }
    const change = await undo(found.result.change, a);
    this.#verifying = this.#verifying.filter((v) => v.record.id !== id);
    const record: DecisionRecord = {
      ...found,
      id: `${id}:rollback`,
      at: a.clock.now(),
      result: { kind: 'rolled-back', of: id, change, reason: 'by hand' },
      durationMs: 0,
    };
    await this.#journal([record]);
    return record;
  }

  /**
   * Reads the sensors and proposes decisions now, changing nothing: no
   * journal, no verdicts, no sample kept (`autoloop decide analyze`).
   */
  async analyze(): Promise<{ targets: TargetStatus[]; problems: SensorProblem[]; decisions: Decision[] }> {
    const problems: SensorProblem[] = [];
    const targets = await this.#sense(problems);
    const windows = new Map(
      targets.map((t) => [t.target, [...(this.#windows.get(t.target) ?? []), sampleOf(t)].slice(-this.config.window)]),
    );
    const decisions = generateDecisions(windows, this.rules, this.ruleSet);
    problems.push(...this.#ruleProblems.splice(0));
    return { targets, problems, decisions };
  }

  async #sense(problems: SensorProblem[]): Promise<TargetStatus[]> {
    const modules = await this.load();
    return senseTargets(
      {
        config: this.config,
        rules: this.rules,
        coordinationDir: this.coordinationDir,
        dir: this.#dir,
        modules,
        from: this.#need(),
      },
      problems,
    );
  }

  async #observe(ctx: CycleContext): Promise<Pending[]> {
    const a = this.#need();
    const started = a.clock.monotonic();
    const problems: SensorProblem[] = [];
    const targets = await this.#sense(problems);
    for (const p of problems)
      a.logger.warn({ loop: this.name, file: p.file }, `decide: skipped ${p.file}: ${p.reason}`);
    const samples = new Map<string, Sample>();
    for (const t of targets) {
      const sample: Sample = sampleOf(t);
      samples.set(t.target, sample);
      const w = [...(this.#windows.get(t.target) ?? []), sample].slice(-this.config.window);
      this.#windows.set(t.target, w);
      a.onScore?.(t.target, t.score);
      this.#history.push({ target: t.target, at: t.at, score: t.score, state: t.state });
    }
    const keep = HISTORY * Math.max(1, targets.length);
    if (this.#history.length > keep) this.#history.splice(0, this.#history.length - keep);
    await this.#verify(ctx.cycleId, samples);
    const current = new Map([...this.#windows].filter(([t]) => samples.has(t)));
    const decisions = generateDecisions(current, this.rules, this.ruleSet);
    for (const p of this.#ruleProblems.splice(0)) {
      problems.push(p);
      a.logger.warn({ loop: this.name, file: p.file }, `decide: dropped a decision of ${p.file}: ${p.reason}`);
    }
    const pending: Pending[] = [];
    const skipped: DecisionRecord[] = [];
    decisions.forEach((decision, i) => {
      const id = `${ctx.cycleId}:${i + 1}`;
      const sample = samples.get(decision.target) as Sample;
      const verdict = this.#verdict(decision, pending.length);
      if (verdict.kind === 'execute') pending.push({ decision, sample, id });
      else skipped.push(this.#record(id, ctx.cycleId, decision, sample, verdict, a.clock.monotonic() - started));
    });
    await this.#journal(skipped);
    this.#status = {
      at: a.clock.now(),
      cycleId: ctx.cycleId,
      targets,
      problems,
      decisions: decisions.length,
      executing: pending.length,
    };
    await a.store.documents.put(NAMESPACE, `${this.name}/latest`, this.#status, { now: a.clock.now() });
    return pending;
  }

  /** Verifies the executed decisions whose window is over (see the header). */
  async #verify(cycleId: string, samples: ReadonlyMap<string, Sample>): Promise<void> {
    const verify = this.config.verify;
    const a = this.#need();
    const now = a.clock.now();
    if (verify === false) return;
    const due = this.#verifying.filter((v) => v.dueAt <= now && samples.has(v.record.target));
    if (due.length === 0) return;
    this.#verifying = this.#verifying.filter((v) => !due.includes(v));
    const records: DecisionRecord[] = [];
    for (const { record, change } of due) {
      const sample = samples.get(record.target) as Sample;
      const before = record.score;
      const after = sample.score;
      let result: DecisionResult;
      if (before - after > verify.margin) {
        const undone = await undo(change, a);
        this.#held.set(record.target, now + verify.after);
        result = {
          kind: 'rolled-back',
          of: record.id,
          change: undone,
          reason: `health ${before} -> ${after} within ${verify.after} ms: worse by more than ${verify.margin}`,
        };
        a.logger.warn({ loop: this.name, decision: record.id }, `decide: rolled back ${record.id}: ${result.reason}`);
      } else {
        result = { kind: 'verified', of: record.id, before, after };
      }
      records.push(this.#record(`${record.id}:verify`, cycleId, record, sample, result, 0));
    }
    await this.#journal(records);
  }

  #verdict(d: Decision, executing: number): { kind: 'execute' } | Extract<DecisionResult, { reason: string }> {
    const c = { ...this.config, ...this.#once };
    const heldUntil = this.#held.get(d.target);
    const verifying = this.#verifying.find((v) => v.record.target === d.target);
    if (verifying)
      return {
        kind: 'held',
        reason: `${d.target}: ${verifying.record.id} is being verified until ${new Date(verifying.dueAt).toISOString()}`,
      };
    if (heldUntil !== undefined && heldUntil > this.#need().clock.now())
      return { kind: 'held', reason: `${d.target} was rolled back; held until ${new Date(heldUntil).toISOString()}` };
    const last = this.#lastExecuted.get(d.target);
    if (last !== undefined && this.#need().clock.now() - last < c.minInterval)
      return {
        kind: 'held',
        reason: `${d.target}: a decision executed at ${new Date(last).toISOString()}; minInterval ${c.minInterval} ms`,
      };
    if (d.confidence < c.minConfidence)
      return { kind: 'below-confidence', reason: `confidence ${d.confidence} < minConfidence ${c.minConfidence}` };
    if (!hasEffector(d, this.#need()))
      return { kind: 'no-effector', reason: `no effector for ${d.type} on ${d.target}; recorded only` };
    if (executing >= c.max) return { kind: 'over-max', reason: `max ${c.max} decisions per cycle already taken` };
    if (c.dryRun) return { kind: 'dry-run', reason: 'dryRun: would execute' };
    return { kind: 'execute' };
  }

  async #act(p: Pending, ctx: CycleContext): Promise<DecisionResult> {
    const a = this.#need();
    const started = a.clock.monotonic();
    let result: DecisionResult;
    try {
      const change = await apply(p.decision, {
        control: a.control,
        dependencies: a.dependencies,
        services: a.services,
        clock: a.clock,
        bounds: this.config.agents,
        timeoutMs: this.config.effectorTimeout,
        cwd: this.#dir,
        signal: ctx.signal,
      });
      result = { kind: 'executed', change };
      this.#lastExecuted.set(p.decision.target, a.clock.now());
      if (this.config.verify !== false && reversible(change)) {
        const record = this.#record(p.id, ctx.cycleId, p.decision, p.sample, result, 0);
        this.#verifying.push({ record, change, dueAt: a.clock.now() + this.config.verify.after });
      }
      a.logger.info(
        { loop: this.name, decision: p.id },
        `decide: executed ${p.decision.type} on ${p.decision.target}: ${JSON.stringify(change)}`,
      );
    } catch (error) {
      result = { kind: 'failed', error: (error as Error).message };
    }
    await this.#journal([this.#record(p.id, ctx.cycleId, p.decision, p.sample, result, a.clock.monotonic() - started)]);
    if (result.kind === 'failed')
      throw new Error(`decide: ${p.decision.type} ${p.decision.target} failed: ${result.error}`);
    return result;
  }

  #record(
    id: string,
    cycleId: string,
    d: Decision,
    s: Sample,
    result: DecisionResult,
    durationMs: number,
  ): DecisionRecord {
    const at = this.#need().clock.now();
    const { type, target, parameters, priority, confidence, rationale } = d;
    return {
      ...(d.rule !== undefined && { rule: d.rule }),
      id,
      cycleId,
      at,
      type,
      target,
      parameters,
      priority,
      confidence,
      rationale,
      readings: s.readings,
      score: s.score,
      state: healthState(s.score, this.rules.thresholds),
      result,
      durationMs,
    };
  }

  async #journal(records: readonly DecisionRecord[]): Promise<void> {
    if (records.length === 0) return;
    const a = this.#need();
    await a.store.journals.append(this.journal, records, a.clock.now());
    await a.store.journals.trim(this.journal, { keepLast: this.config.keep });
    for (const r of records) a.onDecision?.(r);
  }
}
