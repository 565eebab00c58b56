/**
 * An LLM stage of the signals pipeline: one chat-completions call to any
 * OpenAI-compatible server (OpenRouter, OpenAI, Ollama, vLLM, llama.cpp's
 * server), with a prompt filled from the stage's input and a JSON answer
 * validated by a zod schema.
 *
 * What the runtime sees from one call:
 *
 * | what happened                                        | the call rejects with                     | retried | breaker   |
 * | ---------------------------------------------------- | ----------------------------------------- | ------- | --------- |
 * | a valid answer                                       | (resolves with {@link LlmAnswer})         | -       | success   |
 * | answer not JSON, or not matching the schema          | `LlmOutputError` (path, expected, got)    | yes     | failure * |
 * | 429                                                  | `RateLimitedError` (Retry-After honoured) | yes     | no count  |
 * | 5xx, 408, 409, refused or reset, 200 with an error   | `LlmUnavailableError`                     | yes     | failure   |
 * | no answer within `timeout` (the request is aborted)  | `TimeoutError`                            | yes     | failure   |
 * | 400, 401, 403, 404, other 4xx, a 200 that is no API  | `TerminalError` saying how to fix it      | no      | failure * |
 * | the item's own timeout (the request is aborted)      | the runtime's `TimeoutError`              | yes     | failure   |
 * | shutdown or a lost lease (the request is aborted)    | the signal's reason                       | no      | no count  |
 *
 * "breaker" is what the runtime's `llm_service` breaker records when the
 * loop declares `policies.uses: [llm_service]`. The runtime accounts for the
 * whole attempt of an item (every stage it runs), not for each call: one
 * rate-limit token, one latency sample and one breaker verdict per attempt.
 * (*) it counts every error but a 429 and an abort, these two included,
 * though they are not outages. `onCallEnd` reports each call on its own.
 *
 * The API key is sent only in the Authorization header: it is never part
 * of an error, and text the server sends back is scrubbed of it.
 */
import type OpenAI from 'openai';
import { z } from 'zod';
import { ConfigError, type ConfigIssue } from '../../config/config-error.ts';
import { validate } from '../../config/zod-issues.ts';
import type { Tick } from '../../core/cycle-record.ts';
import { TerminalError, TimeoutError } from '../../core/errors.ts';
import { loadOptional, MissingPackageError } from '../../core/optional-package.ts';
import { type Clock, timeoutSignal } from '../../time/clock.ts';
import { type Duration, parseDuration } from '../../time/duration.ts';
import { callOutcome, keyScrubber, type LlmCallOutcome, type LlmCallSite } from './llm-call.ts';
import {
  describeOutputFormat,
  LLM_SIGNAL_SCHEMA,
  LlmOutputError,
  type LlmSignal,
  parseLlmOutput,
} from './llm-output.ts';
import {
  compileTemplate,
  type PlaceholderShape,
  type PlaceholderShapes,
  type PromptTemplate,
} from './prompt-template.ts';

/** What every LLM stage is given: the symbol, its tick, the indicator snapshot and the previous stage's output. */
export interface StageInput {
  readonly symbol: string;
  readonly tick: Tick;
  /** The indicator snapshot (rendered as compact JSON by `{{indicators}}`). */
  readonly indicators: unknown;
  /** The previous stage's output (`null` for the first stage). */
  readonly previous: unknown;
  /** Extra fields the pipeline declares in {@link LlmStageOptions.inputs}. */
  readonly [extra: string]: unknown;
}

/** The parts of an item's context a stage needs; an `ItemContext` is one. */
export interface StageContext {
  /** The item's signal: aborts on its timeout, shutdown or a lost lease. */
  readonly signal: AbortSignal;
  readonly clock: Clock;
}

/** A successful call. */
export interface LlmAnswer<T> {
  readonly value: T;
  /** The model as the server named it in its answer (may differ from the one asked for, e.g. a dated version). */
  readonly model: string;
  /** From sending the request to a validated answer, on the stage's clock. */
  readonly latencyMs: number;
  readonly usage?: { readonly promptTokens: number; readonly completionTokens: number };
}

export interface LlmCallEnd {
  readonly stage: string;
  readonly model: string;
  readonly outcome: LlmCallOutcome;
  readonly latencyMs: number;
  /** The HTTP status, when the server answered. */
  readonly status?: number;
}

