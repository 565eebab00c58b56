import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Clock } from './clock.ts';
import { TimerGroup } from './timer-group.ts';
import { VirtualClock } from './virtual-clock.ts';

describe('TimerGroup: many timers (lease renewals, attempt deadlines) on one clock timer', () => {
  it('runs each renewal at its own due time, never earlier, in the order set when due together', async () => {
    const clock = new VirtualClock();
    const timers = new TimerGroup(clock);
    const ran: string[] = [];
    timers.setTimer(300, () => ran.push(`a@${clock.monotonic()}`));
    await clock.advance(100);
    timers.setTimer(200, () => ran.push(`b@${clock.monotonic()}`)); // due with a
    timers.setTimer(50, () => ran.push(`c@${clock.monotonic()}`)); // earlier than the armed timer
    await clock.advance(49);
    assert.deepEqual(ran, []);
    await clock.advance(1);
    assert.deepEqual(ran, ['c@150']);
    await clock.advance(149);
    assert.deepEqual(ran, ['c@150']);
    await clock.advance(1);
    assert.deepEqual(ran, ['c@150', 'a@300', 'b@300']);
    assert.equal(clock.pendingTimers, 0, 'nothing pending: no clock timer left');
  });

  it('sets a clock timer about once per renewal interval, not once per renewal', async () => {
    const clock = new VirtualClock();
    let clockTimers = 0;
    const counting: Clock = {
      now: () => clock.now(),
      monotonic: () => clock.monotonic(),
      sleep: (ms, signal) => clock.sleep(ms, signal),
      setTimer: (ms, fn) => {
        clockTimers++;
        return clock.setTimer(ms, fn);
      },
    };
    const timers = new TimerGroup(counting);
    let ran = 0;
    for (let i = 0; i < 1000; i++) {
      const handle = timers.setTimer(3000, () => ran++);
      await clock.advance(1);
      if (i < 999) handle.cancel(); // a lease per item: taken and freed long before its renewal
    }
    assert.equal(clockTimers, 1, 'armed once, for the first renewal; the later ones only wait in line');
    assert.equal(clock.pendingTimers, 1);
    assert.equal(timers.pending, 1);
    await clock.advance(3000);
    assert.equal(ran, 1, 'only the renewal never cancelled ran');
    assert.equal(clockTimers, 2, 'the first firing found it not due yet and re-armed once');
    assert.equal(clock.pendingTimers, 0);
  });

  it('runs a renewal whose fractional due time the clock reading rounds below (no re-arm for the rounding)', {
    timeout: 10_000,
  }, async () => {
    const clock = new VirtualClock({ now: Date.UTC(2026, 0, 1) }); // large epoch: sub-ms parts round
    const timers = new TimerGroup(clock);
    const ran: number[] = [];
    for (let i = 0; i < 50; i++) {
      await clock.advance(7.77);
      timers.setTimer(10_000 / 3, () => ran.push(i)); // the default lease TTL's renewal interval
    }
    await clock.advance(4000);
    assert.equal(ran.length, 50);
    assert.equal(clock.pendingTimers, 0);
  });

  it('a cancelled renewal never runs, and dispose clears the armed timer', async () => {
    const clock = new VirtualClock();
    const timers = new TimerGroup(clock);
    let ran = 0;
    timers.setTimer(100, () => ran++).cancel();
    await clock.advance(100);
    assert.equal(ran, 0);
    assert.equal(clock.pendingTimers, 0, 'the timer fired, found nothing due and did not re-arm');
    timers.setTimer(100, () => ran++);
    timers.dispose();
    assert.equal(clock.pendingTimers, 0);
    await clock.advance(200);
    assert.equal(ran, 0);
  });
});
