import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { findJsonSyntaxError } from './json-syntax.ts';

function parses(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

describe('findJsonSyntaxError', () => {
  it('points at the first bad character', () => {
    assert.deepEqual(findJsonSyntaxError('{"a":}'), {
      position: 5,
      line: 1,
      column: 6,
      problem: 'unexpected "}"; expected a value',
    });
    assert.deepEqual(findJsonSyntaxError('{\n  "a": 1,\n  "b" 2\n}'), {
      position: 18,
      line: 3,
      column: 7,
      problem: 'unexpected "2"; expected ":" after the property name',
    });
    assert.equal(findJsonSyntaxError('{"a":1')?.problem, 'unexpected end of input');
    assert.equal(findJsonSyntaxError('[1,]')?.position, 3);
    assert.equal(findJsonSyntaxError('{"a":1}x')?.problem, 'unexpected "x" after the end of the JSON value');
    assert.equal(findJsonSyntaxError('"abc')?.problem, 'unterminated string');
    assert.equal(findJsonSyntaxError('"\\x"')?.problem, 'invalid escape in string');
    assert.equal(findJsonSyntaxError('01')?.position, 1);
    assert.equal(findJsonSyntaxError('-')?.problem, 'invalid number');
    assert.equal(findJsonSyntaxError('')?.problem, 'unexpected end of input');
  });

  it('accepts valid JSON, deeply nested included, without overflowing the stack', () => {
    for (const text of ['{}', '[]', ' {"a":[1,-2.5e3,true,null,"\\u00e9\\n"]} ', '"x"', '0', '[[[]]]']) {
      assert.equal(findJsonSyntaxError(text), undefined, text);
    }
    const deep = `${'['.repeat(60_000)}${']'.repeat(60_000)}`;
    assert.equal(findJsonSyntaxError(deep), undefined);
    assert.equal(findJsonSyntaxError(`${'['.repeat(60_000)}`)?.problem, 'unexpected end of input');
  });

  it('agrees with JSON.parse on valid JSON and on its mutations', () => {
    fc.assert(
      fc.property(
        fc.json(),
        fc.nat(),
        fc.constantFrom('', '}', ']', ',', ':', '"', '\\', 'x', ' ', '0'),
        (json, at, insert) => {
          assert.equal(findJsonSyntaxError(json), undefined, json);
          const i = at % (json.length + 1);
          const mutated = json.slice(0, i) + insert + json.slice(i);
          assert.equal(findJsonSyntaxError(mutated) === undefined, parses(mutated), mutated);
        },
      ),
      { numRuns: 2_000 },
    );
  });

  it('agrees with JSON.parse on arbitrary short strings', () => {
    const alphabet = fc.constantFrom(...'{}[]":,.-+eE0123456789 \\ntrufalsn'.split(''));
    fc.assert(
      fc.property(fc.string({ unit: alphabet, maxLength: 12 }), (text) => {
        assert.equal(findJsonSyntaxError(text) === undefined, parses(text), text);
      }),
      { numRuns: 5_000 },
    );
  });
});
