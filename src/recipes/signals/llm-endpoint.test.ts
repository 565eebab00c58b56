import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError } from '../../config/config-error.ts';
import { llmEndpointFromEnv, OPENAI_BASE_URL, OPENROUTER_BASE_URL } from './llm-endpoint.ts';

describe('llmEndpointFromEnv', () => {
  it('is absent, with how to enable it, when nothing is set (empty counts as unset)', () => {
    const setting = llmEndpointFromEnv({ LLM_API_KEY: '', PATH: '/bin' });
    assert.equal(setting.kind, 'absent');
    assert.match(setting.kind === 'absent' ? setting.reason : '', /set LLM_BASE_URL .* or OPENROUTER_API_KEY/);
  });

  it("takes seed 002's OPENROUTER_API_KEY with OpenRouter's base URL", () => {
    assert.deepEqual(llmEndpointFromEnv({ OPENROUTER_API_KEY: 'sk-or-1', LLM_MODEL: 'openai/gpt-4o-mini' }), {
      kind: 'configured',
      endpoint: {
        baseURL: OPENROUTER_BASE_URL,
        apiKey: 'sk-or-1',
        model: 'openai/gpt-4o-mini',
        from: 'OPENROUTER_API_KEY',
      },
    });
  });

  it('prefers LLM_* over the others, and a local server needs no key', () => {
    const env = { LLM_BASE_URL: 'http://localhost:11434/v1', OPENROUTER_API_KEY: 'k1', OPENAI_API_KEY: 'k2' };
    const setting = llmEndpointFromEnv(env);
    assert.deepEqual(setting.kind === 'configured' && setting.endpoint, {
      baseURL: 'http://localhost:11434/v1',
      apiKey: 'k1',
      from: 'LLM_BASE_URL + OPENROUTER_API_KEY',
    });
    const local = llmEndpointFromEnv({ LLM_BASE_URL: 'http://127.0.0.1:8080/v1' });
    assert.deepEqual(local.kind === 'configured' && local.endpoint, {
      baseURL: 'http://127.0.0.1:8080/v1',
      from: 'LLM_BASE_URL',
    });
    const openai = llmEndpointFromEnv({ OPENAI_API_KEY: 'k2' });
    assert.equal(openai.kind === 'configured' && openai.endpoint.baseURL, OPENAI_BASE_URL);
  });

  it('refuses a key without a server, and a base URL that is not http(s), naming the variable', () => {
    assert.throws(
      () => llmEndpointFromEnv({ LLM_API_KEY: 'secret-key-1234' }),
      (error: unknown) =>
        error instanceof ConfigError &&
        /^environment: LLM_BASE_URL: expected the server's OpenAI-compatible base URL/.test(error.message) &&
        !error.message.includes('secret-key-1234'),
    );
    assert.throws(() => llmEndpointFromEnv({ LLM_BASE_URL: 'localhost:11434' }), {
      name: 'ConfigError',
      message:
        'environment: LLM_BASE_URL: expected an http(s) URL like https://openrouter.ai/api/v1, got "localhost:11434"',
    });
  });
});
