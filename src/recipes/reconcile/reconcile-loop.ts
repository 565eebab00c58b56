/**
 * One `recipe: reconcile` loop: seed 000's reconcile -> orchestrate ->
 * update inventory -> reconcile again, as observe -> plan -> act.
 *
 * - observe: scan the inventory (HAVE), expand the coverage spec (SHOULD),
 *   classify the gaps, keep the report (store, file, metrics), and open the
 *   cycle's time budget.
 * - plan: the most urgent gaps (at most `maxItems`) as work items, critical
 *   first; within a priority the longest expected first, sources
 *   interleaved by their concurrency so one slow source cannot hold every
 *   pool slot waiting for its own permits.
 * - act: per gap, under the source's concurrency: skip it when the budget is
 *   spent (it stays in the report and is planned again next cycle) or when
 *   the object turned up meanwhile (no key that exists is collected again);
 *   else run the collector, then check the object is there.
 * - after a cycle that acted, the inventory is scanned again and the report
 *   updated at once (`after orchestration`), besides the trigger.
 *
 * The loop's functions close over this object; the recipe's `start` finds
 * it through {@link reconcileLoopOf} (keyed by the loop's `act`) and
 * {@link ReconcileLoop.attach}es the store, bus and clock to it.
 */
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { AutoloopError } from '../../core/errors.ts';
import type { Logger } from '../../core/logger.ts';
import type { CycleContext, ItemContext, LoopDefinition, LoopPolicies, TriggerSpec } from '../../core/loop.ts';
import { skipItem } from '../../core/outcome.ts';
import type { PlannedItem, WorkItem } from '../../core/work-item.ts';
import { PRIORITIES } from '../../core/work-item.ts';
import { SharedWindowLimiter } from '../../policies/shared-window-limiter.ts';
import type { Store } from '../../storage/store.ts';
import type { Clock } from '../../time/clock.ts';
import { formatDuration } from '../../time/duration.ts';
import { classify, type Gap } from './classify.ts';
import type { Collector } from './collector.ts';
import type { CoverageSpec } from './coverage-spec.ts';
import { BudgetExhaustedError, CycleBudgets } from './cycle-budget.ts';
import { CollectionDurations } from './durations.ts';
import { buildReport, type GapReport } from './gap-report.ts';
import type { Inventory, InventorySummary } from './inventory.ts';
import { loadValues } from './load-values.ts';
import { SourceLimits } from './source-limits.ts';
import { NAMESPACE } from './status-lines.ts';

/** Reports kept in a loop's history journal (the panel's "gaps over time"). */
const HISTORY_KEEP = 2_000;

export interface ReconcileLoopOptions {
  readonly name: string;
  readonly description?: string;
  readonly trigger: TriggerSpec;
  readonly inventory: Inventory;
  readonly coverage: CoverageSpec;
  readonly collector: Collector;
  /** A cycle's time budget from the end of its observe; null: none. */
  readonly budgetMs: number | null;
  readonly sourceConcurrency: (source: string) => number;
  /**
   * At most `requests` collections of a source in any window of `perMs`,
   * across every process on the store (a sliding-window log in
   * `store.buckets`, bucket `reconcile:<loop>:<source>`); null: no limit.
   * Default: none for any source.
   */
  readonly sourceRateLimit?: (source: string) => { readonly requests: number; readonly perMs: number } | null;
  /** The source's validator (coverage `validate`), run on each collected object; null or absent: none. */
  readonly validator?: (source: string) => Collector | null;
  /** Work items one cycle plans at most (the most urgent); the rest wait in the report. */
  readonly maxItems: number;
  /** The report is also written here (the seed's gaps.json); null: not written. */
  readonly reportFile: string | null;
  readonly policies: LoopPolicies;
  /** Assumed for a gap whose source has no history yet (estimates). */
  readonly defaultTaskMs: number;
  /** The queue-threshold trigger (the seed's task monitor); null: off. */
  readonly threshold: { readonly minTasks: number; readonly everyMs: number } | null;
  /** The freshness health check fails when the last scan is older than this. */
  readonly maxInventoryAgeMs: number;
}

