import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { maxInAnyWindow, nextGrantAt, takeFromLog, type WindowLog, windowWithMarginMs } from './window-log.ts';

describe('window log', () => {
  it('the margin is 5% of the window, capped at 1 s', () => {
    assert.equal(windowWithMarginMs(10_000), 10_500);
    assert.equal(windowWithMarginMs(60_000), 61_000);
    assert.equal(windowWithMarginMs(3_600_000), 3_601_000);
    assert.equal(windowWithMarginMs(1_000), 1_050);
  });

  it('grants while fewer than `limit` grants are in the window, and keeps only the newest `limit`', () => {
    let log: WindowLog = { grants: [], pausedUntil: null };
    for (const now of [0, 10, 20]) {
      const step = takeFromLog(log, 3, 1_000, now);
      assert.ok(step.granted);
      log = { ...log, grants: step.grants };
    }
    assert.deepEqual(takeFromLog(log, 3, 1_000, 500), { granted: false, waitMs: 500 });
    const step = takeFromLog(log, 3, 1_000, 1_000);
    assert.ok(step.granted);
    assert.deepEqual(step.grants, [10, 20, 1_000]);
  });

  it('a now behind the newest grant still counts it', () => {
    const log = { grants: [1_000, 1_100], pausedUntil: null };
    assert.deepEqual(takeFromLog(log, 2, 1_000, 900), { granted: false, waitMs: 1_100 });
    const step = takeFromLog({ grants: [1_000], pausedUntil: null }, 2, 1_000, 900);
    assert.ok(step.granted);
    assert.deepEqual(step.grants, [900, 1_000], 'inserted in order');
  });

  it('after a pause, the k-th extra grant opens at pausedUntil + k * window / limit', () => {
    const log = { grants: [], pausedUntil: 5_000 };
    assert.equal(nextGrantAt(log, 4, 1_000), 5_000);
    assert.equal(nextGrantAt({ ...log, grants: [5_000] }, 4, 1_000), 5_250);
    assert.equal(nextGrantAt({ ...log, grants: [5_000, 5_250] }, 4, 1_000), 5_500);
    // Real grants still in the window count on top of the ramp.
    assert.equal(nextGrantAt({ grants: [4_900, 4_950, 4_990, 4_999], pausedUntil: 5_000 }, 4, 1_000), 5_900);
  });

  it('property: whatever the take times, pauses and clocks, no window of windowMs holds more than limit grants', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 8 }),
        fc.integer({ min: 1, max: 2_000 }),
        fc.array(
          fc.oneof(
            fc.record({ take: fc.integer({ min: 0, max: 20_000 }) }),
            fc.record({ pause: fc.integer({ min: 0, max: 20_000 }) }),
          ),
          { maxLength: 80 },
        ),
        (limit, windowMs, ops) => {
          let log: WindowLog = { grants: [], pausedUntil: null };
          const granted: number[] = [];
          // In any order: callers whose clocks disagree, a peer's take arriving late.
          for (const op of ops) {
            if ('pause' in op) {
              log = { ...log, pausedUntil: Math.max(log.pausedUntil ?? op.pause, op.pause) };
              continue;
            }
            const step = takeFromLog(log, limit, windowMs, op.take);
            if (!step.granted) {
              assert.ok(step.waitMs >= 1);
              const later = takeFromLog(log, limit, windowMs, op.take + step.waitMs);
              assert.ok(later.granted, 'waiting waitMs is enough');
              continue;
            }
            log = { ...log, grants: step.grants };
            granted.push(op.take);
            assert.ok(op.take >= (log.pausedUntil ?? Number.NEGATIVE_INFINITY), 'nothing granted during a pause');
          }
          // A half-open window of windowMs: grants exactly windowMs apart may share a closed one.
          assert.ok(maxInAnyWindow(granted, windowMs - 1) <= limit);
        },
      ),
    );
  });

  it('maxInAnyWindow counts a closed window', () => {
    assert.equal(maxInAnyWindow([], 10), 0);
    assert.equal(maxInAnyWindow([0, 500, 10_000, 10_001], 10_000), 3);
    assert.equal(maxInAnyWindow([5, 1, 3], 2), 2);
  });
});
