import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { capturingLogger } from '../../test/support/capturing-logger.ts';
import { MemoryStore } from '../storage/memory/memory-store.ts';
import { type Store, StoreError } from '../storage/store.ts';
import { VirtualClock } from '../time/virtual-clock.ts';
import { PROBE, StoreGuard, StoreUnavailableError } from './store-guard.ts';

/** A memory store whose every call fails (`down`) or never answers (`hung`) on demand; counts the calls that reached it. */
function switchableStore() {
  const inner = new MemoryStore();
  const state = { down: false, hung: false, calls: 0 };
  const gate = <T>(fn: () => Promise<T>): Promise<T> => {
    state.calls++;
    if (state.hung) return new Promise<T>(() => {});
    if (state.down) return Promise.reject(new StoreError('memory://: connection refused (test)'));
    return fn();
  };
  const part = <T extends object>(target: T): T =>
    new Proxy(target, {
      get(obj, prop) {
        const value = Reflect.get(obj, prop, obj) as unknown;
        if (typeof value !== 'function') return value;
        return (...args: unknown[]) => gate(() => (value as (...a: unknown[]) => Promise<unknown>).apply(obj, args));
      },
    });
  const store: Store = {
    cycles: part(inner.cycles),
    queue: part(inner.queue),
    events: part(inner.events),
    leases: part(inner.leases),
    instances: part(inner.instances),
    buckets: part(inner.buckets),
    documents: part(inner.documents),
    journals: part(inner.journals),
    ping: () => gate(() => inner.ping()),
    prune: (before) => gate(() => inner.prune(before)),
    close: () => inner.close(),
    description: 'memory://',
  };
  return { store, state };
}

function setup() {
  const clock = new VirtualClock({ now: Date.UTC(2026, 0, 1) });
  const { logger, lines } = capturingLogger();
  const guard = new StoreGuard({ clock, logger });
  const { store, state } = switchableStore();
  const guarded = guard.wrap(store);
  const stop = new AbortController();
  const probe = guard.run(stop.signal);
  const changes: Array<{ to: string; at: number }> = [];
  guard.onStateChange(({ to }) => changes.push({ to, at: clock.now() }));
  return {
    clock,
    guard,
    guarded,
    state,
    lines,
    changes,
    async stop() {
      stop.abort();
      await probe;
      assert.equal(clock.pendingTimers, 0, 'the probe left no timer behind');
    },
  };
}

describe('StoreGuard: the store behind a breaker', () => {
  it('a store that refuses opens the breaker within a second with no call made, and the reason names its error', async () => {
    const t = setup();
    await t.clock.advance(2_000);
    assert.equal(t.guard.breaker.state, 'closed');
    const downAt = t.clock.now();
    t.state.down = true;
    await t.clock.advance(1_000);
    const opened = t.changes.find((c) => c.to === 'open');
    assert.ok(opened, 'the breaker opened');
    assert.ok(opened.at - downAt <= PROBE.intervalMs + PROBE.confirmMs, `opened ${opened.at - downAt} ms after`);
    assert.equal(t.guard.outages, 1);
    assert.equal(t.guard.unavailable(), 'store unavailable: memory://: connection refused (test)');
    assert.equal(t.lines.filter((l) => l.level === 'error').length, 1, 'the outage is logged once');
    await t.stop();
  });

  it('a hung store (no answer) opens the breaker through the probe timeout', async () => {
    const t = setup();
    const hungAt = t.clock.now();
    t.state.hung = true;
    await t.clock.advance(5_000);
    const opened = t.changes.find((c) => c.to === 'open');
    assert.ok(opened, 'the breaker opened');
    assert.ok(
      opened.at - hungAt <= PROBE.intervalMs + PROBE.confirmMs + 2 * PROBE.timeoutMs,
      `opened ${opened.at - hungAt} ms after`,
    );
    assert.match(t.guard.lastError?.message ?? '', /no answer within 2000 ms/);
    await t.stop();
  });

  it('while open, calls are refused at once without reaching the store; a ping that succeeds closes it', async () => {
    const t = setup();
    t.state.down = true;
    await t.clock.advance(1_000);
    assert.equal(t.guard.breaker.state, 'open');
    const before = t.state.calls;
    await assert.rejects(t.guarded.queue.depth(), (error: unknown) => {
      assert.ok(error instanceof StoreUnavailableError);
      assert.ok(error instanceof StoreError, 'still a StoreError for callers that catch those');
      assert.match((error as Error).message, /^store unavailable: .*connection refused.*\(queue\.depth not sent\)$/);
      return true;
    });
    assert.equal(t.state.calls, before, 'the store was not asked');
    // A holder keeping its lease is never refused by the breaker: the renewal goes out (and fails here).
    await assert.rejects(t.guarded.leases.renew('k', 'me', 1, 1_000, t.clock.now()), /connection refused/);
    assert.equal(t.state.calls, before + 1, 'the renewal was sent');
    const health = await t.guard.health();
    assert.equal(health.healthy, false);
    assert.equal(health.breaker, 'open');
    assert.match(String(health.lastError), /connection refused/);

    let healthy = 0;
    t.guard.onHealthy(() => healthy++);
    const upAt = t.clock.now();
    t.state.down = false;
    await t.clock.advance(1_000);
    const closed = t.changes.find((c) => c.to === 'closed');
    assert.ok(closed, 'the breaker closed');
    assert.ok(closed.at - upAt <= 1_000, `closed ${closed.at - upAt} ms after the store answered`);
    assert.ok(healthy >= 1, 'onHealthy listeners heard it');
    assert.deepEqual(await t.guarded.queue.depth(), []);
    assert.equal((await t.guard.health()).healthy, true);
    assert.equal(t.guard.unavailable(), undefined);
    await t.stop();
  });

  it('counts only StoreErrors as failures: an error the store answered with leaves it closed', async () => {
    const t = setup();
    const boom = () => Promise.reject(new TypeError('bad input'));
    for (let i = 0; i < 5; i++) await assert.rejects(t.guard.call('x', boom), TypeError);
    assert.equal(t.guard.breaker.state, 'closed');
    assert.equal(t.guard.failures, 0);
    await t.stop();
  });

  it('logFailure says a repeated failure once per outage, and every isolated one while closed', async () => {
    const t = setup();
    const warnings = () => t.lines.filter((l) => l.level === 'warn').length;
    t.guard.logFailure('cycle:a', new Error('x'), {}, 'isolated');
    t.guard.logFailure('cycle:a', new Error('x'), {}, 'isolated');
    assert.equal(warnings(), 2);
    t.state.down = true;
    await t.clock.advance(1_000);
    for (let i = 0; i < 10; i++) t.guard.logFailure('cycle:a', new Error('x'), {}, 'during outage');
    t.guard.logFailure('recovery', new Error('x'), {}, 'during outage');
    assert.equal(warnings(), 4);
    await t.stop();
  });
});
