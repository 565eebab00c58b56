import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { timeoutSignal } from './clock.ts';
import { parseDuration } from './duration.ts';
import { VirtualClock } from './virtual-clock.ts';

describe('VirtualClock', () => {
  it('fires timers in time order, ties in the order set, and moves now with them', async () => {
    const clock = new VirtualClock({ now: 1_000 });
    const seen: Array<[string, number]> = [];
    clock.setTimer(30, () => seen.push(['c', clock.now()]));
    clock.setTimer(10, () => seen.push(['a', clock.now()]));
    clock.setTimer(10, () => seen.push(['b', clock.now()]));
    await clock.advance(25);
    assert.deepEqual(seen, [
      ['a', 1010],
      ['b', 1010],
    ]);
    assert.equal(clock.now(), 1025);
    await clock.advance(5);
    assert.deepEqual(seen.at(-1), ['c', 1030]);
    assert.equal(clock.pendingTimers, 0);
  });

  it('lets promise chains settle between timers', async () => {
    const clock = new VirtualClock();
    const log: number[] = [];
    const chain = (async () => {
      await clock.sleep(10);
      log.push(clock.now());
      await clock.sleep(10); // set only after the first sleep resolved
      log.push(clock.now());
    })();
    await clock.advance(20);
    await chain;
    assert.equal(log.length, 2);
    assert.equal((log[1] as number) - (log[0] as number), 10);
  });

  it('sleep rejects on abort and leaves no timer behind', async () => {
    const clock = new VirtualClock();
    const controller = new AbortController();
    const sleeping = clock.sleep(1_000, controller.signal);
    controller.abort(new Error('stop'));
    await assert.rejects(sleeping, /stop/);
    assert.equal(clock.pendingTimers, 0);
  });

  it('timeoutSignal aborts after its time with the given reason, and dispose clears it', async () => {
    const clock = new VirtualClock();
    const t = timeoutSignal(clock, 100, undefined, () => new Error('too slow'));
    await clock.advance(99);
    assert.equal(t.signal.aborted, false);
    await clock.advance(1);
    assert.equal(t.signal.aborted, true);
    assert.match(String(t.signal.reason), /too slow/);
    const u = timeoutSignal(clock, 100, undefined, () => new Error('x'));
    u.dispose();
    assert.equal(clock.pendingTimers, 0);
  });
});

describe('parseDuration', () => {
  it('reads numbers as ms and strings with units', () => {
    assert.equal(parseDuration(1500), 1500);
    assert.equal(parseDuration('250ms'), 250);
    assert.equal(parseDuration('30s'), 30_000);
    assert.equal(parseDuration('2m'), 120_000);
    assert.equal(parseDuration('1h30m'), 5_400_000);
    assert.equal(parseDuration('1d'), 86_400_000);
  });

  it('refuses what is not a duration', () => {
    for (const bad of ['5 minutes', '', 'm', '-1s', '10x', -5, Number.NaN, null, {}]) {
      assert.equal(parseDuration(bad), undefined, String(bad));
    }
  });
});
