/**
 * The `signals` recipe: seed 002's autonomous signal runner as one loop.
 *
 * Every tick (default each minute, overlapping ticks skipped) observe lists
 * the symbols, plan makes one work item per symbol (key = the symbol,
 * idempotency key `<symbol>@<tick id>`, so the queue keeps one item per
 * (symbol, tick)), and act runs the symbol's pipeline of stages and
 * returns its {@link Signal}, which the runtime stores as the item's
 * result, fenced by the item's lease. Everything the seed wrote by hand
 * (per-symbol locks with heartbeats and stale-lock recovery, the breaker,
 * adaptive batch size, backpressure, retries, the rate limit) is the
 * runtime's, set by the policies below.
 *
 * Pipeline (Signal -> Score -> Advise -> Report): by default the built-in
 * `indicators` (candles from the market data source up to the tick, then
 * EMA crossover, RSI, MACD, Bollinger bands) and `analyse` (a scored
 * BUY/SELL/HOLD signal), then any LLM stages given (each folds its answer
 * into the signal), then any further stages. A stage failing fails only its
 * symbol's item, with a StageError naming the stage.
 *
 * Policies (seed 002's numbers): concurrency 10, adaptive (min 3, window
 * 10, p95 bar 8 s, p99 bar 9 s, timeout extended up to 15 s), item timeout
 * 10 s, 2 attempts with a 5 s backoff base (full jitter: a retry waits 0-5
 * s, not exactly 5 s), per-symbol leases on, backpressure on, and
 * `uses: ['llm_service']` only when an LLM stage is in the pipeline (the
 * runtime must then declare that dependency: breaker and rate limit).
 *
 * Signals from a simulated feed carry `source.simulated: true` (the
 * recipe sets `source` from the market data source after the last stage,
 * whatever a stage wrote there), for every surface to label them.
 */

import { ConfigError } from '../../config/config-error.ts';
import { defineLoop } from '../../config/define-loop.ts';
import type { Env } from '../../config/interpolate.ts';
import type { Tick } from '../../core/cycle-record.ts';
import { AutoloopError, TerminalError } from '../../core/errors.ts';
import type { CycleContext, LoopDefinition, LoopPolicies, PublishSpec, TriggerSpec } from '../../core/loop.ts';
import { systemClock } from '../../time/system-clock.ts';
import { type AnalyseOptions, analyse, checkAnalyseOptions, DEFAULT_ANALYSE_OPTIONS } from './analyse.ts';
import {
  checkIndicatorSettings,
  computeIndicators,
  DEFAULT_INDICATOR_SETTINGS,
  type IndicatorSettings,
  type IndicatorSnapshot,
} from './indicators.ts';
import { LLM_SIGNAL_SCHEMA } from './llm-output.ts';
import { CANDLE_INTERVAL_EXPECTED, parseCandleInterval } from './market/candle-interval.ts';
import type { MarketData } from './market/market-data.ts';
import { MarketDataError } from './market/market-data-error.ts';
import { SimulatedFeed } from './market/simulated-feed.ts';
import { Pipeline, type StageEnd } from './pipeline.ts';
import { readSignal, SIGNAL_SCHEMA, type Signal } from './signal.ts';
import { functionStage, type LlmCall, type LlmStageAnswer, llmStage, type Stage, type StageContext } from './stage.ts';

/** Seed 002's 20 symbols, in the seed's order. */
export const SEED_SYMBOLS: readonly string[] = Object.freeze([
  'ETH/USD',
  'BTC/USD',
  'SOL/USD',
  'DOGE/USD',
  'AVAX/USD',
  'MATIC/USD',
  'LINK/USD',
  'UNI/USD',
  'AAVE/USD',
  'SNX/USD',
  'CRV/USD',
  'COMP/USD',
  'MKR/USD',
  'SUSHI/USD',
  'YFI/USD',
  '1INCH/USD',
  'BAL/USD',
  'LDO/USD',
  'RPL/USD',
  'FXS/USD',
]);

/** Where the symbols come from: a list, an environment variable holding a comma-separated list, or a function. */
export type SymbolSource =
  | readonly string[]
  | { readonly env: string }
  | ((ctx: CycleContext) => readonly string[] | Promise<readonly string[]>);

/** A built-in stage by name, configured by the recipe's options. */
export type BuiltinStageName = 'indicators' | 'analyse';

