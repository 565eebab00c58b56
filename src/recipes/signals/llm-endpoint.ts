/**
 * Where the LLM stages send their calls, read from environment variables, so
 * the same config runs against OpenRouter, OpenAI, or a local Ollama, vLLM or
 * llama.cpp server, and offline when none is set.
 *
 * | variable             | meaning                                                                  |
 * | -------------------- | ------------------------------------------------------------------------ |
 * | `LLM_BASE_URL`       | the server's OpenAI-compatible base URL (`http://localhost:11434/v1`)    |
 * | `LLM_API_KEY`        | its key, sent as `Authorization: Bearer`; omit for local servers         |
 * | `LLM_MODEL`          | the model name as the server knows it                                    |
 * | `OPENROUTER_API_KEY` | seed 002's variable: a key for OpenRouter (base URL defaults to it)      |
 * | `OPENAI_API_KEY`, `OPENAI_BASE_URL` | the OpenAI SDK's own variables, used when the above are unset |
 *
 * Keys: `LLM_API_KEY`, else `OPENROUTER_API_KEY`, else `OPENAI_API_KEY`.
 * Base URL: `LLM_BASE_URL`, else `OPENAI_BASE_URL`, else the URL of the
 * service whose key was found (OpenRouter or OpenAI). An empty variable
 * counts as unset. Reads only the `env` it is given.
 */
import { ConfigError } from '../../config/config-error.ts';
import type { Env } from '../../config/interpolate.ts';

export const OPENROUTER_BASE_URL = 'https://openrouter.ai/api/v1';
export const OPENAI_BASE_URL = 'https://api.openai.com/v1';

/** A resolved endpoint. `apiKey` is a secret: never log it. */
export interface LlmEndpoint {
  readonly baseURL: string;
  readonly apiKey?: string;
  readonly model?: string;
  /** Which variables it came from, for logs and status: `LLM_BASE_URL + OPENROUTER_API_KEY`. */
  readonly from: string;
}

/** `configured`: call this endpoint. `absent`: nothing is set; run without the LLM stages (the reason says how to enable them). */
export type LlmEndpointSetting =
  | { readonly kind: 'configured'; readonly endpoint: LlmEndpoint }
  | { readonly kind: 'absent'; readonly reason: string };

const ENABLE_HINT =
  'set LLM_BASE_URL (plus LLM_API_KEY and LLM_MODEL) for any OpenAI-compatible server, or OPENROUTER_API_KEY for OpenRouter';

/**
 * @example
 * const setting = llmEndpointFromEnv(process.env);
 * if (setting.kind === 'configured') {
 *   const { baseURL, apiKey, model = 'openai/gpt-4o-mini' } = setting.endpoint;
 *   const stage = createLlmStage({ name: 'score', baseURL, apiKey, model, user: '...' });
 * }
 */
export function llmEndpointFromEnv(env: Env): LlmEndpointSetting {
  const read = (name: string) => {
    const value = env[name]?.trim();
    return value ? { name, value } : undefined;
  };
  const key = read('LLM_API_KEY') ?? read('OPENROUTER_API_KEY') ?? read('OPENAI_API_KEY');
  const explicitUrl = read('LLM_BASE_URL') ?? read('OPENAI_BASE_URL');
  const model = read('LLM_MODEL');
  if (!key && !explicitUrl) return { kind: 'absent', reason: `no LLM endpoint configured: ${ENABLE_HINT}` };
  const url =
    explicitUrl ??
    (key?.name === 'OPENROUTER_API_KEY'
      ? { name: 'OPENROUTER_API_KEY', value: OPENROUTER_BASE_URL }
      : key?.name === 'OPENAI_API_KEY'
        ? { name: 'OPENAI_API_KEY', value: OPENAI_BASE_URL }
        : undefined);
  if (!url) {
    throw new ConfigError([
      {
        file: 'environment',
        path: 'LLM_BASE_URL',
        expected:
          "the server's OpenAI-compatible base URL, e.g. https://openrouter.ai/api/v1 or http://localhost:11434/v1",
        got: 'nothing',
        hint: 'LLM_API_KEY is set but does not say which server it is for',
      },
    ]);
  }
  if (!isHttpUrl(url.value)) {
    throw new ConfigError([
      {
        file: 'environment',
        path: url.name,
        expected: 'an http(s) URL like https://openrouter.ai/api/v1',
        got: JSON.stringify(url.value),
      },
    ]);
  }
  const from = [...new Set([url.name, key?.name].filter(Boolean))].join(' + ');
  const endpoint: LlmEndpoint = {
    baseURL: url.value,
    ...(key ? { apiKey: key.value } : {}),
    ...(model ? { model: model.value } : {}),
    from,
  };
  return { kind: 'configured', endpoint };
}

function isHttpUrl(text: string): boolean {
  try {
    const url = new URL(text);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}
