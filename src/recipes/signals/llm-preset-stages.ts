/**
 * Default prompts for the original signal runner's pipeline, Signal -> Score -> Advise ->
 * Report, one LLM stage each. Each stage reads the indicator snapshot and
 * the previous stage's output; the first three answer `{ action,
 * confidence, rationale }`, Report answers `{ summary }` for the dashboard.
 * Short on purpose: a user replaces them in config, and every placeholder is
 * checked when the stage is created.
 */
import { z } from 'zod';
import { LLM_SIGNAL_SCHEMA, type LlmSignal } from './llm-output.ts';
import { createLlmStage, type LlmStage, type LlmStageOptions } from './llm-stage.ts';

/** The Report stage's answer: a summary of at most a few sentences. */
export const REPORT_SCHEMA = z.object({ summary: z.string().min(1) });

export type ReportOutput = z.infer<typeof REPORT_SCHEMA>;

/** What each of the preset stages answers. */
export interface PresetStageOutputs {
  signal: LlmSignal;
  score: LlmSignal;
  advise: LlmSignal;
  report: ReportOutput;
}

export type PresetStageName = keyof PresetStageOutputs;

/** One stage's default prompts and schema. */
export interface PresetStagePrompts<T> {
  readonly system: string;
  readonly user: string;
  readonly schema: z.ZodType<T>;
}

const ONLY_JSON = 'Answer with one JSON object and nothing else.';

export const PRESET_LLM_STAGES: { readonly [N in PresetStageName]: PresetStagePrompts<PresetStageOutputs[N]> } = {
  signal: {
    system: `You are the Signal stage of a crypto trading-signal pipeline: from technical indicators you recommend BUY, SELL or HOLD. ${ONLY_JSON}`,
    user: [
      'Symbol: {{symbol}}',
      'Time: {{time}}',
      'Indicators: {{indicators}}',
      'Built-in analysis: {{previous}}',
      '',
      'Recommend an action for the next minute. Answer with JSON matching this schema: {{format}}',
    ].join('\n'),
    schema: LLM_SIGNAL_SCHEMA,
  },
  score: {
    system: `You are the Score stage: you rate how well a proposed trading signal is supported by its indicators. ${ONLY_JSON}`,
    user: [
      'Symbol: {{symbol}}',
      'Indicators: {{indicators}}',
      'Proposed signal: {{previous}}',
      '',
      'Keep or change the action; set confidence to how strongly the indicators support it (0 none, 1 fully).',
      'Answer with JSON matching this schema: {{format}}',
    ].join('\n'),
    schema: LLM_SIGNAL_SCHEMA,
  },
  advise: {
    system: `You are the Advise stage: you turn a scored signal into cautious advice for a trader. ${ONLY_JSON}`,
    user: [
      'Symbol: {{symbol}}',
      'Indicators: {{indicators}}',
      'Scored signal: {{previous}}',
      '',
      'Give the final action (HOLD when confidence is below 0.5), its confidence and a one-sentence rationale.',
      'Answer with JSON matching this schema: {{format}}',
    ].join('\n'),
    schema: LLM_SIGNAL_SCHEMA,
  },
  report: {
    system: `You are the Report stage: you write a plain summary of a trading signal for a dashboard. ${ONLY_JSON}`,
    user: [
      'Symbol: {{symbol}}',
      'Time: {{time}}',
      'Advice: {{previous}}',
      '',
      'Summarise in at most two sentences: the action, the confidence, and why.',
      'Answer with JSON matching this schema: {{format}}',
    ].join('\n'),
    schema: REPORT_SCHEMA,
  },
};

/**
 * One of the original signal runner's stages with its default prompts; `options` sets the
 * endpoint and model and may replace any prompt or setting.
 *
 * @example
 * const setting = llmEndpointFromEnv(process.env);
 * if (setting.kind === 'configured') {
 *   const score = presetLlmStage('score', { ...setting.endpoint, model: setting.endpoint.model ?? 'openai/gpt-4o-mini' });
 * }
 */
export function presetLlmStage<N extends PresetStageName>(
  name: N,
  options: Omit<LlmStageOptions<PresetStageOutputs[N]>, 'name' | 'user'> & { user?: string; from?: string },
): LlmStage<PresetStageOutputs[N]> {
  const { from: _from, ...rest } = options;
  const prompts = PRESET_LLM_STAGES[name] as PresetStagePrompts<PresetStageOutputs[N]>;
  return createLlmStage<PresetStageOutputs[N]>({
    name,
    system: prompts.system,
    user: prompts.user,
    schema: prompts.schema,
    ...rest,
  });
}