export interface SignalsRecipeOptions {
  /** The loop's name. Default `signals`. */
  name?: string;
  description?: string;
  /** Default {@link SEED_SYMBOLS}. `{ env: 'SIGNAL_SYMBOLS' }` reads `BTC/USD,ETH/USD` from the environment when the recipe is made. */
  symbols?: SymbolSource;
  /** Where `{ env }` symbols are read. Default `process.env`. */
  environment?: Env;
  /** Default `{ cron: '*\/1 * * * *', overlap: 'skip' }`. */
  trigger?: TriggerSpec;
  /** Default: the seeded simulated feed (`seed`), labelled simulated. */
  market?: MarketData;
  /** Seed of the default simulated feed. Default 1. */
  seed?: number;
  /** Candles asked for per symbol: width and count. Default `1m` x 100. */
  candles?: { interval?: string; limit?: number };
  /** Periods of the built-in indicators. */
  indicators?: IndicatorSettings;
  /** Weights and thresholds of the built-in analyser. */
  analyse?: AnalyseOptions;
  /** LLM stages run after `analyse`, in order, each folding its answer into the signal (e.g. the seed's score and advise). */
  llm?: LlmCall<unknown> | ReadonlyArray<LlmCall<unknown>>;
  /**
   * The whole pipeline, replacing the default `['indicators', 'analyse', ...llm]`:
   * built-ins by name, other stages as made by functionStage, commandStage or llmStage
   * (use {@link signalLlmStage} to fold an LLM answer into the signal). It must end with a Signal.
   */
  stages?: ReadonlyArray<Stage | BuiltinStageName>;
  /** Over the seed's defaults, field by field (`retry`, `adaptive` whole). */
  policies?: LoopPolicies;
  /** Called after each stage of each symbol (e.g. `createSignalsMetrics(...).observeStage`). */
  onStage?: (end: StageEnd) => void;
  /** Also publish each stored signal on a channel (seed 002's `channel:raw-signals`; needs a Redis store). Default: events only. */
  publish?: PublishSpec;
}

/** What plan gives act for each symbol. */
export interface SymbolPayload {
  readonly symbol: string;
  /**
   * The tick that planned it: a signal is about this tick even when a peer's
   * recovery cycle re-runs the item after a crash. Absent in items planned
   * before this field existed (the running tick is used).
   */
  readonly tick?: { readonly id: string; readonly scheduledAt: number };
}

/** The pipeline's first input. */
export interface PipelineStart {
  readonly symbol: string;
  readonly tick: Tick;
}

const DEFAULT_CANDLES = { interval: '1m', limit: 100 } as const;

/**
 * Makes the signals loop. Validates everything now (a bad symbol list,
 * interval or policy is an error here, naming the option).
 *
 * @example
 * const signals = signalsRecipe({ symbols: ['BTC/USD', 'ETH/USD'] });
 * const runtime = createRuntime({ loops: [signals], store: 'sqlite://./.autoloop/state.db' });
 *
 * @example With an LLM stage (declare `llm_service` in the runtime's dependencies)
 * const advise = presetLlmStage('advise', { baseURL, apiKey, model });
 * signalsRecipe({ llm: advise });
 */
export function signalsRecipe(options: SignalsRecipeOptions = {}): LoopDefinition<string[], SymbolPayload> {
  const name = options.name ?? 'signals';
  const where = `signalsRecipe(${name})`;
  const market = options.market ?? new SimulatedFeed({ clock: systemClock, seed: options.seed ?? 1 });
  const candles = checkCandles(where, options.candles);
  const builtins = builtinStages(where, market, candles, options);
  const chosen: ReadonlyArray<Stage | BuiltinStageName> = options.stages ?? [
    'indicators',
    'analyse',
    ...llmList(options.llm).map((call) => signalLlmStage(call)),
  ];
  const stages = chosen.map((stage) => (typeof stage === 'string' ? builtin(where, builtins, stage) : stage));
  const pipeline = new Pipeline<Signal>({
    stages,
    output: SIGNAL_SCHEMA,
    outputName: 'a Signal',
    ...(options.onStage ? { onStage: options.onStage } : {}),
  });
  const listSymbols = symbolLister(where, options.symbols ?? SEED_SYMBOLS, options.environment);
  const source = { feed: market.description, simulated: market.simulated };
  const usesLlm = pipeline.has('llm');

  return defineLoop<string[], SymbolPayload>({
    name,
    description:
      options.description ??
      `trading signals: ${pipeline.names.join(' -> ')} per symbol, candles from ${market.description}`,
    trigger: options.trigger ?? { cron: '*/1 * * * *', overlap: 'skip' },
    observe: (ctx) => listSymbols(ctx),
    plan: (symbols, ctx) =>
      symbols.map((symbol) => ({
        key: symbol,
        payload: { symbol, tick: { id: ctx.tick.id, scheduledAt: ctx.tick.scheduledAt } },
        idempotencyKey: `${symbol}@${ctx.tick.id}`,
      })),
    async act(item, ctx) {
      const symbol = item.payload?.symbol ?? item.key;
      const planned = item.payload?.tick;
      const tick = planned ? { ...ctx.tick, id: planned.id, scheduledAt: planned.scheduledAt } : ctx.tick;
      const start: PipelineStart = { symbol, tick };
      const signal = await pipeline.run(start, {
        loop: ctx.loop,
        cycleId: ctx.cycleId,
        tick,
        symbol,
        attempt: ctx.attempt,
        signal: ctx.signal,
        clock: ctx.clock,
      });
      if (signal.symbol !== symbol) {
        const last = pipeline.stages.at(-1) as Stage;
        throw new TerminalError(
          `${symbol}: stage "${last.name}" (${last.kind}): expected a signal for ${symbol}, got one for ${JSON.stringify(signal.symbol)}`,
        );
      }
      return { ...signal, source } satisfies Signal;
    },
    policies: seedPolicies(options.policies, usesLlm),
    // Always published: the result.published events feed /signals/stream, the seed's metrics and webhooks.
    publish: options.publish ?? {},
    recipe: 'signals',
  });
}

