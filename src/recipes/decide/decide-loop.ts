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
 * is being verified is `held` too (effects are judged one at a time).
 * Windows, pending verifications, held targets and the score history are
 * kept in the store (decide-memory.ts): after a restart the first cycle
 * sets decide's changes in force again and goes on verifying.
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
import type { EventMap } from '../../observability/events.ts';
import { NO_SPANS, type SpanHook } from '../../observability/span-hook.ts';
import type { Dependency } from '../../policies/dependency.ts';
import type { LoopGovernor } from '../../policies/loop-governor.ts';
import type { LoopControl } from '../../runtime/loop-control.ts';
import type { ServiceControl } from '../../runtime/service-control.ts';
import type { Store } from '../../storage/store.ts';
import type { Clock } from '../../time/clock.ts';
import type { RecipeSite } from '../recipe.ts';
import type { SensorProblem } from './coordination-sensor.ts';
import type { DecideConfig } from './decide-config.ts';
import { DecideMemory, type HistoryPoint, NAMESPACE } from './decide-memory.ts';
import { DecideSpans } from './decide-spans.ts';
import { dueVerifications, heldReason, judge, undoable } from './decide-verification.ts';
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

export { NAMESPACE } from './decide-memory.ts';
export { COORDINATION, type TargetStatus } from './sense-targets.ts';

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
  /** The recipe's span hook (decide-spans.ts); none by default. */
  readonly spans?: SpanHook;
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