/** A work item's payload: the gap, and when it was seen (a stale object modified since is done). */
export interface GapPayload {
  readonly gap: Gap;
  readonly seenAt: number;
}

/** What the recipe attaches once the runtime started. */
export interface ReconcileAttachment {
  readonly store: Store;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Called with every new report (metrics). */
  readonly onReport?: (report: GapReport) => void;
  /** Called per finished collection (metrics). */
  readonly onCollected?: (source: string, outcome: 'collected' | 'present' | 'failed' | 'deferred') => void;
}

const loops = new WeakMap<object, ReconcileLoop>();

/** The ReconcileLoop whose `definition.act` is `act`; undefined for any other loop. */
export function reconcileLoopOf(act: object): ReconcileLoop | undefined {
  return loops.get(act);
}

// Size (about 310 lines, over the ~300 we aim for): observe, plan and act of one reconcile loop share its
// last report, the budget and the learnt durations. The next split is the act step (collector runs).
export class ReconcileLoop {
  readonly name: string;
  readonly options: ReconcileLoopOptions;
  readonly definition: LoopDefinition<Gap[], GapPayload>;
  readonly limits: SourceLimits;
  #durations = new CollectionDurations();
  readonly #rateLimiters = new Map<string, SharedWindowLimiter>();
  #attached: ReconcileAttachment | null = null;
  #budgets: CycleBudgets | null = null;
  #report: GapReport | null = null;
  #inventory: InventorySummary | null = null;
  #scanError: string | null = null;
  #running: Promise<GapReport> | null = null;
  readonly #cycles = new Set<string>();

  constructor(options: ReconcileLoopOptions) {
    this.name = options.name;
    this.options = options;
    this.limits = new SourceLimits(options.sourceConcurrency);
    const act = (item: WorkItem<GapPayload>, ctx: ItemContext) => this.#act(item, ctx);
    this.definition = {
      name: options.name,
      description:
        options.description ??
        `reconcile ${options.inventory.description} against ${options.coverage.origin}; collect the gaps by priority`,
      trigger: options.trigger,
      observe: (ctx) => this.#observe(ctx),
      plan: (gaps) => this.plan(gaps),
      act,
      // The plan orders the gaps itself (longest expected first, sources interleaved): the runner keeps that order.
      policies: { order: 'plan', ...options.policies },
    };
    loops.set(act, this);
  }

  /** Gives the loop its store and clock (the recipe's start); loads the last report and durations. */
  async attach(attachment: ReconcileAttachment): Promise<void> {
    this.#attached = attachment;
    try {
      const [report, durations, inventory] = await Promise.all([
        attachment.store.documents.get(NAMESPACE, `${this.name}/report`),
        attachment.store.documents.get(NAMESPACE, `${this.name}/durations`),
        attachment.store.documents.get(NAMESPACE, `${this.name}/inventory`),
      ]);
      this.#report = (report?.value as GapReport | undefined) ?? null;
      this.#inventory = (inventory?.value as InventorySummary | undefined) ?? null;
      this.#durations = CollectionDurations.from(durations?.value);
    } catch (error) {
      attachment.logger.warn(
        { loop: this.name, err: error },
        'reconcile: could not read the last report; starting fresh',
      );
    }
  }

  detach(): void {
    this.#budgets?.closeAll();
    this.#budgets = null;
    this.#attached = null;
  }

  /** The last report (in memory, else the one read from the store at attach). */
  get report(): GapReport | null {
    return this.#report;
  }

  get inventory(): InventorySummary | null {
    return this.#inventory;
  }

  /** Why the last scan failed, or null when it succeeded. */
  get scanError(): string | null {
    return this.#scanError;
  }

  get durations(): CollectionDurations {
    return this.#durations;
  }

