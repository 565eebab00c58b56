import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { backoffDelay, checkBackoffSchedule, fullJitterDelay } from './backoff.ts';

describe('backoffDelay', () => {
  it('without jitter: 100 ms doubling, capped at 30 s (a supervisor restarting a process)', () => {
    const schedule = { initialMs: 100, maxMs: 30_000, jitter: 'none' } as const;
    const delays = [1, 2, 3, 4, 9, 10, 11, 30].map((n) => backoffDelay(schedule, n));
    assert.deepEqual(delays, [100, 200, 400, 800, 25_600, 30_000, 30_000, 30_000]);
  });

  it('without jitter never reads the random source', () => {
    const random = () => assert.fail('random read without jitter');
    assert.equal(backoffDelay({ initialMs: 50, maxMs: 1_000, jitter: 'none' }, 2, random), 100);
  });

  it('a multiplier other than 2', () => {
    const schedule = { initialMs: 1_000, multiplier: 1.5, maxMs: 60_000, jitter: 'none' } as const;
    assert.deepEqual(
      [1, 2, 3].map((n) => backoffDelay(schedule, n)),
      [1_000, 1_500, 2_250],
    );
  });

  it('full jitter (the default) is the random fraction of the ceiling, floored', () => {
    const schedule = { initialMs: 1_000, maxMs: 5_000 };
    assert.deepEqual(
      [1, 2, 3, 4].map((n) => backoffDelay(schedule, n, () => 0.75)),
      [750, 1_500, 3_000, 3_750],
    );
    assert.equal(
      backoffDelay(schedule, 2, () => 0.9999),
      1_999,
      'uniform in [0, ceiling): never the ceiling',
    );
  });

  it('fullJitterDelay is full jitter with a multiplier of 2', () => {
    for (const n of [1, 2, 5, 12]) {
      assert.equal(
        fullJitterDelay(n, 1_000, 30_000, () => 0.5),
        backoffDelay({ initialMs: 1_000, maxMs: 30_000 }, n, () => 0.5),
      );
    }
    assert.equal(
      fullJitterDelay(3, 1_000, 30_000, () => 0.5),
      2_000,
    );
  });
});

describe('checkBackoffSchedule', () => {
  it('rejects bad numbers with the one template', () => {
    assert.throws(() => checkBackoffSchedule({ initialMs: -1, maxMs: 10 }), {
      message: 'Expected `initialMs` to be a finite number >= 0, got `-1` (number)',
    });
    assert.throws(() => checkBackoffSchedule({ initialMs: 1, maxMs: Number.NaN }), /`maxMs`/);
    assert.throws(
      () => checkBackoffSchedule({ initialMs: 1, maxMs: 10, multiplier: 0.5 }),
      /`multiplier` to be a finite number >= 1/,
    );
  });
});
