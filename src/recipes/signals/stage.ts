/**
 * One stage of a signals pipeline (seed 002's Signal -> Score -> Advise ->
 * Report): a named step that turns its input into its output for one symbol.
 *
 * | kind       | made by                   | what runs                                                          |
 * | ---------- | ------------------------- | ------------------------------------------------------------------ |
 * | `builtin`  | the recipe                | the built-in indicators and analyser (no I/O but the market data)  |
 * | `llm`      | {@link llmStage}          | one chat-completions call (an `LlmStage` from llm-stage.ts)        |
 * | `function` | {@link functionStage}     | a TypeScript function `(input, ctx) => output`                     |
 * | `command`  | {@link commandStage}      | a shell command: input as JSON on stdin, output as JSON on stdout  |
 *
 * A stage that throws fails its symbol's item with a {@link StageError}
 * naming the stage (see there for how retries and rate limits still see
 * the cause). Every stage gets the item's AbortSignal in `ctx.signal`: it
 * aborts on the item's timeout, on shutdown and when the item's lease is
 * lost; a stage must pass it to everything that can take long.
 */
import type { Tick } from '../../core/cycle-record.ts';
import { AutoloopError, RateLimitedError, TerminalError } from '../../core/errors.ts';
import { runCommand } from '../../execution/command.ts';
import type { Clock } from '../../time/clock.ts';
import { type Duration, parseDuration } from '../../time/duration.ts';

export type StageKind = 'builtin' | 'llm' | 'function' | 'command';

/** What a stage is given besides its input: where it runs, and how to stop. */
export interface StageContext {
  readonly loop: string;
  readonly cycleId: string;
  readonly tick: Tick;
  /** The item's symbol (its key). */
  readonly symbol: string;
  /** The item's attempt, 1 for the first. */
  readonly attempt: number;
  /** Aborts on the item's timeout, on shutdown, or when the item's lease is lost. */
  readonly signal: AbortSignal;
  readonly clock: Clock;
  /** The outputs of the stages that ran before this one in this attempt, by stage name. */
  readonly outputs: Readonly<Record<string, unknown>>;
}

/**
 * A stage ready to run. `run` resolves with the stage's output (the next
 * stage's input, JSON-serialisable) or rejects with why it failed; it must
 * reject soon after `ctx.signal` aborts.
 */
export interface Stage {
  /** Unique within a pipeline; names the stage in errors and metrics. */
  readonly name: string;
  readonly kind: StageKind;
  run(input: unknown, ctx: StageContext): Promise<unknown>;
}

/**
 * A stage from a TypeScript function. The function may be sync or async;
 * what it returns is the next stage's input.
 *
 * @example
 * const round = functionStage('round', (signal: Signal) => ({ ...signal, score: Math.round(signal.score * 100) / 100 }));
 */
export function functionStage<I = never, O = unknown>(
  name: string,
  fn: (input: I, ctx: StageContext) => O | Promise<O>,
  kind: 'function' | 'builtin' = 'function',
): Stage {
  checkName(name, `functionStage(${JSON.stringify(name)})`);
  if (typeof fn !== 'function') {
    throw new AutoloopError(
      `functionStage(${JSON.stringify(name)}): expected a function (input, ctx) => output, got ${typeof fn}`,
    );
  }
  return { name, kind, run: async (input, ctx) => fn(input as I, ctx) };
}

export interface CommandStageOptions {
  /** Passed to `/bin/sh -c`. Reads the stage input (one JSON line) on stdin, prints its output as JSON on stdout. */
  command: string;
  /**
   * Kill the command after this long (its own bound, on top of the item's
   * timeout, whose abort kills it too). Default `60s`.
   */
  timeout?: Duration;
  cwd?: string;
  /** The command's whole environment. Default: this process's environment. */
  env?: Record<string, string>;
  /** Between SIGTERM and SIGKILL of its process group. Default `2s`. */
  killGrace?: Duration;
}

const DEFAULT_COMMAND_TIMEOUT_MS = 60_000;

