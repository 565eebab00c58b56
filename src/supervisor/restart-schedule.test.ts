import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { VirtualClock } from '../time/virtual-clock.ts';
import { RestartSchedule } from './restart-schedule.ts';
import { type RestartSpec, SERVICE_DEFAULTS } from './service-spec.ts';

const spec = (over: Partial<RestartSpec> = {}): RestartSpec => ({
  policy: 'always',
  backoff: SERVICE_DEFAULTS.backoff,
  limit: SERVICE_DEFAULTS.limit,
  ...over,
});

/**
 * A crash loop on the virtual clock: each run lasts `upMs`, then the
 * schedule's delay is slept on the clock. Returns the delays.
 */
async function crashLoop(schedule: RestartSchedule, clock: VirtualClock, runs: number, upMs = 5): Promise<number[]> {
  const delays: number[] = [];
  for (let i = 0; i < runs; i++) {
    await clock.advance(upMs);
    const decision = schedule.onExit({ code: 1, upMs, at: clock.monotonic(), requested: null });
    assert.equal(decision.kind, 'restart');
    if (decision.kind !== 'restart') break;
    delays.push(decision.delayMs);
    await clock.advance(decision.delayMs);
  }
  return delays;
}

describe('RestartSchedule', () => {
  it('a crash loop restarts after 0.1, 0.2, 0.4 … s, capped at 30 s', async () => {
    const clock = new VirtualClock();
    const delays = await crashLoop(new RestartSchedule(spec()), clock, 12);
    assert.deepEqual(delays, [100, 200, 400, 800, 1600, 3200, 6400, 12_800, 25_600, 30_000, 30_000, 30_000]);
  });

  it('a run of 60 s resets the backoff: the next crash waits 0.1 s again', async () => {
    const clock = new VirtualClock();
    const schedule = new RestartSchedule(spec());
    assert.deepEqual(await crashLoop(schedule, clock, 4), [100, 200, 400, 800]);
    // Up for 59.9 s: not yet reset.
    assert.deepEqual(await crashLoop(schedule, clock, 1, 59_900), [1600]);
    // Up for 60 s: back to the start.
    assert.deepEqual(await crashLoop(schedule, clock, 3, 60_000), [100, 100, 100]);
    assert.deepEqual(await crashLoop(schedule, clock, 2), [200, 400]);
  });

  it('ranFor(60 s) while still running resets the backoff and ends a failing period (recovered)', async () => {
    const clock = new VirtualClock();
    const schedule = new RestartSchedule(spec({ limit: { restarts: 3, windowMs: 60_000, onLimit: 'retry' } }));
    await crashLoop(schedule, clock, 4);
    assert.equal(schedule.failing, true);
    assert.equal(schedule.ranFor(59_999), false);
    assert.equal(schedule.failing, true);
    assert.equal(schedule.ranFor(60_000), true);
    assert.equal(schedule.failing, false);
    assert.equal(schedule.attempt, 0);
  });

  it('more than limit.restarts within the window marks failing once, and it keeps retrying (onLimit: retry)', async () => {
    const clock = new VirtualClock();
    const schedule = new RestartSchedule(spec({ limit: { restarts: 5, windowMs: 60_000, onLimit: 'retry' } }));
    const nowFailing: boolean[] = [];
    for (let i = 0; i < 8; i++) {
      await clock.advance(5);
      const d = schedule.onExit({ code: 1, upMs: 5, at: clock.monotonic(), requested: null });
      assert.equal(d.kind, 'restart');
      nowFailing.push(d.nowFailing);
      if (d.kind === 'restart') await clock.advance(d.delayMs);
    }
    assert.deepEqual(nowFailing, [false, false, false, false, false, true, false, false]);
    assert.equal(schedule.failing, true);
    assert.equal(schedule.restarts, 8);
  });

  it('restarts spread wider than the window never mark failing', async () => {
    const clock = new VirtualClock();
    const schedule = new RestartSchedule(spec({ limit: { restarts: 2, windowMs: 1_000, onLimit: 'retry' } }));
    for (let i = 0; i < 6; i++) {
      await clock.advance(1_500);
      const d = schedule.onExit({ code: 1, upMs: 1_500, at: clock.monotonic(), requested: null });
      assert.equal(d.nowFailing, false);
    }
    assert.equal(schedule.failing, false);
  });

  it('onLimit: stop leaves the service stopped past the limit', async () => {
    const clock = new VirtualClock();
    const schedule = new RestartSchedule(spec({ limit: { restarts: 2, windowMs: 60_000, onLimit: 'stop' } }));
    const kinds: string[] = [];
    for (let i = 0; i < 3; i++) {
      await clock.advance(5);
      kinds.push(schedule.onExit({ code: 1, upMs: 5, at: clock.monotonic(), requested: null }).kind);
    }
    assert.deepEqual(kinds, ['restart', 'restart', 'stop']);
  });

  it('policies: never stops; on-failure stops on code 0 and restarts on a failure or a signal', () => {
    const exit = (code: number | null) => ({ code, upMs: 5, at: 5, requested: null });
    assert.equal(new RestartSchedule(spec({ policy: 'never' })).onExit(exit(1)).kind, 'stop');
    const onFailure = new RestartSchedule(spec({ policy: 'on-failure' }));
    assert.equal(onFailure.onExit(exit(0)).kind, 'stop');
    assert.equal(onFailure.onExit(exit(2)).kind, 'restart');
    assert.equal(onFailure.onExit(exit(null)).kind, 'restart');
    assert.equal(new RestartSchedule(spec({ policy: 'always' })).onExit(exit(0)).kind, 'restart');
  });

  it('a requested restart (memory, health, operator) restarts at once, whatever the policy', () => {
    const schedule = new RestartSchedule(spec({ policy: 'never' }));
    const d = schedule.onExit({ code: null, upMs: 5, at: 5, requested: 'memory' });
    assert.deepEqual(d, { kind: 'restart', delayMs: 0, attempt: 0, nowFailing: false });
  });

  it('restore carries the restart count, backoff position and failing across a supervisor restart', async () => {
    const clock = new VirtualClock();
    const schedule = new RestartSchedule(spec());
    schedule.restore({ restarts: 7, attempt: 3, failing: true });
    assert.deepEqual(await crashLoop(schedule, clock, 1), [800]);
    assert.equal(schedule.restarts, 8);
    assert.equal(schedule.failing, true);
  });
});
