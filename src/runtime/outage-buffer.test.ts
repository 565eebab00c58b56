import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CycleRecord } from '../core/cycle-record.ts';
import type { Logger } from '../core/logger.ts';
import type { WorkItem } from '../core/work-item.ts';
import { MemoryStore } from '../storage/memory/memory-store.ts';
import { type Store, StoreError } from '../storage/store.ts';
import { VirtualClock } from '../time/virtual-clock.ts';
import { OUTAGE_LIMITS, OutageBuffer } from './outage-buffer.ts';

const T0 = Date.UTC(2026, 0, 1);
const OWNER = 'host:1:abc';

function setup(store: Store = new MemoryStore()) {
  const clock = new VirtualClock({ now: T0 });
  const errors: string[] = [];
  const logger: Logger = {
    debug() {},
    info() {},
    warn() {},
    error: (_fields, message = '') => errors.push(message),
    child: () => logger,
  };
  const guard = {
    down: false as boolean,
    outages: 0,
    unavailable: () => (guard.down ? 'store unavailable: x' : undefined),
  };
  const buffer = new OutageBuffer({ guard, store: () => store, owner: OWNER, clock, logger });
  return { clock, store, guard, buffer, errors };
}

const item = (key: string, i = 0): WorkItem => ({
  key,
  priority: i % 4,
  payload: { n: i },
  idempotencyKey: `l:${key}:tick`,
});

function record(loop: string, i: number, outcome: CycleRecord['outcome']): CycleRecord {
  const at = T0 + i * 1000;
  return {
    id: `c${loop}${i}`,
    loop,
    tickId: `${loop}@${new Date(at).toISOString()}`,
    trigger: 'cron',
    scheduledAt: at,
    startedAt: at,
    finishedAt: at,
    steps: {},
    counts: { planned: 0, succeeded: 0, failed: 0, skipped: 0 },
    outcome,
    owner: OWNER,
  };
}