export interface LlmStageOptions<T = LlmSignal> {
  /** The stage's name (`score`), in errors and as `{{stage}}`. */
  name: string;
  /** The server's OpenAI-compatible base URL, e.g. `https://openrouter.ai/api/v1`, `http://localhost:11434/v1`. */
  baseURL: string;
  /** Sent as `Authorization: Bearer <key>`. Local servers (Ollama, llama.cpp) accept any; omit it for them. */
  apiKey?: string;
  /** The model as the server names it, e.g. `openai/gpt-4o-mini` on OpenRouter, `llama3.1` on Ollama. */
  model: string;
  /** System prompt template. */
  system?: string;
  /** User prompt template. See {@link STAGE_INPUT_SHAPES} for the placeholders. */
  user: string;
  /** The answer's schema. Default {@link LLM_SIGNAL_SCHEMA}: `{ action, confidence, rationale }`. */
  schema?: z.ZodType<T>;
  /** Default 0.2. */
  temperature?: number;
  /** Sent as `max_tokens` (the field every compatible server knows). Default 400. */
  maxTokens?: number;
  /** Per-call timeout; the HTTP request is aborted when it passes. Default `10s` (seed 002's per-symbol timeout). */
  timeout?: Duration;
  /**
   * `json_object` (default) sends `response_format: { type: 'json_object' }`;
   * `none` sends nothing, for servers that reject the field. The answer is
   * searched for a JSON object either way.
   */
  responseFormat?: 'json_object' | 'none';
  /** How long a 429 without a usable Retry-After header pauses the rate limit. Default `5s` (seed 002's retry delay). */
  defaultRetryAfter?: Duration;
  /** Placeholders for extra input fields the pipeline passes, beyond {@link STAGE_INPUT_SHAPES}. */
  inputs?: PlaceholderShapes;
  /** Called once per HTTP call with its outcome and latency (a per-call hook for metrics or a latency window). */
  onCallEnd?: (end: LlmCallEnd) => void;
  /** Where the options were written, for config errors. Default `createLlmStage(<name>)`. */
  source?: { readonly file: string; readonly path: string };
}

/** A configured LLM stage. */
export interface LlmStage<T = LlmSignal> {
  readonly name: string;
  readonly model: string;
  readonly timeoutMs: number;
  /** One call: renders the prompts, asks the server, validates the answer. Rejects per the table above. */
  run(input: StageInput, ctx: StageContext): Promise<LlmAnswer<T>>;
}

/**
 * The placeholders every LLM stage's templates may use. `time` is the
 * tick's scheduled time as ISO 8601; `format` is the answer's schema as JSON
 * Schema; `indicators` and `previous` are open (their fields are checked when
 * a prompt is rendered).
 */
export const STAGE_INPUT_SHAPES: PlaceholderShapes = {
  symbol: 'value',
  tick: { id: 'value', loop: 'value', trigger: 'value', scheduledAt: 'value' },
  time: 'value',
  indicators: 'open',
  previous: 'open',
  stage: 'value',
  model: 'value',
  format: 'value',
};

function shapeSchema(): z.ZodType<PlaceholderShape> {
  const shape: z.ZodType<PlaceholderShape> = z.lazy(() =>
    z.union([z.literal('value'), z.literal('open'), z.record(z.string(), shape)], {
      error: '"value", "open", or a mapping of fields to those',
    }),
  );
  return shape;
}

/**
 * A zod 4 schema by its shape, not its class: the compiled package carries its
 * own copy of zod (dist/vendor), so a user's schema is not an instance of it.
 */
function isZodSchema(v: unknown): v is z.ZodType {
  return (
    typeof v === 'object' && v !== null && '_zod' in v && typeof (v as { safeParse?: unknown }).safeParse === 'function'
  );
}

