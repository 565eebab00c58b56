import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isRetryOutcome, isSkipOutcome, RetryRequestedError, retryAfter, skipItem } from './outcome.ts';

describe('retryAfter', () => {
  it('takes milliseconds or a duration string', () => {
    assert.equal(retryAfter(1_500).afterMs, 1_500);
    assert.equal(retryAfter('2m').afterMs, 120_000);
    assert.equal(retryAfter(0).afterMs, 0);
    assert.deepEqual({ ...retryAfter('1s', 'busy') }, { kind: 'retry', afterMs: 1_000, reason: 'busy' });
  });

  it('is frozen and recognised by its brand, not its shape', () => {
    const outcome = retryAfter('5s');
    assert.ok(Object.isFrozen(outcome));
    assert.ok(isRetryOutcome(outcome));
    assert.equal(isRetryOutcome({ kind: 'retry', afterMs: 5_000 }), false);
    assert.equal(isRetryOutcome(JSON.parse(JSON.stringify(outcome))), false, 'a stored copy is plain data');
    assert.equal(isRetryOutcome({ ...outcome }), false, 'so is a spread copy');
    for (const value of [null, undefined, 'retry', 5]) assert.equal(isRetryOutcome(value), false);
  });

  it('rejects what is not a duration with the one template', () => {
    assert.throws(() => retryAfter(-1), {
      name: 'RangeError',
      message: 'Expected `after` to be a duration (ms >= 0, or a string like "30s"), got `-1` (number)',
    });
    assert.throws(() => retryAfter('soon'), /got `soon` \(string\)/);
    assert.throws(() => retryAfter(Number.POSITIVE_INFINITY), /got `Infinity`/);
  });
});

describe('RetryRequestedError', () => {
  it('says what was asked, and when no attempt is left', () => {
    const withReason = new RetryRequestedError(retryAfter(250, 'job still running'));
    assert.equal(withReason.name, 'RetryRequestedError');
    assert.equal(withReason.message, 'asked for a retry after 250 ms (job still running)');
    assert.equal(withReason.afterMs, 250);
    assert.equal(
      new RetryRequestedError(retryAfter('3s'), 4).message,
      'asked for a retry after 3000 ms, but no attempt is left (4 used)',
    );
  });
});

describe('skipItem', () => {
  it('is recognised by its brand, not its shape', () => {
    const outcome = skipItem('cycle budget used up');
    assert.ok(isSkipOutcome(outcome));
    assert.deepEqual({ ...outcome }, { kind: 'skip', reason: 'cycle budget used up' });
    assert.equal(isSkipOutcome({ kind: 'skip', reason: 'x' }), false);
    assert.equal(isRetryOutcome(outcome), false);
  });
});