/**
 * A stage that runs a command with `runCommand` (src/execution/command.ts):
 * the stage input as one JSON line on stdin, its output the JSON printed on
 * stdout (or its last line). Exit 3 means "do not retry" (a TerminalError);
 * any other non-zero exit fails the attempt with the tail of its stderr.
 * On abort or timeout its whole process group is killed.
 *
 * @example
 * const advise = commandStage('advise', { command: 'python advise.py', timeout: '8s' });
 */
export function commandStage(name: string, options: CommandStageOptions): Stage {
  const where = `commandStage(${JSON.stringify(name)})`;
  checkName(name, where);
  if (typeof options?.command !== 'string' || options.command.trim() === '') {
    throw new AutoloopError(`${where}: command: expected a shell command, got ${JSON.stringify(options?.command)}`);
  }
  const timeoutMs = durationOption(where, 'timeout', options.timeout, DEFAULT_COMMAND_TIMEOUT_MS);
  const killGraceMs = durationOption(where, 'killGrace', options.killGrace, 2_000);
  return {
    name,
    kind: 'command',
    run: (input, ctx) =>
      runCommand({
        command: options.command,
        input,
        timeoutMs,
        killGraceMs,
        signal: ctx.signal,
        clock: ctx.clock,
        cwd: options.cwd,
        env: options.env,
        what: `stage "${name}" (${ctx.symbol})`,
      }),
  };
}

/** What an LLM stage is asked with: the symbol, its tick, the indicator snapshot and the previous stage's output. */
export interface LlmStageInput {
  readonly symbol: string;
  readonly tick: Tick;
  readonly indicators: unknown;
  readonly previous: unknown;
}

/** An answer of an LLM call: its validated value, the model that answered and the call's latency. */
export interface LlmStageAnswer<T> {
  readonly value: T;
  readonly model: string;
  readonly latencyMs: number;
}

/**
 * What {@link llmStage} needs of an LLM call; `createLlmStage` (llm-stage.ts)
 * returns one. Rejects per that file's table (RateLimitedError on 429,
 * TerminalError on 4xx, retryable errors otherwise).
 */
export interface LlmCall<T> {
  readonly name: string;
  run(input: LlmStageInput, ctx: { readonly signal: AbortSignal; readonly clock: Clock }): Promise<LlmStageAnswer<T>>;
}

export interface LlmAdapterOptions<T> {
  /** The prompt's input from the stage's input. Default: `indicators` from `ctx.outputs.indicators`, `previous` = the input. */
  ask?: (input: unknown, ctx: StageContext) => LlmStageInput;
  /** The stage's output from its input and the answer. Default: the answer's value. */
  merge?: (input: unknown, answer: LlmStageAnswer<T>, ctx: StageContext) => unknown;
}

/**
 * A stage from an LLM call. By default it asks with the indicator snapshot
 * (the output of a stage named `indicators`, else `null`) and the stage's
 * input as `previous`, and outputs the validated answer; the signals recipe
 * passes a `merge` that folds the answer into the signal.
 *
 * @example
 * const score = llmStage(createLlmStage({ name: 'score', baseURL, model, user: '...' }), { merge: adviceInto });
 */
export function llmStage<T>(call: LlmCall<T>, options: LlmAdapterOptions<T> = {}): Stage {
  const where = 'llmStage()';
  if (typeof call?.run !== 'function') {
    throw new AutoloopError(`${where}: expected an LLM stage (createLlmStage(...)), got ${typeof call}`);
  }
  checkName(call.name, where);
  const ask =
    options.ask ??
    ((input: unknown, ctx: StageContext): LlmStageInput => ({
      symbol: ctx.symbol,
      tick: ctx.tick,
      indicators: ctx.outputs.indicators ?? null,
      previous: input ?? null,
    }));
  const merge = options.merge ?? ((_input: unknown, answer: LlmStageAnswer<T>) => answer.value);
  return {
    name: call.name,
    kind: 'llm',
    async run(input, ctx) {
      const answer = await call.run(ask(input, ctx), { signal: ctx.signal, clock: ctx.clock });
      return merge(input, answer, ctx);
    },
  };
}

const BRAND: unique symbol = Symbol('autoloop.StageError');

