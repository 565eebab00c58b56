import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CycleRecord, ItemResult } from '../core/cycle-record.ts';
import type { Logger } from '../core/logger.ts';
import type { WorkItem } from '../core/work-item.ts';
import { MemoryStore } from '../storage/memory/memory-store.ts';
import { type Store, StoreError } from '../storage/store.ts';
import { VirtualClock } from '../time/virtual-clock.ts';
import { OutageStore } from './outage-store.ts';

const T0 = Date.UTC(2026, 0, 1);
const OWNER = 'host:1:abc';
const CLAIM = { owner: OWNER, until: T0 + 10_000 };

/** A memory store behind a switch: `down` fails every call with a StoreError; `sent` counts the calls made. */
function setup() {
  const inner = new MemoryStore();
  const state = { down: false, sent: 0 };
  const guard = {
    outages: 0,
    failures: 0,
    unavailable: () => (state.down ? 'store unavailable: down (test)' : undefined),
  };
  const part = <T extends object>(target: T): T =>
    new Proxy(target, {
      get(obj, prop) {
        const value = Reflect.get(obj, prop, obj) as unknown;
        if (typeof value !== 'function') return value;
        return (...args: unknown[]) => {
          state.sent++;
          if (state.down) {
            guard.failures++;
            return Promise.reject(new StoreError('down (test)'));
          }
          return (value as (...a: unknown[]) => Promise<unknown>).apply(obj, args);
        };
      },
    });
  const switched: Store = {
    cycles: part(inner.cycles),
    queue: part(inner.queue),
    events: inner.events,
    leases: part(inner.leases),
    instances: inner.instances,
    buckets: inner.buckets,
    documents: inner.documents,
    journals: inner.journals,
    unavailable: guard.unavailable,
    ping: () => inner.ping(),
    prune: (before) => inner.prune(before),
    close: () => inner.close(),
    description: inner.description,
  };
  const clock = new VirtualClock({ now: T0 });
  const silent: Logger = { debug() {}, info() {}, warn() {}, error() {}, child: () => silent };
  const outage = new OutageStore({ guard, owner: OWNER, clock, logger: silent });
  return { inner, state, guard, outage, store: outage.wrap(switched) };
}

const item = (key: string): WorkItem => ({ key, priority: 2, payload: { key }, idempotencyKey: `l:${key}:t` });

function record(id: string, outcome: CycleRecord['outcome']): CycleRecord {
  return {
    id,
    loop: 'l',
    tickId: `l@${id}`,
    trigger: 'cron',
    scheduledAt: T0,
    startedAt: T0,
    finishedAt: outcome.kind === 'running' ? null : T0,
    steps: {},
    counts: { planned: 0, succeeded: 0, failed: 0, skipped: 0 },
    outcome,
    owner: OWNER,
  };
}

function result(cycleId: string, key: string): ItemResult {
  return {
    cycleId,
    loop: 'l',
    key,
    idempotencyKey: `l:${key}:t`,
    priority: 2,
    status: 'succeeded',
    attempts: 1,
    startedAt: T0,
    finishedAt: T0,
    durationMs: 0,
  };
}

