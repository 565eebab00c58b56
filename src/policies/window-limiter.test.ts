import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SeededEntropy } from '../time/seeded-entropy.ts';
import { VirtualClock } from '../time/virtual-clock.ts';
import { parseRetryAfter } from './parse-retry-after.ts';
import { WindowLimiter } from './window-limiter.ts';
import { maxInAnyWindow } from './window-log.ts';

function setup(limit = 3, perMs = 3_000) {
  const clock = new VirtualClock();
  const start = clock.monotonic();
  const limiter = new WindowLimiter({ limit, perMs }, clock);
  const elapsed = () => clock.monotonic() - start;
  return { clock, limiter, elapsed };
}

/**
 * `takers` callers, each taking again the moment it was granted (plus a
 * seeded think time up to `thinkMs`), for `runMs` of virtual time. Returns
 * the grant times.
 */
async function greedyRun(limiter: WindowLimiter, clock: VirtualClock, takers: number, runMs: number, thinkMs = 0) {
  const random = new SeededEntropy(7);
  const grants: number[] = [];
  const stop = new AbortController();
  const taker = async () => {
    for (;;) {
      await limiter.take(stop.signal);
      grants.push(clock.monotonic());
      if (thinkMs > 0) await clock.sleep(Math.floor(random.random() * thinkMs), stop.signal);
    }
  };
  const running = Array.from({ length: takers }, () => taker().catch(() => {}));
  await clock.advance(runMs);
  stop.abort();
  await Promise.all(running);
  return grants;
}

