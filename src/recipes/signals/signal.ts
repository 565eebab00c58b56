import { z } from 'zod';
import type { IndicatorSnapshot } from './indicators.ts';

/** What a signal recommends. */
export const SIGNAL_ACTIONS = ['BUY', 'SELL', 'HOLD'] as const;
export type SignalAction = (typeof SIGNAL_ACTIONS)[number];

const finite = z.number().finite();
const epochMs = z.number().int().nonnegative();

/** {@link IndicatorSnapshot} as data read back from a store, a channel or a webhook. */
export const INDICATOR_SNAPSHOT_SCHEMA = z.object({
  price: finite,
  at: epochMs,
  candles: z.number().int().positive(),
  emaFast: finite,
  emaSlow: finite,
  emaCross: z.enum(['up', 'down', 'none']),
  rsi: z.number().min(0).max(100),
  macd: z.object({ macd: finite, signal: finite, histogram: finite }),
  bollinger: z.object({ upper: finite, middle: finite, lower: finite }),
  // The schema and the interface must describe the same data: `satisfies` stops the build when they drift.
}) satisfies z.ZodType<IndicatorSnapshot>;

/** One pipeline stage's part in a signal (Signal -> Score -> Advise -> Report), filled by the recipe. */
export const SIGNAL_STAGE_SCHEMA = z.object({
  /** The stage's name in the pipeline, e.g. `analyse`, `advise`. */
  stage: z.string().min(1),
  action: z.enum(SIGNAL_ACTIONS).optional(),
  confidence: z.number().min(0).max(1).optional(),
  rationale: z.string().optional(),
  durationMs: z.number().nonnegative().optional(),
  /** Whatever else the stage returned (an LLM's validated JSON, a command's output). */
  output: z.unknown().optional(),
});

/**
 * A trading signal for one symbol at one tick: what the `signals` recipe
 * persists, publishes (event bus, SSE, `channel:raw-signals`, webhooks) and
 * shows. `(symbol, tick)` identifies it: a second signal for the same pair
 * is a duplicate. Unknown keys are dropped when parsing, so older readers
 * accept newer signals.
 */
export const SIGNAL_SCHEMA = z.object({
  symbol: z.string().min(1),
  /** The tick id (`signals@2026-01-05T12:00:00.000Z`), unique per loop and scheduled time. */
  tick: z.string().min(1),
  /** When the tick was due, epoch ms: the market time the signal is about. */
  scheduledAt: epochMs,
  action: z.enum(SIGNAL_ACTIONS),
  /** 0..1: how sure the analysis is of `action`. */
  confidence: z.number().min(0).max(1),
  /** -1 (sell) .. +1 (buy): the weighted indicator score behind `action`. */
  score: z.number().min(-1).max(1),
  /** One line per contribution to the score, and the decision; for people and prompts. */
  reasons: z.array(z.string()),
  indicators: INDICATOR_SNAPSHOT_SCHEMA,
  /** When the signal was made, epoch ms on the runtime's clock. */
  generatedAt: epochMs,
  cycleId: z.string().min(1),
  /** Where the candles came from; `simulated: true` must be shown wherever the signal is. */
  source: z.object({ feed: z.string().min(1), simulated: z.boolean() }).optional(),
  /** The pipeline's stages after the built-in analysis, in order. */
  stages: z.array(SIGNAL_STAGE_SCHEMA).optional(),
});

export type Signal = z.infer<typeof SIGNAL_SCHEMA>;
export type SignalStage = z.infer<typeof SIGNAL_STAGE_SCHEMA>;

/** A signal read from outside, or what is wrong with it: `path: problem` per issue, `; `-joined. */
export type SignalRead =
  | { readonly ok: true; readonly signal: Signal }
  | { readonly ok: false; readonly problem: string };

/**
 * Checks data that should be a {@link Signal} (from Redis, a webhook, a
 * file) and names each problem's path.
 *
 * @example
 * const read = readSignal(JSON.parse(message));
 * if (!read.ok) logger.warn({ problem: read.problem }, 'channel:raw-signals: not a signal');
 */
export function readSignal(data: unknown): SignalRead {
  const result = SIGNAL_SCHEMA.safeParse(data);
  if (result.success) return { ok: true, signal: result.data };
  const problem = result.error.issues
    .map((issue) => `${issue.path.length === 0 ? 'signal' : issue.path.join('.')}: ${issue.message}`)
    .join('; ');
  return { ok: false, problem };
}