const optionsSchema = z.strictObject({
  name: z.string().min(1),
  baseURL: z.url({ protocol: /^https?$/, error: 'an http(s) URL like https://openrouter.ai/api/v1' }),
  apiKey: z.string().min(1).optional(),
  model: z.string().min(1, { error: 'a model name, e.g. "openai/gpt-4o-mini" (OpenRouter) or "llama3.1" (Ollama)' }),
  system: z.string().optional(),
  user: z.string(),
  schema: z.custom<z.ZodType>(isZodSchema, { error: 'a zod schema' }).optional(),
  temperature: z.number().min(0).max(2).optional(),
  maxTokens: z.int().min(1).optional(),
  timeout: z.custom<Duration>((v) => (parseDuration(v) ?? 0) > 0, { error: 'a duration > 0 like "10s"' }).optional(),
  responseFormat: z.enum(['json_object', 'none']).optional(),
  defaultRetryAfter: z
    .custom<Duration>((v) => parseDuration(v) !== undefined, { error: 'a duration like "5s"' })
    .optional(),
  inputs: z.record(z.string(), shapeSchema()).optional(),
  onCallEnd: z.function().optional(),
  source: z.object({ file: z.string(), path: z.string() }).optional(),
});

/**
 * Validates the options and compiles the templates (a bad placeholder is a
 * {@link ConfigError} now), and returns the stage.
 *
 * @example
 * const score = createLlmStage({
 *   name: 'score', baseURL: 'https://openrouter.ai/api/v1', apiKey: env.OPENROUTER_API_KEY, model: 'openai/gpt-4o-mini',
 *   user: 'Rate this signal for {{symbol}} given {{indicators}}: {{previous}}. Answer with JSON: {{format}}',
 * });
 * const { value } = await score.run({ symbol, tick, indicators, previous }, itemCtx); // { action, confidence, rationale }
 */
export function createLlmStage<T = LlmSignal>(options: LlmStageOptions<T>): LlmStage<T> {
  const source = options?.source ?? { file: `createLlmStage(${String(options?.name ?? '?')})`, path: '' };
  const checked = validate(optionsSchema, options, source.file, source.path ? source.path.split('.') : []);
  const issues: ConfigIssue[] = checked.ok ? [] : [...checked.issues];
  const at = (field: string) => ({ file: source.file, path: source.path ? `${source.path}.${field}` : field });
  // Templates are checked even when other options are wrong, so one error lists every problem.
  const inputs = checked.ok ? options.inputs : undefined;
  const shapes = { ...STAGE_INPUT_SHAPES, ...inputs };
  const compile = (field: 'system' | 'user', text: unknown): PromptTemplate | undefined => {
    if (typeof text !== 'string') return undefined;
    try {
      return compileTemplate(text, shapes, at(field));
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      issues.push(...error.issues);
      return undefined;
    }
  };
  const system = compile('system', options?.system);
  const user = compile('user', options?.user);
  if (issues.length > 0 || !user) throw new ConfigError(issues);
  return new ChatStage<T>(options, system, user);
}

export { type LlmCallOutcome, LlmUnavailableError } from './llm-call.ts';

type LlmSdk = typeof import('./llm-sdk.ts');

/** One stage: its client and compiled prompts. */
class ChatStage<T> implements LlmStage<T> {
  readonly name: string;
  readonly model: string;
  readonly timeoutMs: number;
  readonly #o: LlmStageOptions<T>;
  readonly #schema: z.ZodType<T>;
  readonly #format: string;
  readonly #system: PromptTemplate | undefined;
  readonly #user: PromptTemplate;
  #client: Promise<{ sdk: LlmSdk; client: OpenAI }> | null = null;
  readonly #where: string;
  readonly #site: LlmCallSite;

