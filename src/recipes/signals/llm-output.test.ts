import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { z } from 'zod';
import { TerminalError } from '../../core/errors.ts';
import {
  describeOutputFormat,
  extractJsonObject,
  LLM_SIGNAL_SCHEMA,
  LlmOutputError,
  parseLlmOutput,
} from './llm-output.ts';

const where = 'llm stage "score"';

function outputError(fn: () => unknown): LlmOutputError {
  try {
    fn();
  } catch (error) {
    if (error instanceof LlmOutputError) return error;
    throw error;
  }
  assert.fail('expected an LlmOutputError');
}

describe('extractJsonObject', () => {
  it('reads bare JSON, a fenced block, and an object inside prose', () => {
    assert.deepEqual(extractJsonObject('  {"a":1}\n'), { ok: true, value: { a: 1 } });
    assert.deepEqual(extractJsonObject('Here:\n```json\n{"a": {"b": "}"}}\n```\nDone.'), {
      ok: true,
      value: { a: { b: '}' } },
    });
    assert.deepEqual(extractJsonObject('```\n{"a":2}\n```'), { ok: true, value: { a: 2 } });
    assert.deepEqual(extractJsonObject('My answer is {"a": "x \\" {"} - thanks'), { ok: true, value: { a: 'x " {' } });
  });

  it('says why when there is no object', () => {
    assert.deepEqual(extractJsonObject(''), { ok: false, reason: 'empty content' });
    assert.deepEqual(extractJsonObject('I cannot help with that.'), {
      ok: false,
      reason: 'no JSON object in the text',
    });
    assert.deepEqual(extractJsonObject('[1, 2]'), { ok: false, reason: 'a JSON array, not an object' });
    assert.deepEqual(extractJsonObject('{"action":"BUY","confid'), {
      ok: false,
      reason: 'the JSON object is not closed (the answer looks cut off)',
    });
    const bad = extractJsonObject('{action: BUY}');
    assert.equal(bad.ok, false);
    assert.match(bad.ok ? '' : bad.reason, /^text that does not parse as JSON/);
  });
});

describe('parseLlmOutput with the default signal schema', () => {
  it('returns the validated value, action in any case, extra fields dropped', () => {
    const value = parseLlmOutput(
      '{"action":"buy","confidence":0.8,"rationale":"RSI oversold","x":1}',
      LLM_SIGNAL_SCHEMA,
      where,
    );
    assert.deepEqual(value, { action: 'BUY', confidence: 0.8, rationale: 'RSI oversold' });
  });

  it('fails with every issue: path, expected, got; retryable, not terminal', () => {
    const error = outputError(() =>
      parseLlmOutput('{"action":"STRONG_BUY","confidence":1.7}', LLM_SIGNAL_SCHEMA, where),
    );
    assert.ok(!(error instanceof TerminalError));
    assert.equal(error.name, 'LlmOutputError');
    assert.deepEqual(error.issues, [
      { path: 'action', expected: 'one of "BUY", "SELL", "HOLD"', got: '"STRONG_BUY"' },
      { path: 'confidence', expected: 'a number <= 1', got: '1.7' },
      { path: 'rationale', expected: 'string', got: 'nothing' },
    ]);
    assert.equal(
      error.message,
      'llm stage "score": the answer does not match the output schema: action: expected one of "BUY", "SELL", "HOLD", got "STRONG_BUY"; confidence: expected a number <= 1, got 1.7; rationale: expected string, got nothing',
    );
  });

  it('fails non-JSON with the reason and the start of the answer', () => {
    const error = outputError(() => parseLlmOutput(`Bullish! ${'x'.repeat(300)}`, LLM_SIGNAL_SCHEMA, where));
    assert.deepEqual(error.issues, []);
    assert.match(
      error.message,
      /^llm stage "score": expected the answer to be one JSON object, got no JSON object in the text; the answer began "Bullish! x+\.\.\."$/,
    );
    assert.equal(error.excerpt.length, 163);
  });
});

describe('describeOutputFormat', () => {
  it('gives compact JSON Schema without $schema', () => {
    assert.equal(
      describeOutputFormat(z.object({ summary: z.string() })),
      '{"type":"object","properties":{"summary":{"type":"string"}},"required":["summary"]}',
    );
    assert.match(describeOutputFormat(LLM_SIGNAL_SCHEMA), /"enum":\["BUY","SELL","HOLD"\]/);
  });
});
