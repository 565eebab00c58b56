/**
 * The `signals` recipe (seed 002): every minute, for each symbol, candles ->
 * indicators -> a scored BUY/SELL/HOLD signal -> optional LLM stages, one
 * work item per symbol under the runtime's policies; the signals read back
 * from the store for the dashboard and `GET /signals`; seed 002's metrics.
 *
 * @example
 * import { signalsRecipe } from './recipes/signals/index.ts';
 * const runtime = createRuntime({ loops: [signalsRecipe()], store: 'sqlite://./.autoloop/state.db' });
 *
 * The HTTP routes are in signals-routes.ts (`registerSignalsRoutes`,
 * `storeSignalsSource`), the dashboard panel in panel.js and panel.css
 * (read by signals-panel.ts); recipe.ts plugs them into a runtime.
 */

export { type AnalyseOptions, analyse, DEFAULT_ANALYSE_OPTIONS } from './analyse.ts';
export {
  computeIndicators,
  DEFAULT_INDICATOR_SETTINGS,
  type IndicatorSettings,
  type IndicatorSnapshot,
} from './indicators.ts';
export { type LlmEndpoint, type LlmEndpointSetting, llmEndpointFromEnv } from './llm-endpoint.ts';
export { LLM_SIGNAL_SCHEMA, LlmOutputError, type LlmSignal } from './llm-output.ts';
export { PRESET_LLM_STAGES, type PresetStageName, presetLlmStage } from './llm-preset-stages.ts';
export {
  createLlmStage,
  type LlmAnswer,
  type LlmStage,
  type LlmStageOptions,
  LlmUnavailableError,
} from './llm-stage.ts';
export { HttpCandles, type HttpCandlesOptions } from './market/http-candles.ts';
export type { Candle, CandleQuery, MarketData } from './market/market-data.ts';
export { MarketDataError, MarketDataRateLimitedError } from './market/market-data-error.ts';
export { ReplayFeed, type ReplayFeedOptions } from './market/replay-feed.ts';
export { SimulatedFeed, type SimulatedFeedOptions } from './market/simulated-feed.ts';
export { Pipeline, type PipelineOptions, type StageEnd } from './pipeline.ts';
export {
  readSignal,
  SIGNAL_ACTIONS,
  SIGNAL_SCHEMA,
  type Signal,
  type SignalAction,
  type SignalStage,
} from './signal.ts';
export {
  createSignalsMetrics,
  RESULT_PUBLISHED,
  type ResultPublished,
  type SignalsMetrics,
  type SignalsMetricsOptions,
} from './signals-metrics.ts';
export {
  type BuiltinStageName,
  type PipelineStart,
  SEED_SYMBOLS,
  type SignalsRecipeOptions,
  type SymbolPayload,
  type SymbolSource,
  signalLlmStage,
  signalsRecipe,
} from './signals-recipe.ts';
export { cycleSignals, DEFAULT_VIEW_CYCLES, type LatestSignalsOptions, latestSignals } from './signals-view.ts';
export {
  type CommandStageOptions,
  commandStage,
  functionStage,
  type LlmAdapterOptions,
  type LlmCall,
  type LlmStageAnswer,
  type LlmStageInput,
  llmStage,
  type Stage,
  type StageContext,
  StageError,
  type StageKind,
} from './stage.ts';