  /** A cycle of this loop started (any trigger). */
  cycleStarted(cycleId: string): void {
    this.#cycles.add(cycleId);
  }

  /** The cycle ended: its budget closes. */
  cycleFinished(cycleId: string): void {
    this.#cycles.delete(cycleId);
    this.#budgets?.close(cycleId);
  }

  /** Whether a cycle of this loop runs in this process now. */
  get cycleRunning(): boolean {
    return this.#cycles.size > 0;
  }

  /**
   * Scans the inventory, classifies the gaps and keeps the report (store,
   * history journal, file, metrics). One at a time: a call while one runs
   * gets that one's report.
   */
  reconcile(trigger: string, signal: AbortSignal, clock: Clock): Promise<GapReport> {
    this.#running ??= this.#reconcile(trigger, signal, clock).finally(() => {
      this.#running = null;
    });
    return this.#running;
  }

  async #reconcile(trigger: string, signal: AbortSignal, clock: Clock): Promise<GapReport> {
    const { inventory, coverage } = this.options;
    const started = clock.monotonic();
    let have: Awaited<ReturnType<Inventory['scan']>>;
    try {
      have = await inventory.scan(signal);
      this.#scanError = null;
    } catch (error) {
      this.#scanError = error instanceof Error ? error.message : String(error);
      throw error;
    }
    const summary: InventorySummary = {
      description: inventory.description,
      objects: have.objects,
      bytes: have.bytes,
      scannedAt: clock.now(),
      tookMs: clock.monotonic() - started,
    };
    this.#inventory = summary;
    const now = clock.now();
    const values = await loadValues(coverage, { signal, clock });
    const report = buildReport({
      loop: this.name,
      now,
      trigger,
      classification: classify(coverage, have, now, values),
      inventory: summary,
      durations: this.#durations,
      concurrency: this.options.sourceConcurrency,
      defaultTaskMs: this.options.defaultTaskMs,
    });
    this.#report = report;
    await this.#keep(report, summary);
    return report;
  }

  /** Writes the report where it is read: the store (if attached), the file (if configured); then the metrics. */
  async #keep(report: GapReport, summary: InventorySummary): Promise<void> {
    const a = this.#attached;
    if (a) {
      const now = report.generatedAt;
      const { documents, journals } = a.store;
      const writes: Array<Promise<unknown>> = [
        documents.put(NAMESPACE, `${this.name}/report`, report, { now }),
        documents.put(NAMESPACE, `${this.name}/inventory`, summary, { now }),
        journals.append(`${NAMESPACE}/${this.name}/reports`, [historyEntry(report)], now),
      ];
      if (this.#durations.dirty) {
        writes.push(documents.put(NAMESPACE, `${this.name}/durations`, this.#durations.toJSON(), { now }));
      }
      await Promise.all(writes);
      await journals.trim(`${NAMESPACE}/${this.name}/reports`, { keepLast: HISTORY_KEEP });
      a.onReport?.(report);
    }
    if (this.options.reportFile) {
      // The file is a copy for other tools: failing to write it is worth a warning, not a failed cycle.
      try {
        await writeAtomically(this.options.reportFile, `${JSON.stringify(report, null, 2)}\n`);
      } catch (error) {
        this.#attached?.logger.warn(
          { loop: this.name, err: error },
          `reconcile: cannot write ${this.options.reportFile}`,
        );
      }
    }
  }

  async #observe(ctx: CycleContext): Promise<Gap[]> {
    const report = await this.reconcile('cycle', ctx.signal, ctx.clock);
    // The budget runs from here: the seed's cap is on orchestration, not on the scan before it.
    this.#budgetsOn(ctx.clock)?.of(ctx.cycleId);
    if (report.truncated > 0 && report.tasks.length < this.options.maxItems) {
      this.#attached?.logger.warn(
        { loop: this.name, total: report.total, kept: report.tasks.length },
        'reconcile: more gaps than the report keeps; the rest are planned once the first are collected',
      );
    }
    return report.tasks.map(({ expectedMs: _, ...gap }) => gap);
  }

  /**
   * The cycle's work items: at most `maxItems`, most urgent first; within a
   * priority the longest expected first, sources interleaved (each source
   * takes as many places per round as it may run at once).
   */
  plan(gaps: readonly Gap[], seenAt = this.#report?.generatedAt ?? 0): PlannedItem<GapPayload>[] {
    const byPriority = new Map<string, Map<string, Gap[]>>();
    for (const gap of gaps) {
      const sources = byPriority.get(gap.priority) ?? new Map<string, Gap[]>();
      byPriority.set(gap.priority, sources);
      const list = sources.get(gap.source) ?? [];
      sources.set(gap.source, list);
      list.push(gap);
    }
    const ordered: Gap[] = [];
    const priorities = [...byPriority.keys()].sort(
      (a, b) => PRIORITIES[a as keyof typeof PRIORITIES] - PRIORITIES[b as keyof typeof PRIORITIES],
    );
    for (const priority of priorities) {
      const sources = [...(byPriority.get(priority) as Map<string, Gap[]>)];
      for (const [source, list] of sources) {
        const expected = (g: Gap) => this.#durations.expected(source, g.key) ?? 0;
        list.sort((a, b) => expected(b) - expected(a)); // stable: equal ones keep their urgency order
      }
      const cursors = sources.map(() => 0);
      let left = true;
      while (left && ordered.length < this.options.maxItems) {
        left = false;
        sources.forEach(([source, list], i) => {
          const take = Math.max(1, this.options.sourceConcurrency(source));
          for (let n = 0; n < take && (cursors[i] as number) < list.length; n++) {
            ordered.push(list[(cursors[i] as number)++] as Gap);
          }
          if ((cursors[i] as number) < list.length) left = true;
        });
      }
      if (ordered.length >= this.options.maxItems) break;
    }
    return ordered.slice(0, this.options.maxItems).map((gap) => ({
      key: gap.key,
      priority: gap.priority,
      payload: { gap, seenAt },
      // One queued item per gap key: a crashed run's row is adopted, never doubled by the next cycle's plan.
      idempotencyKey: `reconcile:${this.name}:${gap.key}`,
    }));
  }

  async #act(item: WorkItem<GapPayload>, ctx: ItemContext): Promise<unknown> {
    const { gap, seenAt } = item.payload;
    const budget = this.#budgetsOn(ctx.clock)?.of(ctx.cycleId);
    if (budget?.spent) {
      this.#attached?.onCollected?.(gap.source, 'deferred');
      return skipItem(budget.skipReason());
    }
    const signal = budget ? AbortSignal.any([ctx.signal, budget.signal]) : ctx.signal;
    let release: () => void;
    try {
      release = await this.limits.acquire(gap.source, signal);
    } catch (error) {
      if (budget?.spent) {
        this.#attached?.onCollected?.(gap.source, 'deferred');
        return skipItem(budget.skipReason());
      }
      throw error;
    }
    let started = ctx.clock.monotonic();
    try {
      const { inventory } = this.options;
      const present = await inventory.stat(gap.key, signal);
      const minSize = this.#minSize(gap.source);
      const good = present && present.size >= minSize && (gap.reason !== 'stale' || present.modifiedAt >= seenAt);
      // An object its validator rejects (an earlier attempt wrote it) is collected again, not skipped as present.
      if (good && (await this.#rejection(gap, signal, ctx.attempt)) === null) {
        this.#attached?.onCollected?.(gap.source, 'present');
        return skipItem(`${gap.key} is already present (${present.size} bytes): not collected again`);
      }
      // The source's rate limit counts collector runs only (not the check above); its wait is not the collection's time.
      try {
        await this.#rateLimiter(gap.source)?.take(signal);
      } catch (error) {
        if (!budget?.spent) throw error;
        this.#attached?.onCollected?.(gap.source, 'deferred');
        return skipItem(budget.skipReason());
      }
      started = ctx.clock.monotonic();
      const output = await this.options.collector({
        gap,
        path: inventory.locate(gap.key),
        signal,
        attempt: ctx.attempt,
      });
      const tookMs = ctx.clock.monotonic() - started;
      const after = await inventory.stat(gap.key, signal);
      if (!after || after.size < minSize) {
        const state = after ? `${after.size} bytes, below the minimum of ${minSize}` : 'still missing';
        throw new AutoloopError(
          `collect ${gap.key}: the collector succeeded but the object is ${state} at ${inventory.locate(gap.key)}; it must write the object its key names`,
        );
      }
      const rejected = await this.#rejection(gap, signal, ctx.attempt);
      if (rejected !== null) {
        throw new AutoloopError(
          `collect ${gap.key}: the object at ${inventory.locate(gap.key)} failed the validator of ${gap.source}: ${rejected}`,
        );
      }
      this.#durations.record(gap.source, gap.key, tookMs);
      this.#attached?.onCollected?.(gap.source, 'collected');
      return {
        collected: true,
        source: gap.source,
        key: gap.key,
        reason: gap.reason,
        bytes: after.size,
        tookMs,
        output,
      };
    } catch (error) {
      this.#attached?.onCollected?.(gap.source, 'failed');
      if (budget?.spent && !ctx.signal.aborted) {
        const ran = formatDuration(ctx.clock.monotonic() - started);
        throw new BudgetExhaustedError(
          `collect ${gap.key}: aborted after ${ran}: the cycle's budget of ${formatDuration(budget.budgetMs)} ran out; the gap stays for the next cycle`,
          { cause: error },
        );
      }
      throw error;
    } finally {
      release();
    }
  }

  #budgetsOn(clock: Clock): CycleBudgets | null {
    if (this.options.budgetMs === null) return null;
    this.#budgets ??= new CycleBudgets(clock, this.options.budgetMs);
    return this.#budgets;
  }

  /** Why the source's validator rejects the object of `gap`, or null when it accepts it (or there is none). */
  async #rejection(gap: Gap, signal: AbortSignal, attempt: number): Promise<string | null> {
    const validator = this.options.validator?.(gap.source);
    if (!validator) return null;
    try {
      await validator({ gap, path: this.options.inventory.locate(gap.key), signal, attempt });
      return null;
    } catch (error) {
      if (signal.aborted) throw error;
      return error instanceof Error ? error.message : String(error);
    }
  }

  /** The source's shared rate limiter (made on first use, on the attached store), or null without a limit. */
  #rateLimiter(source: string): SharedWindowLimiter | null {
    const rate = this.options.sourceRateLimit?.(source);
    const attached = this.#attached;
    if (!rate || !attached) return null;
    let limiter = this.#rateLimiters.get(source);
    if (!limiter) {
      const options = { name: `reconcile:${this.name}:${source}`, limit: rate.requests, perMs: rate.perMs };
      limiter = new SharedWindowLimiter(options, attached.store.buckets, attached.clock);
      this.#rateLimiters.set(source, limiter);
    }
    return limiter;
  }

  #minSize(source: string): number {
    return this.options.coverage.sources.find((s) => s.name === source)?.minSize ?? 0;
  }
}

/** What the history journal keeps of a report. */
export interface HistoryEntry {
  readonly at: number;
  readonly total: number;
  readonly byPriority: GapReport['byPriority'];
  readonly ratio: number;
  readonly sources: Record<string, number>;
}

function historyEntry(report: GapReport): HistoryEntry {
  return {
    at: report.generatedAt,
    total: report.total,
    byPriority: report.byPriority,
    ratio: report.coverage.ratio,
    sources: Object.fromEntries(report.coverage.sources.map((s) => [s.source, s.ratio])),
  };
}

/** Writes `text` to `path` through a temporary file and a rename, so readers never see half a report. */
async function writeAtomically(path: string, text: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  await writeFile(tmp, text);
  await rename(tmp, path);
}
