/**
 * A per-symbol pipeline: stages run in order, each stage's output the next
 * one's input, the last output validated as the pipeline's result (for the
 * signals recipe: a `Signal`).
 *
 * Failure is per symbol and named: the first stage that throws ends the run
 * with a {@link StageError} naming the stage (retryable, terminal or
 * rate-limited as its cause is), so the item fails and its siblings, each
 * in their own item, go on. An abort (the item's timeout, shutdown, a lost
 * lease) is passed through as the signal's reason, not wrapped: the runtime
 * tells shutdown from failure by it.
 */
import type { z } from 'zod';
import { validate } from '../../config/zod-issues.ts';
import { AutoloopError, TerminalError } from '../../core/errors.ts';
import { abortReason } from '../../time/clock.ts';
import { type Stage, type StageContext, StageError, type StageKind } from './stage.ts';

/** How one stage run ended, for metrics (e.g. `llm_latency_ms`) and logs. */
export interface StageEnd {
  readonly loop: string;
  readonly symbol: string;
  readonly stage: string;
  readonly kind: StageKind;
  readonly ok: boolean;
  /** On the context's monotonic clock. */
  readonly durationMs: number;
}

export interface PipelineOptions<T> {
  /** Run in order; at least one, names unique. */
  readonly stages: readonly Stage[];
  /** The result's schema: the last stage's output must pass it. */
  readonly output: z.ZodType<T>;
  /** What the result is, for messages: `a Signal`. */
  readonly outputName: string;
  /** Called after each stage, ok or not. A throwing observer is ignored. */
  readonly onStage?: (end: StageEnd) => void;
}

/**
 * @example
 * const pipeline = new Pipeline({ stages: [indicators, analyse, advise], output: SIGNAL_SCHEMA, outputName: 'a Signal' });
 * const signal = await pipeline.run({ symbol, tick }, ctx); // rejects with a StageError naming the failing stage
 */
export class Pipeline<T> {
  readonly stages: readonly Stage[];
  readonly #o: PipelineOptions<T>;

  constructor(options: PipelineOptions<T>) {
    const stages = options?.stages;
    if (!Array.isArray(stages) || stages.length === 0) {
      throw new AutoloopError(`pipeline: stages: expected at least one stage, got ${describeStages(stages)}`);
    }
    const seen = new Set<string>();
    for (const [i, stage] of stages.entries()) {
      if (typeof stage?.run !== 'function' || typeof stage.name !== 'string') {
        throw new AutoloopError(
          `pipeline: stages[${i}]: expected a stage (functionStage, commandStage, llmStage or a built-in), got ${JSON.stringify(stage)}`,
        );
      }
      if (seen.has(stage.name)) {
        throw new AutoloopError(
          `pipeline: stages[${i}]: expected a unique stage name, got "${stage.name}" twice; rename one of them`,
        );
      }
      seen.add(stage.name);
    }
    this.stages = [...stages];
    this.#o = options;
  }

  /** The stages' names in order. */
  get names(): string[] {
    return this.stages.map((s) => s.name);
  }

  /** True when a stage of this kind is in the pipeline. */
  has(kind: StageKind): boolean {
    return this.stages.some((s) => s.kind === kind);
  }

  /**
   * Runs every stage in order on `input` and resolves with the validated
   * result. Rejects with a {@link StageError} from the first failing stage
   * (or, when the last output is not a valid result, a terminal one naming
   * the last stage), or with the signal's reason once `ctx.signal` aborted.
   */
  async run(input: unknown, ctx: Omit<StageContext, 'outputs'>): Promise<T> {
    const outputs: Record<string, unknown> = {};
    let value = input;
    for (const stage of this.stages) {
      if (ctx.signal.aborted) throw abortReason(ctx.signal);
      const started = ctx.clock.monotonic();
      try {
        value = await stage.run(value, { ...ctx, outputs: { ...outputs } });
      } catch (error) {
        this.#report(stage, ctx, false, started);
        if (ctx.signal.aborted) throw abortReason(ctx.signal);
        throw StageError.of(stage.name, stage.kind, ctx.symbol, error);
      }
      this.#report(stage, ctx, true, started);
      outputs[stage.name] = value;
    }
    return this.#check(value, ctx.symbol);
  }

  #check(value: unknown, symbol: string): T {
    const last = this.stages.at(-1) as Stage;
    const checked = validate(this.#o.output, value, `stage "${last.name}"`);
    if (checked.ok) return checked.value;
    const problems = checked.issues
      .slice(0, 5)
      .map((i) => `${i.path || '(the value)'}: expected ${i.expected}, got ${i.got}`)
      .join('; ');
    const more = checked.issues.length > 5 ? `; and ${checked.issues.length - 5} more` : '';
    // The same stage code returns the same shape again: retrying will not help.
    const cause = new TerminalError(
      `the last stage's output is not ${this.#o.outputName}: ${problems}${more}; make the pipeline end with a stage that returns one`,
    );
    throw StageError.of(last.name, last.kind, symbol, cause);
  }

  #report(stage: Stage, ctx: Omit<StageContext, 'outputs'>, ok: boolean, started: number): void {
    const onStage = this.#o.onStage;
    if (!onStage) return;
    const end: StageEnd = {
      loop: ctx.loop,
      symbol: ctx.symbol,
      stage: stage.name,
      kind: stage.kind,
      ok,
      durationMs: ctx.clock.monotonic() - started,
    };
    try {
      onStage(end);
    } catch {
      // An observer (metrics) must never fail a symbol.
    }
  }
}

function describeStages(value: unknown): string {
  if (Array.isArray(value)) return 'an empty list';
  return value === undefined ? 'nothing' : typeof value;
}