describe('OutageBuffer', () => {
  it('holds at most 10,000 items, drops the oldest (counted, one error log), and re-enqueues the rest as pending', async () => {
    const t = setup();
    const n = OUTAGE_LIMITS.items + 50;
    const items = Array.from({ length: n }, (_, i) => item(`k${i}`, i));
    for (let i = 0; i < n; i += 1000) t.buffer.unacked('l', `cycle${i}`, items.slice(i, i + 1000), new Error('down'));
    assert.deepEqual(t.buffer.held, { items: OUTAGE_LIMITS.items, cycles: 0, skips: 0 });
    assert.equal(t.buffer.dropped.items, 50);
    assert.equal(t.errors.length, 1, 'the drop is logged once');
    await t.buffer.replay();
    assert.ok(t.buffer.empty);
    const queued = await t.store.queue.list('l');
    assert.equal(queued.length, OUTAGE_LIMITS.items);
    const byKey = new Map(queued.map((q) => [q.key, q]));
    assert.equal(byKey.has('k49'), false, 'the oldest went');
    const kept = byKey.get('k50');
    assert.deepEqual(
      { priority: kept?.priority, payload: kept?.payload, idem: kept?.idempotencyKey, claim: kept?.claim },
      { priority: 50 % 4, payload: { n: 50 }, idem: 'l:k50:tick', claim: null },
    );
  });

  it('an item the store kept (still claimed) goes back to pending once, not twice', async () => {
    const t = setup();
    const [queued] = await t.store.queue.enqueue('l', 'c1', [item('a')], { owner: OWNER, until: T0 + 10_000 }, T0);
    assert.ok(queued);
    t.buffer.unacked('l', 'c1', [queued], new StoreError('down'));
    t.buffer.unacked('l', 'c1', [queued], new StoreError('down again'));
    assert.equal(t.buffer.held.items, 1, 'one entry per idempotency key');
    await t.buffer.replay();
    const list = await t.store.queue.list('l');
    assert.equal(list.length, 1);
    assert.equal(list[0]?.id, queued.id);
    assert.equal(list[0]?.claim, null, 'released: the next cycle adopts it at once');
  });

  it('an item whose complete was applied though its reply was lost is not run again', async () => {
    const t = setup();
    const [queued] = await t.store.queue.enqueue('l', 'c1', [item('a')], { owner: OWNER, until: T0 + 10_000 }, T0);
    assert.ok(queued);
    const result = {
      cycleId: 'c1',
      loop: 'l',
      key: 'a',
      idempotencyKey: queued.idempotencyKey,
      priority: queued.priority,
      status: 'succeeded' as const,
      attempts: 1,
      startedAt: T0,
      finishedAt: T0 + 5,
      durationMs: 5,
      output: 1,
    };
    assert.equal(await t.store.queue.complete(queued.id, OWNER, result), true);
    t.buffer.unacked('l', 'c1', [queued, item('b')], new StoreError('reply lost'));
    await t.buffer.replay();
    assert.ok(t.buffer.empty);
    assert.deepEqual(
      (await t.store.queue.list('l')).map((q) => q.key),
      ['b'],
      'only the item with no stored result is queued again',
    );
  });

  it('a queued item gone from the store runs again only if the store lost its data, not if a peer finished it', async () => {
    const t = setup();
    // The cycle c1's record is in the store: it kept its data, so a vanished row was finished by a peer.
    await t.store.cycles.start({ ...record('l', 1, { kind: 'running' }), id: 'c1', finishedAt: null });
    const [a] = await t.store.queue.enqueue('l', 'c1', [item('a')], { owner: OWNER, until: T0 + 10_000 }, T0);
    assert.ok(a);
    await t.store.queue.complete(a.id, OWNER, {
      cycleId: 'peer-cycle',
      loop: 'l',
      key: 'a',
      idempotencyKey: a.idempotencyKey,
      priority: a.priority,
      status: 'succeeded',
      attempts: 1,
      startedAt: T0,
      finishedAt: T0,
      durationMs: 0,
    });
    t.buffer.unacked('l', 'c1', [a], new StoreError('partitioned'));
    // Cycle c2 is unknown to the store (lost with a restart): its item is queued again.
    t.buffer.unacked('l', 'c2', [{ ...a, id: '999', cycleId: 'c2', key: 'b', idempotencyKey: 'l:b:tick' }], null);
    await t.buffer.replay();
    assert.ok(t.buffer.empty);
    assert.deepEqual(
      (await t.store.queue.list('l')).map((q) => [q.key, q.cycleId, q.claim]),
      [['b', 'c2', null]],
    );
  });

  it('skipped ticks past the per-loop cap are counted in the reason of the oldest one recorded', async () => {
    const t = setup();
    const n = OUTAGE_LIMITS.skipsPerLoop + 7;
    for (let i = 0; i < n; i++)
      t.buffer.unrecorded(record('l', i, { kind: 'skipped', reason: 'store unavailable: x' }));
    t.buffer.unrecorded(record('m', 0, { kind: 'skipped', reason: 'paused: the loop is paused' }));
    assert.equal(t.buffer.held.skips, OUTAGE_LIMITS.skipsPerLoop + 1);
    assert.equal(t.buffer.dropped.skips, 7);
    await t.buffer.replay();
    const l = (await t.store.cycles.list('l')).reverse();
    assert.equal(l.length, OUTAGE_LIMITS.skipsPerLoop);
    const first = l[0];
    assert.equal(first?.scheduledAt, T0 + 7_000);
    assert.equal(
      first?.outcome.kind === 'skipped' && first.outcome.reason,
      `store unavailable: x; 7 earlier ticks from ${new Date(T0).toISOString()} to ${new Date(T0 + 6_000).toISOString()} were missed too and are not recorded one by one`,
    );
    assert.ok(l.slice(1).every((r) => r.outcome.kind === 'skipped' && r.outcome.reason === 'store unavailable: x'));
    assert.equal((await t.store.cycles.list('m')).length, 1);
  });

  it('cycle records: written whole when the store lost them, finished when it has them', async () => {
    const t = setup();
    const lost = record('l', 1, { kind: 'ok' });
    const running = { ...record('l', 2, { kind: 'running' }), finishedAt: null };
    await t.store.cycles.start(running);
    t.buffer.unrecorded(lost);
    t.buffer.unrecorded({ ...running, finishedAt: T0 + 2_500, outcome: { kind: 'partial', failed: 1 } });
    await t.buffer.replay();
    assert.equal((await t.store.cycles.get(lost.id))?.outcome.kind, 'ok');
    const finished = await t.store.cycles.get(running.id);
    assert.deepEqual([finished?.outcome.kind, finished?.finishedAt], ['partial', T0 + 2_500]);
  });

  it('holds at most 1,000 cycle records, dropping the oldest', () => {
    const t = setup();
    for (let i = 0; i < OUTAGE_LIMITS.cycles + 3; i++) t.buffer.unrecorded(record('l', i, { kind: 'ok' }));
    assert.equal(t.buffer.held.cycles, OUTAGE_LIMITS.cycles);
    assert.equal(t.buffer.dropped.cycles, 3);
  });

  it('does nothing while the store is unavailable, and keeps what a failed replay did not write', async () => {
    const inner = new MemoryStore();
    let failEnqueue = true;
    const store: Store = Object.assign(Object.create(inner) as Store, {
      queue: {
        ...inner.queue,
        release: inner.queue.release.bind(inner.queue),
        enqueue: (...args: Parameters<Store['queue']['enqueue']>) =>
          failEnqueue ? Promise.reject(new StoreError('flapping')) : inner.queue.enqueue(...args),
      },
      cycles: inner.cycles,
    });
    const t = setup(store);
    t.buffer.unacked('l', 'c1', [item('a')], new StoreError('down'));
    t.buffer.unrecorded(record('l', 1, { kind: 'skipped', reason: 'store unavailable: x' }));
    t.guard.down = true;
    await t.buffer.replay();
    assert.deepEqual(t.buffer.held, { items: 1, cycles: 0, skips: 1 });
    t.guard.down = false;
    await t.buffer.replay();
    assert.deepEqual(t.buffer.held, { items: 1, cycles: 0, skips: 1 }, 'items first: nothing after them is written');
    failEnqueue = false;
    await t.buffer.replay();
    assert.ok(t.buffer.empty);
    assert.equal((await inner.queue.list('l')).length, 1);
    assert.equal((await inner.cycles.list('l')).length, 1);
  });
});