  constructor(options: LlmStageOptions<T>, system: PromptTemplate | undefined, user: PromptTemplate) {
    this.#o = options;
    this.name = options.name;
    this.model = options.model;
    this.timeoutMs = parseDuration(options.timeout ?? '10s') as number;
    this.#schema = options.schema ?? (LLM_SIGNAL_SCHEMA as unknown as z.ZodType<T>);
    this.#format = describeOutputFormat(this.#schema);
    this.#system = system;
    this.#user = user;
    const scrub = keyScrubber(options.apiKey);
    this.#where = `llm stage "${options.name}" (model ${options.model} at ${scrub(options.baseURL)})`;
    this.#site = {
      where: this.#where,
      timeoutMs: this.timeoutMs,
      defaultRetryAfterMs: parseDuration(options.defaultRetryAfter ?? '5s') as number,
      scrub,
    };
  }

  /**
   * The SDK and this stage's client, loaded at the first call: a missing
   * openai package fails the call as terminal, naming what to install.
   */
  #connect(): Promise<{ sdk: LlmSdk; client: OpenAI }> {
    const options = this.#o;
    this.#client ??= loadOptional(`LLM stages (${this.#where})`, ['openai@6.49.0'], () => import('./llm-sdk.ts')).then(
      (sdk) => {
        const client = new sdk.OpenAI({
          baseURL: options.baseURL,
          // The SDK refuses to start without a key; local servers ignore it.
          apiKey: options.apiKey ?? 'no-key',
          // Retries belong to the runtime's retry policy (and its breaker and rate limit), not to the SDK.
          maxRetries: 0,
          // A backstop in real time: the stage's own timeout, on its clock, fires first.
          timeout: Math.ceil(this.timeoutMs) + 1_000,
          logLevel: 'off',
          // Nothing from OPENAI_* env variables: the options are the whole config.
          organization: null,
          project: null,
          adminAPIKey: null,
          webhookSecret: null,
        });
        return { sdk, client };
      },
      (error: unknown) => {
        this.#client = null;
        throw error instanceof MissingPackageError ? new TerminalError(error.message, { cause: error }) : error;
      },
    );
    return this.#client;
  }

  async run(input: StageInput, ctx: StageContext): Promise<LlmAnswer<T>> {
    const { sdk, client } = await this.#connect();
    const values = {
      ...input,
      time: new Date(input.tick.scheduledAt).toISOString(),
      stage: this.name,
      model: this.model,
      format: this.#format,
    };
    const messages: Array<{ role: 'system' | 'user'; content: string }> = [];
    if (this.#system) messages.push({ role: 'system', content: this.#system.render(values) });
    messages.push({ role: 'user', content: this.#user.render(values) });
    const { clock } = ctx;
    const call = timeoutSignal(clock, this.timeoutMs, ctx.signal, () => new TimeoutError(this.timeoutMs, this.#where));
    const started = clock.monotonic();
    let status: number | undefined;
    try {
      const completion = await client.chat.completions.create(
        {
          model: this.model,
          messages,
          temperature: this.#o.temperature ?? 0.2,
          max_tokens: this.#o.maxTokens ?? 400,
          ...(this.#o.responseFormat === 'none' ? {} : { response_format: { type: 'json_object' as const } }),
        },
        { signal: call.signal },
      );
      status = 200;
      const value = this.#read(completion, sdk);
      const latencyMs = clock.monotonic() - started;
      this.#report('ok', latencyMs, status);
      const usage = completion.usage
        ? { promptTokens: completion.usage.prompt_tokens, completionTokens: completion.usage.completion_tokens }
        : undefined;
      return { value, model: completion.model || this.model, latencyMs, ...(usage ? { usage } : {}) };
    } catch (error) {
      const mapped = sdk.toRuntimeError(error, this.#site, { item: ctx.signal, call: call.signal }, clock);
      if (error instanceof sdk.APIError && typeof error.status === 'number') status = error.status;
      this.#report(callOutcome(mapped, ctx.signal), clock.monotonic() - started, status);
      throw mapped;
    } finally {
      call.dispose();
    }
  }

  /** The validated answer of a completion; an LlmOutputError when it has none. */
  #read(completion: OpenAI.Chat.Completions.ChatCompletion, sdk: LlmSdk): T {
    const notOne = sdk.notACompletion(completion, this.#site);
    if (notOne) throw notOne;
    const choice = completion.choices[0];
    const content = choice?.message?.content ?? '';
    try {
      return parseLlmOutput(content, this.#schema, this.#where);
    } catch (error) {
      if (error instanceof LlmOutputError && choice?.finish_reason === 'length') {
        throw new LlmOutputError(
          `${error.message}; the answer stopped at maxTokens (${this.#o.maxTokens ?? 400}): raise maxTokens`,
          error.issues,
          error.excerpt,
        );
      }
      throw error;
    }
  }

  #report(outcome: LlmCallOutcome, latencyMs: number, status: number | undefined): void {
    const hook = this.#o.onCallEnd;
    if (!hook) return;
    const end: LlmCallEnd = { stage: this.name, model: this.model, outcome, latencyMs };
    hook(status === undefined ? end : { ...end, status });
  }
}
