import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkInteger, checkNumber } from './check-option.ts';

describe('checkInteger / checkNumber', () => {
  it('return valid values unchanged', () => {
    assert.equal(checkInteger('n', 3, { min: 1, max: 3 }), 3);
    assert.equal(checkNumber('x', 0.5, { above: 0, below: 1 }), 0.5);
  });

  it('reject with one template: what, expected, got (type)', () => {
    assert.throws(() => checkInteger('n', '3', { min: 1 }), {
      name: 'RangeError',
      message: 'Expected `n` to be an integer >= 1, got `3` (string)',
    });
    assert.throws(() => checkNumber('x', Number.POSITIVE_INFINITY, { min: 0 }), {
      message: 'Expected `x` to be a finite number >= 0, got `Infinity` (number)',
    });
    assert.throws(() => checkNumber('x', 1, { above: 0, below: 1 }), {
      message: 'Expected `x` to be a finite number > 0 and < 1, got `1` (number)',
    });
    assert.throws(() => checkInteger('n', undefined, { min: 1 }), {
      message: 'Expected `n` to be an integer >= 1, got `undefined` (undefined)',
    });
  });
});
