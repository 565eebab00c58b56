import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { VirtualClock } from '../time/virtual-clock.ts';
import { parseRetryAfter } from './parse-retry-after.ts';
import { TokenBucket } from './token-bucket.ts';

function setup(capacity = 3, perMs = 3_000) {
  const clock = new VirtualClock();
  const start = clock.monotonic();
  const bucket = new TokenBucket({ capacity, perMs }, clock);
  const elapsed = () => clock.monotonic() - start;
  return { clock, bucket, elapsed };
}

describe('TokenBucket', () => {
  it('starts full, then grants at the steady rate; tryTake says how long to wait', async () => {
    const { clock, bucket } = setup(3, 3_000);
    for (let i = 0; i < 3; i++) assert.deepEqual(bucket.tryTake(), { granted: true, waitMs: 0 });
    assert.deepEqual(bucket.tryTake(), { granted: false, waitMs: 1_000 });
    await clock.advance(400);
    assert.deepEqual(bucket.tryTake(), { granted: false, waitMs: 600 });
    await clock.advance(600);
    assert.deepEqual(bucket.tryTake(), { granted: true, waitMs: 0 });
  });

  it('never holds more than capacity', async () => {
    const { clock, bucket } = setup(3, 3_000);
    await clock.advance(60_000);
    assert.equal(bucket.available, 3);
  });

  it('take waits on the clock and serves waiters first come, first served', async () => {
    const { clock, bucket, elapsed } = setup(2, 2_000);
    const order: Array<[string, number]> = [];
    const takers = ['a', 'b', 'c', 'd'].map((name) => bucket.take().then(() => order.push([name, elapsed()])));
    assert.equal(bucket.waiting, 2);
    assert.deepEqual(bucket.tryTake(), { granted: false, waitMs: 3_000 }, 'tryTake queues behind c and d');
    await clock.advance(2_000);
    await Promise.all(takers);
    assert.deepEqual(order, [
      ['a', 0],
      ['b', 0],
      ['c', 1_000],
      ['d', 2_000],
    ]);
    assert.equal(clock.pendingTimers, 0);
  });

  it('an aborted waiter rejects, is removed, consumes nothing, and leaves no timer', async () => {
    const { clock, bucket, elapsed } = setup(1, 1_000);
    bucket.tryTake();
    const controller = new AbortController();
    const first = bucket.take(controller.signal);
    const rejected = assert.rejects(first, { name: 'AbortError' });
    let secondAt = -1;
    const second = bucket.take().then(() => {
      secondAt = elapsed();
    });
    await clock.advance(300);
    controller.abort();
    await rejected;
    assert.equal(bucket.waiting, 1);
    await clock.advance(700);
    await second;
    assert.equal(secondAt, 1_000, 'the second waiter got the token the aborted one would have had');
    assert.equal(clock.pendingTimers, 0);

    const late = new AbortController();
    late.abort();
    await assert.rejects(bucket.take(late.signal), { name: 'AbortError' });
    assert.equal(bucket.waiting, 0);
  });

  it('pause empties the bucket and grants nothing until then, then refills at the steady rate', async () => {
    const { clock, bucket, elapsed } = setup(10, 10_000);
    const until = parseRetryAfter('5', clock.now());
    assert.ok(until !== undefined);
    bucket.pause(until);
    assert.equal(bucket.available, 0);
    assert.deepEqual(bucket.tryTake(), { granted: false, waitMs: 6_000 });
    let grantedAt = -1;
    const waiter = bucket.take().then(() => {
      grantedAt = elapsed();
    });
    await clock.advance(5_999);
    assert.equal(grantedAt, -1);
    await clock.advance(1);
    await waiter;
    assert.equal(grantedAt, 6_000, 'first token 1 s after the pause ends, not a burst');
  });

  it('a pause never shortens one already in force', async () => {
    const { clock, bucket } = setup(1, 1_000);
    bucket.pause(clock.now() + 10_000);
    bucket.pause(clock.now() + 2_000);
    await clock.advance(9_000);
    assert.equal(bucket.tryTake().granted, false);
    await clock.advance(2_000);
    assert.equal(bucket.tryTake().granted, true);
  });

  it('a pause while waiters queue moves their grant later', async () => {
    const { clock, bucket, elapsed } = setup(1, 1_000);
    bucket.tryTake();
    let at = -1;
    const waiter = bucket.take().then(() => {
      at = elapsed();
    });
    await clock.advance(500);
    bucket.pause(clock.now() + 3_000);
    await clock.advance(10_000);
    await waiter;
    assert.equal(at, 4_500);
  });

  it('rejects bad options with the message template', () => {
    const clock = new VirtualClock();
    assert.throws(
      () => new TokenBucket({ capacity: 0.5, perMs: 1_000 }, clock),
      /Expected `capacity` to be an integer >= 1, got `0.5` \(number\)/,
    );
    assert.throws(
      () => new TokenBucket({ capacity: 1, perMs: 0 }, clock),
      /Expected `perMs` to be a finite number > 0, got `0` \(number\)/,
    );
    assert.throws(
      () => new TokenBucket({ capacity: 1, perMs: 1 }, clock).pause(Number.NaN),
      /^RangeError: Expected `untilMs` to be a finite number, got `NaN` \(number\)$/,
    );
  });
});