/**
 * A stage from an LLM call that folds the answer into the signal it is
 * given (so it must come after `analyse`). An answer with `action` and
 * `confidence` (the default `{ action, confidence, rationale }`) decides:
 * it replaces the signal's action and confidence and adds its rationale to
 * the reasons (the score stays the indicators'); any other answer (the
 * seed's Report `{ summary }`) is kept in `stages` only. Either way the
 * stage is appended to `stages` with its answer, model and latency.
 *
 * @example
 * signalsRecipe({ stages: ['indicators', 'analyse', signalLlmStage(presetLlmStage('advise', endpoint))] });
 */
export function signalLlmStage<T>(call: LlmCall<T>): Stage {
  return llmStage(call, {
    ask: (input, ctx) => {
      const signal = asSignal(input, call.name, ctx);
      const { action, confidence, score, reasons, stages } = signal;
      return {
        symbol: ctx.symbol,
        tick: ctx.tick,
        indicators: signal.indicators,
        previous: stages ? { action, confidence, score, reasons, stages } : { action, confidence, score, reasons },
      };
    },
    merge: (input, answer, ctx) => foldAnswer(asSignal(input, call.name, ctx), call.name, answer),
  });
}

function foldAnswer<T>(signal: Signal, stage: string, answer: LlmStageAnswer<T>): Signal {
  const decided = LLM_SIGNAL_SCHEMA.safeParse(answer.value);
  const part = { stage, durationMs: answer.latencyMs, output: { model: answer.model, answer: answer.value } };
  if (!decided.success) return { ...signal, stages: [...(signal.stages ?? []), part] };
  const { action, confidence, rationale } = decided.data;
  return {
    ...signal,
    action,
    confidence,
    reasons: [...signal.reasons, `${stage}: ${action} (${confidence}) ${rationale}`],
    stages: [...(signal.stages ?? []), { ...part, action, confidence, rationale }],
  };
}

function asSignal(input: unknown, stage: string, ctx: StageContext): Signal {
  const read = readSignal(input);
  if (read.ok) return read.signal;
  throw new TerminalError(
    `${ctx.symbol}: llm stage "${stage}" folds its answer into a signal: expected its input to be one (put it after "analyse"), got ${read.problem}`,
  );
}

/** The built-in stages, configured by the recipe's options. */
function builtinStages(
  where: string,
  market: MarketData,
  candles: { interval: string; limit: number },
  options: SignalsRecipeOptions,
): Record<BuiltinStageName, Stage> {
  const settings = checked(where, () => checkIndicatorSettings(options.indicators ?? DEFAULT_INDICATOR_SETTINGS));
  const analyseOptions = checked(where, () => checkAnalyseOptions(options.analyse ?? DEFAULT_ANALYSE_OPTIONS));
  const indicators = functionStage(
    'indicators',
    async (_input: unknown, ctx: StageContext): Promise<IndicatorSnapshot> => {
      let got: Awaited<ReturnType<MarketData['candles']>>;
      try {
        got = await market.candles(ctx.symbol, { ...candles, until: ctx.tick.scheduledAt, signal: ctx.signal });
      } catch (error) {
        // Asking again cannot help an unknown symbol or bad data: fail the item now, not after retries.
        if (error instanceof MarketDataError && !error.retryable)
          throw new TerminalError(error.message, { cause: error });
        throw error;
      }
      const outcome = computeIndicators(got, settings);
      if (!outcome.ok) {
        throw new TerminalError(
          `${outcome.reason} from ${market.description} (asked for ${candles.limit} ${candles.interval} candles up to the tick)`,
        );
      }
      return outcome.snapshot;
    },
    'builtin',
  );
  const analyseStage = functionStage(
    'analyse',
    (input: unknown, ctx: StageContext): Signal => {
      const snapshot = (ctx.outputs.indicators ?? input) as IndicatorSnapshot;
      if (!snapshot || typeof snapshot !== 'object' || typeof snapshot.price !== 'number') {
        throw new TerminalError(
          'expected an indicator snapshot (the output of the "indicators" stage), got none: put "indicators" before "analyse"',
        );
      }
      const { action, confidence, score, reasons } = analyse(snapshot, analyseOptions);
      return {
        symbol: ctx.symbol,
        tick: ctx.tick.id,
        scheduledAt: ctx.tick.scheduledAt,
        action,
        confidence,
        score,
        reasons,
        indicators: snapshot,
        generatedAt: ctx.clock.now(),
        cycleId: ctx.cycleId,
        source: { feed: market.description, simulated: market.simulated },
      };
    },
    'builtin',
  );
  return { indicators, analyse: analyseStage };
}

