import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { VirtualClock } from '../time/virtual-clock.ts';
import { WorkerPool } from './pool.ts';

describe('WorkerPool', () => {
  it('never runs more tasks than its concurrency', async () => {
    const clock = new VirtualClock();
    const pool = new WorkerPool(3);
    let running = 0;
    let peak = 0;
    const tasks = Array.from({ length: 20 }, (_, i) =>
      pool.submit(async () => {
        running++;
        peak = Math.max(peak, running);
        await clock.sleep(100 + (i % 5) * 50);
        running--;
        return i;
      }),
    );
    await clock.runUntil(() => pool.active === 0 && pool.waiting === 0);
    assert.deepEqual(
      await Promise.all(tasks),
      Array.from({ length: 20 }, (_, i) => i),
    );
    assert.equal(peak, 3);
  });

  it('starts waiting tasks lowest priority number first, FIFO among equals', async () => {
    const pool = new WorkerPool(1);
    const order: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const first = pool.submit(() => gate);
    const all = [
      pool.submit(() => void order.push('low-a'), 3),
      pool.submit(() => void order.push('critical'), 0),
      pool.submit(() => void order.push('low-b'), 3),
      pool.submit(() => void order.push('high'), 1),
    ];
    release();
    await Promise.all([first, ...all]);
    assert.deepEqual(order, ['critical', 'high', 'low-a', 'low-b']);
  });

  it('a slow task never keeps a free slot idle (pool, not batches)', async () => {
    const clock = new VirtualClock();
    const pool = new WorkerPool(2);
    const finished: Array<[string, number]> = [];
    const start = clock.now();
    const job = (name: string, ms: number) =>
      pool.submit(async () => {
        await clock.sleep(ms);
        finished.push([name, clock.now() - start]);
      });
    const all = [job('slow', 1000), job('a', 100), job('b', 100), job('c', 100)];
    await clock.runUntil(() => finished.length === 4);
    await Promise.all(all);
    // a, b and c run one after another in the second slot while slow runs.
    assert.deepEqual(finished, [
      ['a', 100],
      ['b', 200],
      ['c', 300],
      ['slow', 1000],
    ]);
  });

  it('takes a new concurrency at run time, both up and down', async () => {
    const clock = new VirtualClock();
    const pool = new WorkerPool(1);
    const tasks = Array.from({ length: 6 }, () => pool.submit(() => clock.sleep(100)));
    await clock.flush();
    assert.equal(pool.active, 1);
    pool.concurrency = 4;
    assert.equal(pool.active, 4, 'raising starts waiting tasks at once');
    pool.concurrency = 2;
    assert.equal(pool.active, 4, 'lowering lets running tasks finish');
    await clock.advance(100);
    assert.equal(pool.active, 2, 'the two waiting tasks start, within the new limit of 2');
    assert.equal(pool.waiting, 0);
    await clock.advance(100);
    await Promise.all(tasks);
    assert.equal(pool.active, 0);
  });

  it('isolates failures: a rejecting task rejects only its own promise', async () => {
    const pool = new WorkerPool(2);
    const results = await Promise.allSettled([
      pool.submit(() => 1),
      pool.submit(() => {
        throw new Error('boom');
      }),
      pool.submit(async () => 3),
    ]);
    assert.deepEqual(
      results.map((r) => r.status),
      ['fulfilled', 'rejected', 'fulfilled'],
    );
    await pool.onIdle();
    assert.equal(pool.active, 0);
  });

  it('rejects a bad concurrency with the p-queue message template', () => {
    assert.throws(() => new WorkerPool(0), /Expected `concurrency` to be an integer >= 1, got `0` \(number\)/);
    const pool = new WorkerPool(1);
    assert.throws(() => {
      pool.concurrency = 1.5;
    }, /got `1.5`/);
  });
});

describe('WorkerPool.nextRelease', () => {
  it('resolves when a task ends, not before; each release starts a new wait', async () => {
    const clock = new VirtualClock();
    const pool = new WorkerPool(2);
    const first = pool.submit(() => clock.sleep(100));
    const second = pool.submit(() => clock.sleep(200));
    const released: number[] = [];
    const wait = () => pool.nextRelease().then(() => released.push(clock.now()));
    const one = wait();
    assert.equal(pool.nextRelease(), pool.nextRelease(), 'one promise per change, shared');
    await clock.advance(99);
    assert.deepEqual(released, []);
    await clock.advance(1);
    await one;
    const two = wait();
    await clock.advance(100);
    await two;
    await Promise.all([first, second]);
    assert.deepEqual(
      released.map((at) => at - released[0]!),
      [0, 100],
    );
  });

  it('resolves when the concurrency changes', async () => {
    const pool = new WorkerPool(1);
    const waiting = pool.nextRelease();
    pool.concurrency = 2;
    await waiting;
    assert.equal(pool.concurrency, 2);
  });
});