describe('WindowLimiter', () => {
  it('an idle limiter grants `limit` at once, then waits until the oldest grant is a window (+5%) old', async () => {
    const { clock, limiter } = setup(3, 3_000); // window 3,000 + 150 ms margin
    assert.equal(limiter.windowMs, 3_150);
    for (let i = 0; i < 3; i++) assert.deepEqual(limiter.tryTake(), { granted: true, waitMs: 0 });
    assert.deepEqual(limiter.tryTake(), { granted: false, waitMs: 3_150 });
    await clock.advance(3_000);
    assert.deepEqual(limiter.tryTake(), { granted: false, waitMs: 150 });
    await clock.advance(150);
    assert.deepEqual(limiter.tryTake(), { granted: true, waitMs: 0 });
  });

  it('greedy takers never see more than `limit` grants in any window of `per`, and get >= 90% of it', async () => {
    for (const [limit, perMs, takers, thinkMs] of [
      [20, 10_000, 3, 0],
      [20, 10_000, 30, 700],
      [100, 60_000, 10, 0],
      [100, 60_000, 150, 5_000],
      [7, 1_000, 4, 90],
      [1, 333, 2, 0],
    ] as const) {
      const { clock, limiter } = setup(limit, perMs);
      const windows = 25;
      const grants = await greedyRun(limiter, clock, takers, windows * perMs, thinkMs);
      const label = `${limit}/${perMs} ms, ${takers} takers`;
      assert.ok(maxInAnyWindow(grants, perMs) <= limit, `${label}: ${maxInAnyWindow(grants, perMs)} in one window`);
      const throughput = grants.length / (windows * limit);
      assert.ok(throughput >= 0.9, `${label}: throughput ${throughput.toFixed(3)} of the limit`);
      assert.equal(clock.pendingTimers, 0, `${label}: no timer left`);
    }
  });

  it('take waits on the clock and serves waiters first come, first served', async () => {
    const { clock, limiter, elapsed } = setup(2, 2_000); // window 2,100
    const order: Array<[string, number]> = [];
    const takers = ['a', 'b', 'c', 'd'].map((name) => limiter.take().then(() => order.push([name, elapsed()])));
    assert.equal(limiter.waiting, 2);
    assert.deepEqual(limiter.tryTake(), { granted: false, waitMs: 4_200 }, 'tryTake queues behind c and d');
    await clock.advance(2_100);
    await Promise.all(takers);
    assert.deepEqual(order, [
      ['a', 0],
      ['b', 0],
      ['c', 2_100],
      ['d', 2_100],
    ]);
    assert.equal(clock.pendingTimers, 0);
  });

  it('an aborted waiter rejects, is removed, consumes nothing, and leaves no timer', async () => {
    const { clock, limiter, elapsed } = setup(1, 1_000); // window 1,050
    limiter.tryTake();
    const controller = new AbortController();
    const first = limiter.take(controller.signal);
    const rejected = assert.rejects(first, { name: 'AbortError' });
    let secondAt = -1;
    const second = limiter.take().then(() => {
      secondAt = elapsed();
    });
    await clock.advance(300);
    controller.abort();
    await rejected;
    assert.equal(limiter.waiting, 1);
    await clock.advance(750);
    await second;
    assert.equal(secondAt, 1_050, 'the second waiter got the slot the aborted one would have had');
    assert.equal(clock.pendingTimers, 0);

    const late = new AbortController();
    late.abort();
    await assert.rejects(limiter.take(late.signal), { name: 'AbortError' });
    assert.equal(limiter.waiting, 0);
  });

  it('pause grants nothing until then, then restarts at the steady rate, not a burst', async () => {
    const { clock, limiter, elapsed } = setup(10, 10_000); // window 10,500: one slot per 1,050 ms after a pause
    const until = parseRetryAfter('5', clock.now());
    assert.ok(until !== undefined);
    limiter.pause(until);
    assert.deepEqual(limiter.tryTake(), { granted: false, waitMs: 5_000 });
    const at: number[] = [];
    const waiters = Array.from({ length: 3 }, () => limiter.take().then(() => at.push(elapsed())));
    await clock.advance(4_999);
    assert.deepEqual(at, []);
    await clock.advance(10_000);
    await Promise.all(waiters);
    assert.deepEqual(at, [5_000, 6_050, 7_100]);
  });

  it('a pause never shortens one already in force', async () => {
    const { clock, limiter } = setup(1, 1_000);
    limiter.pause(clock.now() + 10_000);
    limiter.pause(clock.now() + 2_000);
    await clock.advance(9_000);
    assert.equal(limiter.tryTake().granted, false);
    await clock.advance(1_000);
    assert.equal(limiter.tryTake().granted, true);
  });

  it('a pause while waiters queue moves their grant later', async () => {
    const { clock, limiter, elapsed } = setup(1, 1_000);
    limiter.tryTake();
    let at = -1;
    const waiter = limiter.take().then(() => {
      at = elapsed();
    });
    await clock.advance(500);
    limiter.pause(clock.now() + 3_000);
    await clock.advance(10_000);
    await waiter;
    assert.equal(at, 3_500);
  });

  it('setRate at run time: a higher rate lets queued waiters go at once, a lower one holds them longer', async () => {
    const { clock, limiter, elapsed } = setup(2, 2_000); // window 2,100
    limiter.tryTake();
    limiter.tryTake();
    const granted: Array<[string, number]> = [];
    const waiters = ['a', 'b', 'c'].map((name) => limiter.take().then(() => granted.push([name, elapsed()])));
    await clock.advance(100);
    limiter.setRate({ limit: 4, perMs: 2_000 });
    assert.deepEqual(limiter.rate, { limit: 4, perMs: 2_000 });
    await clock.advance(0);
    assert.deepEqual(
      granted,
      [
        ['a', 100],
        ['b', 100],
      ],
      'two more fit in the window now; c still waits',
    );
    limiter.setRate({ limit: 1, perMs: 2_000 });
    await clock.advance(2_000);
    assert.equal(granted.length, 2, 'at 1 per window, c waits until all four grants left the window');
    await clock.advance(200);
    await Promise.all(waiters);
    assert.deepEqual(granted[2], ['c', 2_200]);
    assert.throws(() => limiter.setRate({ limit: 0, perMs: 1_000 }), /Expected `limit` to be an integer >= 1/);
    assert.throws(() => limiter.setRate({ limit: 3, perMs: -1 }), /Expected `perMs` to be a finite number > 0/);
    assert.deepEqual(limiter.rate, { limit: 1, perMs: 2_000 }, 'a refused rate changes nothing');
    assert.equal(clock.pendingTimers, 0);
  });

  it('rejects bad options with the message template', () => {
    const clock = new VirtualClock();
    assert.throws(
      () => new WindowLimiter({ limit: 0.5, perMs: 1_000 }, clock),
      /Expected `limit` to be an integer >= 1, got `0.5` \(number\)/,
    );
    assert.throws(
      () => new WindowLimiter({ limit: 1, perMs: 0 }, clock),
      /Expected `perMs` to be a finite number > 0, got `0` \(number\)/,
    );
    assert.throws(
      () => new WindowLimiter({ limit: 1, perMs: 1 }, clock).pause(Number.NaN),
      /^RangeError: Expected `untilMs` to be a finite number, got `NaN` \(number\)$/,
    );
  });
});