// Size (about 480 lines, over the ~300 we aim for): the cycle's steps, the audit records and the routes'
// entry points share the loop's memory (decide-memory.ts); sensing is in sense-targets.ts, holds,
// verification and rollback rules in decide-verification.ts, spans in decide-spans.ts. The next split is
// the types and the audit record (DecisionRecord, #record, #journal, recent) into a file of their own.
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
  #spans = new DecideSpans(NO_SPANS, '');
  /** Windows, pending verifications, held targets, anti-flap times, score history: kept in the store. */
  readonly #memory: DecideMemory;
  /** Whether this process set the changes in force again (at its first cycle). */
  #reapplied = false;
  #status: DecideStatus | null = null;
  /** Overrides for the next cycle only (`autoloop decide execute --max 1 --dry-run`). */
  #once: ExecuteOverrides = {};

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
    this.#memory = new DecideMemory(site.name);
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

  /** Each target's score of the recent cycles, oldest first (at most 60 per target; kept in the store). */
  get history(): readonly HistoryPoint[] {
    return this.#memory.history;
  }

  attach(attachment: DecideAttachment): void {
    this.#attached = attachment;
    this.#spans = new DecideSpans(attachment.spans ?? NO_SPANS, this.name);
  }

  detach(): void {
    this.#attached = null;
    this.#spans.close();
  }

  /** The runtime's `cycle.finished` of this loop: ends the cycle's span. */
  cycleFinished(e: EventMap['cycle.finished'], at: number): void {
    this.#spans.finished(e, at);
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
    const found = undoable(id, await this.recent(100_000), this.journal);
    await this.#memory.load(a.store, a.logger);
    const change = await undo(found.result.change, a);
    this.#memory.verifying = this.#memory.verifying.filter((v) => v.record.id !== id);
    this.#memory.changed(change);
    const record: DecisionRecord = {
      ...found,
      id: `${id}:rollback`,
      at: a.clock.now(),
      result: { kind: 'rolled-back', of: id, change, reason: 'by hand' },
      durationMs: 0,
    };
    await this.#journal([record]);
    await this.#memory.save(a.store, a.clock.now());
    return record;
  }

  /**
   * Reads the sensors and proposes decisions now, changing nothing: no
   * journal, no verdicts, no sample kept (`autoloop decide analyze`).
   */
  async analyze(): Promise<{ targets: TargetStatus[]; problems: SensorProblem[]; decisions: Decision[] }> {
    const a = this.#need();
    await this.#memory.load(a.store, a.logger);
    const problems: SensorProblem[] = [];
    const targets = await this.#sense(problems);
    const windows = new Map(
      targets.map((t) => [
        t.target,
        [...(this.#memory.windows.get(t.target) ?? []), sampleOf(t)].slice(-this.config.window),
      ]),
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
    this.#spans.cycle(ctx.cycleId);
    await this.#restore(a);
    const analysisStart = a.clock.now();
    const problems: SensorProblem[] = [];
    const targets = await this.#sense(problems);
    for (const p of problems)
      a.logger.warn({ loop: this.name, file: p.file }, `decide: skipped ${p.file}: ${p.reason}`);
    const samples = new Map<string, Sample>();
    const { windows } = this.#memory;
    for (const t of targets) {
      const sample: Sample = sampleOf(t);
      samples.set(t.target, sample);
      windows.set(t.target, [...(windows.get(t.target) ?? []), sample].slice(-this.config.window));
      a.onScore?.(t.target, t.score);
    }
    this.#memory.scored(
      targets.map((t) => ({ target: t.target, at: t.at, score: t.score, state: t.state })),
      targets.length,
    );
    this.#spans.analysis(ctx.cycleId, analysisStart, targets);
    await this.#verify(ctx.cycleId, samples);
    const generationStart = a.clock.now();
    const current = new Map([...windows].filter(([t]) => samples.has(t)));
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
    this.#spans.generation(ctx.cycleId, generationStart, decisions);
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
    await this.#memory.save(a.store, a.clock.now());
    return pending;
  }

  /** At this process's first cycle: the stored memory read, decide's changes in force set again. */
  async #restore(a: DecideAttachment): Promise<void> {
    if (this.#reapplied) return;
    await this.#memory.load(a.store, a.logger);
    this.#reapplied = true;
    const set = await this.#memory.reapply(a);
    if (set.length > 0) a.logger.info({ loop: this.name }, `decide: set again after a start: ${set.join(', ')}`);
  }

  /** Verifies the executed decisions whose window is over (see the header). */
  async #verify(cycleId: string, samples: ReadonlyMap<string, Sample>): Promise<void> {
    const verify = this.config.verify;
    const a = this.#need();
    const now = a.clock.now();
    if (verify === false) return;
    const due = dueVerifications(this.#memory, now, samples);
    if (due.length === 0) return;
    const deps = {
      memory: this.#memory,
      undo: (c: Change) => undo(c, a),
      now,
      logger: a.logger,
      loop: this.name,
    };
    const records: DecisionRecord[] = [];
    for (const v of due) {
      const sample = samples.get(v.record.target) as Sample;
      const result = await judge(v, sample, verify, deps);
      records.push(this.#record(`${v.record.id}:verify`, cycleId, v.record, sample, result, 0));
    }
    await this.#journal(records);
  }

  #verdict(d: Decision, executing: number): { kind: 'execute' } | Extract<DecisionResult, { reason: string }> {
    const c = { ...this.config, ...this.#once };
    const held = heldReason(this.#memory, d.target, this.#need().clock.now(), c.minInterval);
    if (held !== undefined) return { kind: 'held', reason: held };
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
    const traced = this.#spans.execution(ctx.cycleId, p.id, p.decision);
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
      this.#memory.lastExecuted.set(p.decision.target, a.clock.now());
      this.#memory.changed(change);
      if (this.config.verify !== false && reversible(change)) {
        const record = this.#record(p.id, ctx.cycleId, p.decision, p.sample, result, 0);
        this.#memory.verifying.push({ record, change, dueAt: a.clock.now() + this.config.verify.after });
      }
      a.logger.info(
        { loop: this.name, decision: p.id },
        `decide: executed ${p.decision.type} on ${p.decision.target}: ${JSON.stringify(change)}`,
      );
    } catch (error) {
      result = { kind: 'failed', error: (error as Error).message };
    }
    traced(result.kind === 'failed' ? 'failed' : 'executed', result.kind === 'failed' ? result.error : undefined);
    await this.#journal([this.#record(p.id, ctx.cycleId, p.decision, p.sample, result, a.clock.monotonic() - started)]);
    if (result.kind === 'executed') await this.#memory.save(a.store, a.clock.now());
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
