import { isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { durationMs } from '../../config/schema.ts';
import type { LoopDefinition, LoopPolicies, TriggerSpec } from '../../core/loop.ts';
import { systemClock } from '../../time/system-clock.ts';
import { llmEndpointFromEnv } from './llm-endpoint.ts';
import { PRESET_LLM_STAGES, type PresetStageName, presetLlmStage } from './llm-preset-stages.ts';
import type { ExchangePresetName } from './market/exchange-presets.ts';
import { HttpCandles } from './market/http-candles.ts';
import type { MarketData } from './market/market-data.ts';
import { ReplayFeed } from './market/replay-feed.ts';
import { SimulatedFeed } from './market/simulated-feed.ts';
import { type SignalsRecipeOptions, signalsRecipe } from './signals-recipe.ts';
import type { LlmCall } from './stage.ts';

/**
 * `recipe: signals` in autoloop.yaml: seed 002's signal runner in a few
 * lines. Every key is optional; the seed's values are the defaults.
 *
 * ```yaml
 * loops:
 *   signals:
 *     recipe: signals
 *     trigger: { cron: "*\/1 * * * *" }       # default
 *     symbols: [BTC/USD, ETH/USD]             # or { env: SIGNAL_SYMBOLS }; default the seed's 20
 *     market: { simulated: { seed: 42 } }     # or { replay: { dir: ./candles } }
 *                                             # or { http: { preset: binance, baseUrl: ... } }
 *     candles: { interval: 1m, limit: 100 }
 *     llm: { stages: [advise], model: openai/gpt-4o-mini, timeout: 10s }   # needs an endpoint in the env
 *     publish: { channel: "channel:raw-signals" }
 *     policies: { concurrency: 10, adaptive: true, uses: [llm_service] }
 * ```
 *
 * `llm` is switched on by the environment (LLM_BASE_URL / LLM_API_KEY /
 * OPENROUTER_API_KEY, see llm-endpoint.ts): with none set, the loop runs the
 * built-in indicators and analyser only, and {@link buildSignalsLoop} says so
 * in `notes`.
 */
export const signalsConfigSchema = z.strictObject({
  description: z.string().optional(),
  /** Validated again by defineLoop; kept raw here so the recipe gets what the user wrote. */
  trigger: z.record(z.string(), z.unknown()).optional(),
  symbols: z
    .union([z.array(z.string().trim().min(1)).min(1), z.strictObject({ env: z.string().min(1) })], {
      error: 'a list of symbols like [BTC/USD, ETH/USD] or { env: SIGNAL_SYMBOLS }',
    })
    .optional(),
  market: z
    .union(
      [
        z.strictObject({ simulated: z.strictObject({ seed: z.number().int().optional() }).prefault({}) }),
        z.strictObject({
          replay: z.strictObject({ dir: z.string().min(1), files: z.record(z.string(), z.string()).optional() }),
        }),
        z.strictObject({
          http: z.strictObject({
            preset: z.enum(['binance', 'coinbase', 'kraken', 'bybit']),
            baseUrl: z.url().optional(),
            symbols: z.record(z.string(), z.string()).optional(),
            timeout: durationMs({ minMs: 1 }).optional(),
          }),
        }),
      ],
      { error: 'one of { simulated: { seed } }, { replay: { dir } } or { http: { preset } }' },
    )
    .optional(),
  candles: z
    .strictObject({ interval: z.string().optional(), limit: z.number().int().min(2).max(1000).optional() })
    .optional(),
  llm: z
    .strictObject({
      stages: z.array(z.enum(Object.keys(PRESET_LLM_STAGES) as [PresetStageName, ...PresetStageName[]])).min(1),
      model: z.string().min(1).optional(),
      timeout: durationMs({ minMs: 1 }).optional(),
    })
    .optional(),
  publish: z.strictObject({ channel: z.string().min(1) }).optional(),
  policies: z.record(z.string(), z.unknown()).optional(),
});

export type SignalsConfig = z.output<typeof signalsConfigSchema>;

/** Where a YAML loop is built: its name, the config's directory and environment. */
export interface RecipeSite {
  readonly name: string;
  readonly dir: string;
  readonly env: Readonly<Record<string, string | undefined>>;
}

/** The model used when neither the config nor LLM_MODEL names one. */
export const DEFAULT_LLM_MODEL = 'openai/gpt-4o-mini';

/**
 * Builds the loop a validated `recipe: signals` entry describes. `notes` are
 * facts the operator should see at start (e.g. "LLM stages off: no endpoint
 * configured"); they are not errors.
 */
export function buildSignalsLoop(config: SignalsConfig, site: RecipeSite): { loop: LoopDefinition; notes: string[] } {
  const notes: string[] = [];
  const options: SignalsRecipeOptions = {
    name: site.name,
    environment: site.env,
    market: marketOf(config, site),
    ...(config.description !== undefined ? { description: config.description } : {}),
    ...(config.trigger !== undefined ? { trigger: config.trigger as unknown as TriggerSpec } : {}),
    ...(config.symbols !== undefined ? { symbols: config.symbols } : {}),
    ...(config.candles !== undefined ? { candles: withoutUndefined(config.candles) } : {}),
    ...(config.publish !== undefined ? { publish: config.publish } : {}),
    ...(config.policies !== undefined ? { policies: config.policies as LoopPolicies } : {}),
  };
  if (config.llm) {
    const setting = llmEndpointFromEnv(site.env);
    if (setting.kind === 'absent') {
      notes.push(`loop ${site.name}: LLM stages (${config.llm.stages.join(', ')}) off: ${setting.reason}`);
    } else {
      const { endpoint } = setting;
      const model = config.llm.model ?? endpoint.model ?? DEFAULT_LLM_MODEL;
      const timeout = config.llm.timeout;
      options.llm = config.llm.stages.map(
        (stage) =>
          presetLlmStage(stage, {
            baseURL: endpoint.baseURL,
            ...(endpoint.apiKey !== undefined ? { apiKey: endpoint.apiKey } : {}),
            model,
            ...(timeout !== undefined ? { timeout } : {}),
          }) as unknown as LlmCall<unknown>,
      );
      notes.push(`loop ${site.name}: LLM stages ${config.llm.stages.join(', ')} on ${endpoint.baseURL} (${model})`);
    }
  }
  return { loop: signalsRecipe(options) as unknown as LoopDefinition, notes };
}

function marketOf(config: SignalsConfig, site: RecipeSite): MarketData {
  const market = config.market;
  if (!market || 'simulated' in market) {
    const seed = market?.simulated.seed;
    return new SimulatedFeed({ clock: systemClock, ...(seed !== undefined ? { seed } : {}) });
  }
  if ('replay' in market) {
    const dir = isAbsolute(market.replay.dir) ? market.replay.dir : resolve(site.dir, market.replay.dir);
    return new ReplayFeed({ dir, ...(market.replay.files ? { files: market.replay.files } : {}) });
  }
  const http = market.http;
  return new HttpCandles({
    preset: http.preset as ExchangePresetName,
    clock: systemClock,
    ...(http.baseUrl !== undefined ? { baseUrl: http.baseUrl } : {}),
    ...(http.symbols !== undefined ? { symbols: http.symbols } : {}),
    ...(http.timeout !== undefined ? { timeoutMs: http.timeout } : {}),
  });
}

function withoutUndefined<T extends object>(value: T): { [K in keyof T]: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as never;
}
