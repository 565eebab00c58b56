import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemoryStore } from '../storage/memory/memory-store.ts';
import { StoreError } from '../storage/store.ts';
import { VirtualClock } from '../time/virtual-clock.ts';
import { crashableStore } from './crashable-store.ts';
import { FaultyDependency, InjectedFault } from './faulty-dependency.ts';
import { KillableClock } from './killable-clock.ts';

describe('fault kit', () => {
  it('KillableClock.kill: no timer of the process fires again, and new ones are never set', async () => {
    const shared = new VirtualClock();
    const clock = new KillableClock(shared);
    const fired: string[] = [];
    clock.setTimer(1_000, () => fired.push('before'));
    await shared.advance(1_000);
    clock.setTimer(1_000, () => fired.push('after'));
    clock.kill();
    clock.setTimer(10, () => fired.push('new'));
    await shared.advance(5_000);
    assert.deepEqual(fired, ['before']);
    assert.equal(clock.pendingTimers, 0);
  });

  it('KillableClock.freeze: timers due meanwhile fire late, in order, after onThaw', async () => {
    const shared = new VirtualClock();
    const clock = new KillableClock(shared);
    const fired: Array<[string, number]> = [];
    clock.setTimer(1_000, () => fired.push(['a', shared.monotonic()]));
    clock.setTimer(2_000, () => fired.push(['b', shared.monotonic()]));
    clock.freeze(5_000, () => fired.push(['thaw', shared.monotonic()]));
    await shared.advance(4_999);
    assert.deepEqual(fired, []);
    await shared.advance(1);
    assert.deepEqual(fired, [
      ['thaw', 5_000],
      ['a', 5_000],
      ['b', 5_000],
    ]);
  });

  it('crashableStore: unreachable rejects with a StoreError without reaching the backend; kill never settles', async () => {
    const backend = new MemoryStore();
    const a = crashableStore(backend);
    a.unreachable('connection refused');
    await assert.rejects(a.store.ping(), (e: unknown) => e instanceof StoreError && e.message === 'connection refused');
    await assert.rejects(a.store.leases.acquire('k', 'a', 1_000, 0), StoreError);
    assert.equal((await backend.leases.list(0)).length, 0, 'nothing reached the backend');
    a.reachable();
    assert.ok(await a.store.leases.acquire('k', 'a', 1_000, 0));
    a.kill();
    let settled = false;
    void a.store.ping().then(() => {
      settled = true;
    });
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(settled, false);
  });

  it('crashableStore.freeze: answers wait until thaw, then arrive in order', async () => {
    const a = crashableStore(new MemoryStore());
    a.freeze();
    const order: string[] = [];
    const one = a.store.leases.acquire('x', 'a', 1_000, 0).then(() => order.push('x'));
    const two = a.store.leases.acquire('y', 'a', 1_000, 0).then(() => order.push('y'));
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(order, []);
    a.thaw();
    await Promise.all([one, two]);
    assert.deepEqual(order, ['x', 'y']);
  });

  it('crashableStore hooks: answers are seen as the backend gives them, refusals as the process gets them', async () => {
    const seen: string[] = [];
    const a = crashableStore(new MemoryStore(), {
      leases: {
        acquire: {
          answered: ((lease: unknown, args: unknown[]) => seen.push(`answered ${args[0]} ${lease !== null}`)) as never,
        },
        release: { refused: ((e: Error, args: unknown[]) => seen.push(`refused ${args[0]}: ${e.message}`)) as never },
      },
    });
    a.freeze();
    const held = a.store.leases.acquire('x', 'a', 1_000, 0).then(() => seen.push('delivered x'));
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(seen, ['answered x true'], 'booked when the backend answered, though the process is frozen');
    a.thaw();
    await held;
    a.unreachable('connection refused');
    await assert.rejects(a.store.leases.release('x', 'a', 1), StoreError);
    await assert.rejects(a.store.leases.acquire('y', 'a', 1_000, 0), StoreError);
    assert.deepEqual(seen, ['answered x true', 'delivered x', 'refused x: connection refused']);
  });

  it('FaultyDependency: slows calls by its factor and fails them at its rate', async () => {
    const clock = new VirtualClock();
    const draws = [0.1, 0.9];
    const dep = new FaultyDependency('api', () => draws.shift() ?? 0.5);
    const act = dep.wrap(async (_item, ctx) => {
      await ctx.clock.sleep(100, ctx.signal);
      return 'ok';
    });
    const ctx = { clock, signal: new AbortController().signal } as unknown as Parameters<typeof act>[1];
    const item = { key: 'k', priority: 2, payload: null, idempotencyKey: 'k' };
    dep.slow(3);
    dep.failing(0.5);
    const started = clock.monotonic();
    const first = Promise.resolve(act(item, ctx)).catch((e: unknown) => e);
    await clock.advance(300);
    assert.ok((await first) instanceof InjectedFault, 'the draw 0.1 < 0.5 fails');
    assert.equal(clock.monotonic() - started, 300);
    const second = Promise.resolve(act(item, ctx));
    await clock.advance(300);
    assert.equal(await second, 'ok');
    assert.throws(() => dep.slow(0.5), /Expected `factor` to be a finite number >= 1, got `0.5`/);
  });
});
