import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError } from '../../config/config-error.ts';
import { TerminalError } from '../../core/errors.ts';
import { compileTemplate, type PlaceholderShapes, PromptTemplateError } from './prompt-template.ts';

const shapes: PlaceholderShapes = {
  symbol: 'value',
  tick: { id: 'value', scheduledAt: 'value' },
  indicators: 'open',
  previous: 'open',
};
const where = { file: 'signals.yaml', path: 'stages.score.user' };

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  assert.fail('expected a ConfigError');
}

describe('compileTemplate', () => {
  it('fills values, dotted paths, objects as compact JSON, and keeps single braces as text', () => {
    const t = compileTemplate(
      'Symbol {{symbol}} at {{ tick.scheduledAt }}: rsi={{indicators.rsi}} all={{indicators}} macd={{indicators.macd.0}} prev={{previous}} {"json": 1}',
      shapes,
      where,
    );
    const text = t.render({
      symbol: 'BTC/USD',
      tick: { id: 't1', scheduledAt: 1_700_000_000_000 },
      indicators: { rsi: 28.5, macd: [0.1, 0.2], ok: true },
      previous: null,
    });
    assert.equal(
      text,
      'Symbol BTC/USD at 1700000000000: rsi=28.5 all={"rsi":28.5,"macd":[0.1,0.2],"ok":true} macd=0.1 prev=null {"json": 1}',
    );
    assert.deepEqual(t.placeholders, [
      'symbol',
      'tick.scheduledAt',
      'indicators.rsi',
      'indicators',
      'indicators.macd.0',
      'previous',
    ]);
  });

  it('renders a whole closed object as JSON', () => {
    const t = compileTemplate('{{tick}}', shapes, where);
    assert.equal(t.render({ tick: { id: 'a', scheduledAt: 1 } }), '{"id":"a","scheduledAt":1}');
  });

  it('rejects unknown placeholders at compile time, every one, with position and a suggestion', () => {
    const error = configError(() =>
      compileTemplate('Hi {{symbl}}\n{{tick.idd}} {{tick.id.x}} {{ 9lives }} {{unclosed', shapes, where),
    );
    const lines = error.message.split('\n');
    assert.equal(lines.length, 5, error.message);
    assert.match(
      lines[0] ?? '',
      /^signals\.yaml: stages\.score\.user: expected a placeholder naming one of: symbol, tick, tick\.id/,
    );
    assert.match(lines[0] ?? '', /got "\{\{symbl\}\}" at line 1, column 4; did you mean "symbol"\?$/);
    assert.match(
      lines[1] ?? '',
      /expected a field of tick: one of id, scheduledAt, got "\{\{tick\.idd\}\}" at line 2, column 1; did you mean "tick\.id"\?/,
    );
    assert.match(
      lines[2] ?? '',
      /expected tick\.id on its own \(it is a value, with no fields\), got "\{\{tick\.id\.x\}\}"/,
    );
    assert.match(lines[3] ?? '', /expected a placeholder like \{\{symbol\}\}.*got "\{\{ 9lives \}\}" at line 2/);
    assert.match(lines[4] ?? '', /got "\{\{unclosed" at line 2, column \d+; it is not closed with \}\}$/);
    assert.equal(error.issues[0]?.path, 'stages.score.user');
  });

  it('fails a render whose open path is missing with a terminal error naming what the input has', () => {
    const t = compileTemplate('rsi {{indicators.rsi14}}', shapes, where);
    assert.throws(
      () => t.render({ indicators: { rsi: 1, ema: 2 } }),
      (error: unknown) =>
        error instanceof PromptTemplateError &&
        error instanceof TerminalError &&
        error.message ===
          'signals.yaml: stages.score.user: placeholder {{indicators.rsi14}}: expected the input to have indicators.rsi14, got indicators has rsi, ema',
    );
    assert.throws(() => t.render({ indicators: null }), /got indicators is null/);
    assert.throws(() => compileTemplate('{{symbol}}', shapes, where).render({}), /expected the input to have symbol/);
  });

  it('does not read inherited properties', () => {
    const t = compileTemplate('{{previous.constructor}}', shapes, where);
    assert.throws(() => t.render({ previous: {} }), PromptTemplateError);
  });
});