describe('OutageStore: the Store decorator that keeps what an outage could not write', () => {
  it('a skip is taken (true) and kept while down, without asking the store; written at replay', async () => {
    const t = setup();
    t.state.down = true;
    assert.equal(await t.store.cycles.start(record('s1', { kind: 'skipped', reason: 'store unavailable: x' })), true);
    assert.equal(t.state.sent, 0, 'not sent while the store is unavailable');
    assert.equal(t.outage.held.skips, 1);
    t.state.down = false;
    await t.outage.replay();
    assert.equal((await t.inner.cycles.get('s1'))?.outcome.kind, 'skipped');
    assert.ok(t.outage.empty);
  });

  it("a running record's failed start rejects (the tick is not claimed) and keeps the rows its cycle adopted", async () => {
    const t = setup();
    await t.inner.queue.enqueue('l', 'old', [item('a')], null, T0);
    const adopted = await t.store.queue.claimStale('l', 'r1', CLAIM, T0, 10);
    assert.equal(adopted.length, 1);
    t.state.down = true;
    await assert.rejects(t.store.cycles.start(record('r1', { kind: 'running' })), StoreError);
    assert.deepEqual(t.outage.held, { items: 1, cycles: 0, skips: 0 });
    t.state.down = false;
    await t.outage.replay();
    assert.deepEqual(
      (await t.inner.queue.list('l')).map((q) => [q.key, q.claim]),
      [['a', null]],
      'released to pending for the next cycle',
    );
  });

  it('a failed enqueue rejects and keeps the items, which replay queues as pending', async () => {
    const t = setup();
    t.state.down = true;
    await assert.rejects(t.store.queue.enqueue('l', 'c1', [item('a'), item('b')], CLAIM, T0), StoreError);
    assert.equal(t.outage.held.items, 2);
    t.state.down = false;
    await t.outage.replay();
    assert.deepEqual(
      (await t.inner.queue.list('l')).map((q) => [q.key, q.claim]),
      [
        ['a', null],
        ['b', null],
      ],
    );
  });

  it('a failed complete rejects and keeps its result, which replay writes with its fence: the item does not run again', async () => {
    const t = setup();
    const [a, b] = await t.store.queue.enqueue('l', 'c1', [item('a'), item('b')], CLAIM, T0);
    assert.ok(a && b);
    const lease = await t.store.leases.acquire('l/b', OWNER, 10_000, T0);
    assert.ok(lease);
    const fence = { key: lease.key, token: lease.token };
    assert.equal(await t.store.queue.complete(a.id, OWNER, result('c1', 'a')), true);
    t.state.down = true;
    await assert.rejects(
      t.store.queue.complete(b.id, OWNER, result('c1', 'b'), fence, { releaseLease: true }),
      StoreError,
    );
    await t.store.cycles.finish(record('c1', { kind: 'partial', failed: 1 }));
    assert.deepEqual(t.outage.held, { items: 1, cycles: 1, skips: 0 });
    t.state.down = false;
    await t.outage.replay();
    assert.deepEqual(await t.inner.queue.list('l'), [], 'nothing back in the queue');
    assert.deepEqual((await t.inner.cycles.items('c1')).map((r) => r.key).sort(), ['a', 'b']);
    assert.deepEqual(await t.inner.leases.list(T0), [], 'the lease freed by the same write');
    assert.ok(t.outage.empty);
  });

  it("a held result is refused once a peer took the item over (its lease's fence is newer): the peer's run stands", async () => {
    const t = setup();
    const [b] = await t.store.queue.enqueue('l', 'c1', [item('b')], CLAIM, T0);
    assert.ok(b);
    const lease = await t.store.leases.acquire('l/b', OWNER, 10_000, T0);
    assert.ok(lease);
    t.state.down = true;
    const fence = { key: lease.key, token: lease.token };
    await assert.rejects(t.store.queue.complete(b.id, OWNER, result('c1', 'b'), fence), StoreError);
    // The claim and the lease lapse; a peer adopts the item and takes the key with a newer token.
    const later = T0 + 20_000;
    const peer = { owner: 'host:2:def', until: later + 10_000 };
    assert.equal((await t.inner.queue.claimStale('l', 'c2', peer, later, 10)).length, 1);
    assert.ok(await t.inner.leases.acquire('l/b', peer.owner, 10_000, later));
    t.state.down = false;
    await t.outage.replay();
    assert.deepEqual(await t.inner.cycles.items('c1'), [], 'the stale result was not written');
    assert.deepEqual(
      (await t.inner.queue.list('l')).map((q) => [q.key, q.claim?.owner]),
      [['b', peer.owner]],
      "still the peer's to finish",
    );
  });

  it('a failed lease release is answered false and released at replay', async () => {
    const t = setup();
    const lease = await t.store.leases.acquire('l/a', OWNER, 10_000, T0);
    assert.ok(lease);
    t.state.down = true;
    assert.equal(await t.store.leases.release('l/a', OWNER, lease.token), false);
    assert.equal(t.outage.empty, false);
    t.state.down = false;
    await t.outage.replay();
    assert.deepEqual(await t.inner.leases.list(T0), []);
  });

  it("at its cycle's finish, a row left open is kept only if the store had trouble since it was handed out", async () => {
    const t = setup();
    await t.store.queue.enqueue('l', 'calm', [item('a')], CLAIM, T0);
    await t.store.cycles.finish(record('calm', { kind: 'failed', step: 'act', error: { name: 'E', message: 'lost' } }));
    assert.ok(t.outage.empty, 'lost to a peer with no trouble: forgotten');

    await t.store.queue.enqueue('l', 'rough', [item('b')], CLAIM, T0);
    t.guard.outages++; // an outage began while it ran (its lease lapsed, say)
    await t.store.cycles.finish(
      record('rough', { kind: 'failed', step: 'act', error: { name: 'E', message: 'lost' } }),
    );
    assert.deepEqual(t.outage.held, { items: 1, cycles: 0, skips: 0 });
  });
});