/** What every {@link StageError} carries, whichever of its three classes it is. */
interface StageFailureFields {
  readonly [BRAND]: true;
  /** The stage's name. */
  readonly stage: string;
  readonly kind: StageKind;
  readonly symbol: string;
  /** What the stage threw. */
  readonly cause?: unknown;
}

/**
 * A stage failed for one symbol: the item fails with it, its siblings do
 * not. The message names the symbol, the stage and its kind, then the
 * cause's name and message:
 * `BTC/USD: stage "advise" (llm): LlmOutputError: confidence: expected a number <= 1, got 1.7`.
 *
 * The cause's meaning for the runtime is kept: `StageError.of` returns a
 * `TerminalError` (no retry) when the cause is one, and a `RateLimitedError`
 * with the cause's `retryAfterMs` (the dependency's rate limit pauses) when
 * the cause is one. All three answer `instanceof StageError` and carry
 * `stage`, `kind`, `symbol` and `cause`; the recorded error's name is
 * `StageError` in each case.
 */
export class StageError extends AutoloopError implements StageFailureFields {
  override name = 'StageError';
  readonly [BRAND] = true as const;

  constructor(
    readonly stage: string,
    readonly kind: StageKind,
    readonly symbol: string,
    cause: unknown,
  ) {
    super(stageMessage(stage, kind, symbol, cause), { cause });
  }

  /** True for every stage failure, terminal and rate-limited ones included. */
  static override [Symbol.hasInstance](value: unknown): value is StageError {
    return typeof value === 'object' && value !== null && (value as Partial<StageFailureFields>)[BRAND] === true;
  }

  /**
   * The stage failure for `cause`: terminal, rate-limited or plain as the
   * cause is.
   */
  static of(stage: string, kind: StageKind, symbol: string, cause: unknown): StageError {
    if (cause instanceof TerminalError)
      return new TerminalStageError(stage, kind, symbol, cause) as unknown as StageError;
    if (cause instanceof RateLimitedError) {
      return new RateLimitedStageError(stage, kind, symbol, cause) as unknown as StageError;
    }
    return new StageError(stage, kind, symbol, cause);
  }
}

/** A stage failure that must not be retried (its cause is a TerminalError). */
class TerminalStageError extends TerminalError implements StageFailureFields {
  override name = 'StageError';
  readonly [BRAND] = true as const;

  constructor(
    readonly stage: string,
    readonly kind: StageKind,
    readonly symbol: string,
    cause: unknown,
  ) {
    super(stageMessage(stage, kind, symbol, cause), { cause });
  }
}

/** A stage failure caused by "too many requests": the runtime pauses the rate limit for `retryAfterMs`. */
class RateLimitedStageError extends RateLimitedError implements StageFailureFields {
  override name = 'StageError';
  readonly [BRAND] = true as const;

  constructor(
    readonly stage: string,
    readonly kind: StageKind,
    readonly symbol: string,
    cause: RateLimitedError,
  ) {
    super(stageMessage(stage, kind, symbol, cause), cause.retryAfterMs);
    Object.defineProperty(this, 'cause', { value: cause, writable: true, configurable: true });
  }
}

function stageMessage(stage: string, kind: StageKind, symbol: string, cause: unknown): string {
  const what =
    cause instanceof Error
      ? cause.name && cause.name !== 'Error'
        ? `${cause.name}: ${cause.message}`
        : cause.message
      : `threw a non-error value: ${String(cause)}`;
  return `${symbol}: stage "${stage}" (${kind}): ${what}`;
}

function checkName(name: unknown, where: string): void {
  if (typeof name !== 'string' || !/^[A-Za-z_][\w-]{0,63}$/.test(name)) {
    throw new AutoloopError(
      `${where}: name: expected a stage name (a letter or _, then letters, digits, _ or -; at most 64), got ${JSON.stringify(name)}`,
    );
  }
}

function durationOption(where: string, field: string, value: Duration | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const ms = parseDuration(value);
  if (ms === undefined || ms <= 0) {
    throw new AutoloopError(
      `${where}: ${field}: expected a duration > 0 like "10s" or 5000, got ${JSON.stringify(value)}`,
    );
  }
  return ms;
}
