import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SimClock } from './sim-clock.ts';

describe('SimClock', () => {
  it('fires timers in time order, ties in the order they were set, skipping cancelled ones', async () => {
    const clock = new SimClock({ now: 0 });
    const fired: string[] = [];
    clock.setTimer(30, () => fired.push('c'));
    clock.setTimer(10, () => fired.push('a1'));
    const gone = clock.setTimer(20, () => fired.push('cancelled'));
    clock.setTimer(10, () => fired.push('a2'));
    clock.setTimer(20, () => fired.push('b'));
    gone.cancel();
    gone.cancel();
    assert.equal(clock.pendingTimers, 4);
    await clock.advanceTo(25);
    assert.deepEqual(fired, ['a1', 'a2', 'b']);
    assert.equal(clock.now(), 25);
    await clock.advance(100);
    assert.deepEqual(fired, ['a1', 'a2', 'b', 'c']);
    assert.equal(clock.pendingTimers, 0);
  });

  it('lets promise chains settle between timers, so a sleep chain runs on schedule', async () => {
    const clock = new SimClock({ now: 0 });
    const seen: number[] = [];
    const chain = (async () => {
      for (let i = 0; i < 3; i++) {
        await clock.sleep(1_000);
        await Promise.resolve();
        seen.push(clock.now());
      }
    })();
    await clock.advance(3_000);
    await chain;
    assert.deepEqual(seen, [1_000, 2_000, 3_000]);
  });

  it('sleep rejects on abort and leaves no timer behind; runUntil stops when the predicate holds', async () => {
    const clock = new SimClock({ now: 0 });
    const controller = new AbortController();
    const sleeping = clock.sleep(1_000, controller.signal);
    controller.abort();
    await assert.rejects(sleeping, { name: 'AbortError' });
    assert.equal(clock.pendingTimers, 0);
    let done = false;
    clock.setTimer(500, () => {
      done = true;
    });
    clock.setTimer(900, () => {});
    assert.equal(await clock.runUntil(() => done), true);
    assert.equal(clock.now(), 500);
  });

  it('a period timer skips the periods whose idle() holds, and keeps the place a re-armed timer would have', async () => {
    const clock = new SimClock({ now: 0 });
    const fired: string[] = [];
    let busyFrom = 3_000;
    clock.setPeriodTimer(
      1_000,
      () => fired.push(`tick@${clock.now()}`),
      () => clock.now() < busyFrom,
    );
    // Set after the period timer but due at the same moment as its 3rd period: as a tick re-armed at
    // 2 s would have been set after this one, this one fires first.
    clock.setTimer(3_000, () => fired.push('other@3000'));
    await clock.advanceTo(5_000);
    assert.deepEqual(fired, ['other@3000', 'tick@3000']);
    assert.equal(clock.skipped, 2);
    assert.equal(clock.pendingTimers, 0);
    busyFrom = 0;
    const handle = clock.setPeriodTimer(
      500,
      () => fired.push('cancelled'),
      () => true,
    );
    await clock.advance(2_000);
    handle.cancel();
    assert.equal(clock.pendingTimers, 0);
    assert.throws(
      () =>
        clock.setPeriodTimer(
          0,
          () => {},
          () => false,
        ),
      /expected a period > 0 ms, got 0/,
    );
  });

  it('process(): kill drops its timers and sleeps for good; freeze fires them late, in order, and skips no idle tick', async () => {
    const clock = new SimClock({ now: 0 });
    const a = clock.process();
    const b = clock.process();
    const fired: string[] = [];
    a.setTimer(10, () => fired.push('a10'));
    const gone = a.setTimer(20, () => fired.push('cancelled'));
    a.setTimer(30, () => fired.push('a30'));
    b.setTimer(30, () => fired.push('b30'));
    let aborted = false;
    a.sleep(40).then(
      () => fired.push('a slept'),
      () => {
        aborted = true;
      },
    );
    gone.cancel();
    assert.equal(a.pendingTimers, 3);
    assert.equal(clock.pendingTimers, 4);
    await clock.advanceTo(15);
    a.kill();
    gone.cancel();
    assert.equal(clock.pendingTimers, 1, 'only b30 is left');
    a.setTimer(1, () => fired.push('after death'));
    await clock.advanceTo(100);
    assert.deepEqual(fired, ['a10', 'b30']);
    assert.equal(aborted, false, 'a dead process never resumes');
    assert.equal(clock.pendingTimers, 0);

    const c = clock.process();
    const ticks: number[] = [];
    c.setPeriodTimer(
      10,
      () => ticks.push(clock.now()),
      () => true,
    );
    c.setTimer(15, () => ticks.push(-clock.now()));
    c.freeze(20, () => ticks.push(0));
    await clock.advanceTo(130);
    assert.deepEqual(ticks, [0, 120, -120], 'the tick due at 110 and the timer at 115 fire at the thaw, in order');
    assert.equal(c.frozen, false);
  });
});
