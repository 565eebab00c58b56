import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Backpressure } from './backpressure.ts';

const OVERRAN = { overran: true };
const ON_TIME = { overran: false };

describe('Backpressure', () => {
  it('runs every tick while cycles finish on time or overrun fewer than maxOverruns times in a row', () => {
    const backpressure = new Backpressure();
    for (const cycle of [OVERRAN, OVERRAN, ON_TIME, OVERRAN, OVERRAN, ON_TIME]) {
      assert.deepEqual(backpressure.shouldSkipTick(), { skip: false });
      backpressure.recordCycle(cycle);
    }
    assert.equal(backpressure.state, 'normal');
    assert.equal(backpressure.cooldowns, 0);
  });

  it('after 3 consecutive overruns skips the next 2 ticks, then runs', () => {
    const backpressure = new Backpressure();
    for (let i = 0; i < 3; i++) backpressure.recordCycle(OVERRAN);
    assert.equal(backpressure.state, 'cooling');
    assert.equal(backpressure.cooldowns, 1);
    assert.deepEqual(backpressure.shouldSkipTick(), {
      skip: true,
      reason: 'backpressure: cooling down after 3 consecutive overrunning cycles (1 more tick to skip)',
    });
    assert.deepEqual(backpressure.shouldSkipTick(), {
      skip: true,
      reason: 'backpressure: cooling down after 3 consecutive overrunning cycles (0 more ticks to skip)',
    });
    assert.equal(backpressure.state, 'probation');
    assert.deepEqual(backpressure.shouldSkipTick(), { skip: false });
  });

  it('probation: an on-time cycle returns to normal, needing 3 fresh overruns for the next cooldown', () => {
    const backpressure = new Backpressure();
    for (let i = 0; i < 3; i++) backpressure.recordCycle(OVERRAN);
    backpressure.shouldSkipTick();
    backpressure.shouldSkipTick();
    backpressure.recordCycle(ON_TIME);
    assert.equal(backpressure.state, 'normal');
    backpressure.recordCycle(OVERRAN);
    backpressure.recordCycle(OVERRAN);
    assert.equal(backpressure.state, 'normal');
  });

  it('probation: one more overrun cools down again at once', () => {
    const backpressure = new Backpressure();
    for (let i = 0; i < 3; i++) backpressure.recordCycle(OVERRAN);
    backpressure.shouldSkipTick();
    backpressure.shouldSkipTick();
    backpressure.recordCycle(OVERRAN);
    assert.equal(backpressure.state, 'cooling');
    assert.equal(backpressure.cooldowns, 2);
  });

  it('a cycle reported while cooling (a late one) changes nothing', () => {
    const backpressure = new Backpressure({ maxOverruns: 1, cooldownTicks: 3 });
    backpressure.recordCycle(OVERRAN);
    backpressure.shouldSkipTick();
    backpressure.recordCycle(OVERRAN);
    backpressure.recordCycle(ON_TIME);
    assert.equal(backpressure.cooldowns, 1);
    assert.equal(backpressure.shouldSkipTick().skip, true);
    assert.equal(backpressure.shouldSkipTick().skip, true);
    assert.equal(backpressure.shouldSkipTick().skip, false);
  });

  it('rejects bad options with the message template', () => {
    assert.throws(
      () => new Backpressure({ maxOverruns: 0 }),
      /Expected `maxOverruns` to be an integer >= 1, got `0` \(number\)/,
    );
    assert.throws(
      () => new Backpressure({ cooldownTicks: 1.5 }),
      /Expected `cooldownTicks` to be an integer >= 1, got `1.5` \(number\)/,
    );
  });
});