function builtin(where: string, builtins: Record<BuiltinStageName, Stage>, name: string): Stage {
  const stage = builtins[name as BuiltinStageName];
  if (stage) return stage;
  const expected = `a built-in stage name (${Object.keys(builtins).join(', ')}) or a stage`;
  throw optionError(where, 'stages', expected, JSON.stringify(name));
}

function llmList(llm: SignalsRecipeOptions['llm']): Array<LlmCall<unknown>> {
  if (llm === undefined) return [];
  return Array.isArray(llm) ? [...llm] : [llm as LlmCall<unknown>];
}

/** The seed's policies, with the user's over them field by field. */
function seedPolicies(user: LoopPolicies | undefined, usesLlm: boolean): LoopPolicies {
  return {
    timeout: '10s',
    retry: { attempts: 2, backoff: '5s' },
    concurrency: 10,
    adaptive: { min: 3, window: 10, p95: '8s', p99: '9s' },
    uses: usesLlm ? ['llm_service'] : [],
    ...user,
  };
}

function checkCandles(where: string, candles: SignalsRecipeOptions['candles']): { interval: string; limit: number } {
  const interval = candles?.interval ?? DEFAULT_CANDLES.interval;
  const limit = candles?.limit ?? DEFAULT_CANDLES.limit;
  if (parseCandleInterval(interval) === undefined) {
    throw optionError(where, 'candles.interval', CANDLE_INTERVAL_EXPECTED, JSON.stringify(interval));
  }
  if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) {
    throw optionError(where, 'candles.limit', 'an integer from 1 to 10000', JSON.stringify(limit));
  }
  return { interval, limit };
}

/** Turns a settings checker's RangeError into the recipe's message template. */
function checked<T>(where: string, check: () => T): T {
  try {
    return check();
  } catch (error) {
    throw new AutoloopError(`${where}: ${(error as Error).message}`, { cause: error });
  }
}

/** The symbols each cycle: checked once for a list or env, at every cycle for a function. */
function symbolLister(
  where: string,
  symbols: SymbolSource,
  environment: Env | undefined,
): (ctx: CycleContext) => Promise<string[]> {
  if (typeof symbols === 'function') {
    return async (ctx) => checkSymbols(where, 'symbols()', await symbols(ctx));
  }
  if (Array.isArray(symbols)) {
    const list = checkSymbols(where, 'symbols', symbols);
    return async () => list;
  }
  const variable = (symbols as { env?: unknown }).env;
  if (typeof variable !== 'string' || variable === '') {
    const expected = 'a list of symbols, { env: "VARIABLE" } or a function';
    throw optionError(where, 'symbols', expected, JSON.stringify(symbols));
  }
  const env = environment ?? process.env;
  const text = env[variable];
  if (text === undefined || text.trim() === '') {
    const expected = `environment variable ${variable} to hold symbols like "BTC/USD,ETH/USD"`;
    throw optionError(where, 'symbols', expected, text === undefined ? 'nothing (it is not set)' : 'an empty value');
  }
  const list = checkSymbols(where, `symbols (from ${variable})`, text.split(','));
  return async () => list;
}

function checkSymbols(where: string, path: string, symbols: unknown): string[] {
  if (!Array.isArray(symbols)) throw optionError(where, path, 'a list of symbols', typeof symbols);
  const out: string[] = [];
  const seen = new Set<string>();
  for (const [i, raw] of symbols.entries()) {
    const symbol = typeof raw === 'string' ? raw.trim() : raw;
    if (typeof symbol !== 'string' || symbol === '' || symbol.length > 64) {
      throw optionError(where, `${path}[${i}]`, 'a symbol like "BTC/USD"', JSON.stringify(raw));
    }
    if (seen.has(symbol)) {
      throw optionError(where, `${path}[${i}]`, 'each symbol once', `${JSON.stringify(symbol)} again`);
    }
    seen.add(symbol);
    out.push(symbol);
  }
  return out;
}

/** A bad recipe option in the project's one message template (`signalsRecipe(x): path: expected …, got …`). */
function optionError(where: string, path: string, expected: string, got: string): ConfigError {
  return new ConfigError([{ file: where, path, expected, got }]);
}
