import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { CycleRecord, ItemResult } from '../src/core/cycle-record.ts';
import type { WorkItem } from '../src/core/work-item.ts';
import { type Claim, type Store, StoreError } from '../src/storage/store.ts';

/**
 * The storage port's contract (src/storage/store.ts), one test per promise
 * its TSDoc makes. Every backend runs it: `storageContract('sqlite', open)`.
 * `open` must return a fresh, empty store each time; each test closes it.
 */
export function storageContract(name: string, open: () => Promise<Store>): void {
  describe(name, () => {
    let store: Store;
    beforeEach(async () => {
      store = await open();
    });
    afterEach(async () => {
      await store.close();
    });

    describe('store', () => {
      it('ping resolves while open', async () => {
        await store.ping();
      });

      it('describes itself without a password', () => {
        assert.ok(store.description.length > 0);
        assert.doesNotMatch(store.description, /:[^/]*@/);
      });

      it('close is harmless twice, and every call after it rejects with StoreError', async () => {
        await store.close();
        await store.close();
        const calls: Array<() => Promise<unknown>> = [
          () => store.ping(),
          () => store.prune(0),
          () => store.cycles.start(cycle()),
          () => store.cycles.finish(cycle()),
          () => store.cycles.get('x'),
          () => store.cycles.list('alpha'),
          () => store.cycles.items('x'),
          () => store.cycles.summary('alpha'),
          () => store.queue.enqueue('alpha', 'c', [item('a')], null, 0),
          () => store.queue.claimStale('alpha', 'c', claim('w'), 0, 10),
          () => store.queue.complete('x', 'w', result('c', 'a')),
          () => store.queue.release(['x'], 'w'),
          () => store.queue.depth(),
          () => store.queue.list(),
          () => store.events.append([event('x')]),
          () => store.events.after(0),
          () => store.events.latest(),
        ];
        for (const call of calls) await assert.rejects(call, StoreError);
      });

      it('prune deletes cycles started before the cutoff with their item results, older item results and events', async () => {
        const old = cycle({ startedAt: 1000 });
        const recent = cycle({ startedAt: 5000 });
        await store.cycles.start(old);
        await store.cycles.start(recent);
        // The old cycle's item finished after the cutoff: it goes with its cycle.
        await completeNew(store, old.id, 'a', { finishedAt: 4500 });
        await completeNew(store, recent.id, 'b', { finishedAt: 5500 });
        // A result with no cycle record goes by its own finish time.
        await completeNew(store, 'no-record', 'orphan-old', { finishedAt: 3999 });
        await completeNew(store, 'no-record', 'orphan-new', { finishedAt: 4000 });
        await store.events.append([event('e1', { at: 1000 }), event('e2', { at: 3999 }), event('e3', { at: 4000 })]);

        assert.deepEqual(await store.prune(4000), { cycles: 1, events: 2 });
        assert.equal(await store.cycles.get(old.id), undefined);
        assert.deepEqual(await store.cycles.items(old.id), []);
        assert.deepEqual(await store.cycles.get(recent.id), recent);
        assert.equal((await store.cycles.items(recent.id)).length, 1);
        assert.deepEqual(
          (await store.cycles.items('no-record')).map((r) => r.key),
          ['orphan-new'],
        );
        assert.deepEqual(
          (await store.events.after(0)).map((e) => e.type),
          ['e3'],
        );
        assert.deepEqual(await store.prune(4000), { cycles: 0, events: 0 });
      });
    });

    describe('cycles', () => {
      it('start records a cycle that get returns as written', async () => {
        const record = cycle();
        assert.equal(await store.cycles.start(record), true);
        assert.deepEqual(await store.cycles.get(record.id), record);
      });

      it('start records a skipped cycle as given', async () => {
        const record = cycle({ outcome: { kind: 'skipped', reason: 'overlap' }, finishedAt: 1000 });
        assert.equal(await store.cycles.start(record), true);
        assert.deepEqual(await store.cycles.get(record.id), record);
      });

      it('start returns false and writes nothing when the tickId already has a record', async () => {
        const first = cycle({ tickId: 'alpha@t1' });
        const second = cycle({ tickId: 'alpha@t1', owner: 'other:2:x', startedAt: 2000 });
        assert.equal(await store.cycles.start(first), true);
        assert.equal(await store.cycles.start(second), false);
        assert.equal(await store.cycles.get(second.id), undefined);
        assert.deepEqual(await store.cycles.list('alpha'), [first]);
      });

      it('start returns false when a record with the same id exists', async () => {
        const first = cycle();
        assert.equal(await store.cycles.start(first), true);
        assert.equal(await store.cycles.start({ ...first, tickId: 'alpha@other' }), false);
        assert.deepEqual(await store.cycles.get(first.id), first);
      });

      it('finish overwrites outcome, counts, steps and finishedAt', async () => {
        const record = cycle();
        await store.cycles.start(record);
        const finished: CycleRecord = {
          ...record,
          finishedAt: 1900,
          steps: { observeMs: 10, planMs: 2, actMs: 800 },
          counts: { planned: 3, succeeded: 2, failed: 1 },
          outcome: { kind: 'partial', failed: 1 },
        };
        await store.cycles.finish(finished);
        assert.deepEqual(await store.cycles.get(record.id), finished);
        const failed: CycleRecord = {
          ...finished,
          finishedAt: 2000,
          outcome: { kind: 'failed', step: 'act', error: { name: 'Error', message: 'boom' } },
        };
        await store.cycles.finish(failed);
        assert.deepEqual(await store.cycles.get(record.id), failed);
      });

      it('finish writes nothing for an unknown id', async () => {
        const record = cycle();
        await store.cycles.finish({ ...record, finishedAt: 5 });
        assert.equal(await store.cycles.get(record.id), undefined);
        assert.deepEqual(await store.cycles.list('alpha'), []);
      });

      it('get returns undefined for an unknown id', async () => {
        assert.equal(await store.cycles.get('nope'), undefined);
      });

      it('list returns the loop records newest first (startedAt, then id), up to limit', async () => {
        const a = cycle({ id: 'a', startedAt: 1000 });
        const b = cycle({ id: 'b', startedAt: 3000 });
        const c = cycle({ id: 'c', startedAt: 2000 });
        const d = cycle({ id: 'd', startedAt: 3000 });
        const other = cycle({ id: 'o', loop: 'beta', startedAt: 9000 });
        for (const r of [a, b, c, d, other]) assert.equal(await store.cycles.start(r), true);
        assert.deepEqual(await store.cycles.list('alpha'), [d, b, c, a]);
        assert.deepEqual(await store.cycles.list('alpha', { limit: 2 }), [d, b]);
        assert.deepEqual(await store.cycles.list('beta'), [other]);
        assert.deepEqual(await store.cycles.list('gamma'), []);
      });

      it('items returns a cycle results in the order they finished', async () => {
        const record = cycle();
        await store.cycles.start(record);
        await completeNew(store, record.id, 'late', { finishedAt: 3000 });
        await completeNew(store, record.id, 'early', { finishedAt: 1000 });
        await completeNew(store, record.id, 'tie-1', { finishedAt: 2000 });
        await completeNew(store, record.id, 'tie-2', { finishedAt: 2000 });
        await completeNew(store, 'another-cycle', 'elsewhere', { finishedAt: 1500 });
        const keys = (await store.cycles.items(record.id)).map((r) => r.key);
        assert.deepEqual(keys, ['early', 'tie-1', 'tie-2', 'late']);
        assert.deepEqual(await store.cycles.items('unknown'), []);
      });

      it('items returns results as written, with output and error', async () => {
        const ok = result('c1', 'a', { output: { rows: 3, note: null } });
        const failed = result('c1', 'b', {
          status: 'failed',
          attempts: 3,
          finishedAt: 3000,
          error: { name: 'TimeoutError', message: 'timed out', exitCode: null },
        });
        await completeWith(store, ok);
        await completeWith(store, failed);
        assert.deepEqual(await store.cycles.items('c1'), [ok, failed]);
      });

      it('summary returns the latest record and when the latest ok/partial cycle finished', async () => {
        await store.cycles.start(cycle({ startedAt: 1000, finishedAt: 1500, outcome: { kind: 'ok' } }));
        await store.cycles.start(cycle({ startedAt: 2000, finishedAt: 2600, outcome: { kind: 'partial', failed: 1 } }));
        await store.cycles.start(
          cycle({
            startedAt: 3000,
            finishedAt: 3100,
            outcome: { kind: 'failed', step: 'observe', error: { name: 'Error', message: 'x' } },
          }),
        );
        const skipped = cycle({ startedAt: 4000, finishedAt: 4000, outcome: { kind: 'skipped', reason: 'overlap' } });
        await store.cycles.start(skipped);
        await store.cycles.start(cycle({ loop: 'beta', startedAt: 9000, finishedAt: 9100, outcome: { kind: 'ok' } }));
        assert.deepEqual(await store.cycles.summary('alpha'), { last: skipped, lastSuccessAt: 2600 });
      });

      it('summary has no lastSuccessAt when no cycle was ok or partial, and nothing for an unknown loop', async () => {
        const running = cycle({ startedAt: 2000 });
        await store.cycles.start(
          cycle({
            startedAt: 1000,
            finishedAt: 1100,
            outcome: { kind: 'failed', step: 'plan', error: { name: 'Error', message: 'x' } },
          }),
        );
        await store.cycles.start(running);
        const summary = await store.cycles.summary('alpha');
        assert.deepEqual(summary.last, running);
        assert.equal(summary.lastSuccessAt, undefined);
        const none = await store.cycles.summary('nobody');
        assert.equal(none.last, undefined);
        assert.equal(none.lastSuccessAt, undefined);
      });

      it('keeps its own copy: changing a record after start does not change the stored one', async () => {
        const record = cycle();
        await store.cycles.start(record);
        const copy = structuredClone(record);
        record.counts.planned = 99;
        record.outcome = { kind: 'ok' };
        assert.deepEqual(await store.cycles.get(record.id), copy);
      });
    });

    queueContract(() => store);
    eventContract(() => store);
  });
}

function queueContract(get: () => Store): void {
  describe('queue', () => {
    it('enqueue returns the added rows in the order given, pending when no claim', async () => {
      const items = [item('b', { priority: 1 }), item('a', { payload: [1, 'x', null] }), item('c')];
      const added = await get().queue.enqueue('alpha', 'c1', items, null, 1000);
      assert.equal(added.length, 3);
      added.forEach((row, i) => {
        const { id, ...rest } = row;
        assert.equal(typeof id, 'string');
        assert.deepEqual(rest, { ...items[i], loop: 'alpha', cycleId: 'c1', enqueuedAt: 1000, claim: null });
      });
      assert.equal(new Set(added.map((r) => r.id)).size, 3);
    });

    it('enqueue with a claim adds the rows already claimed', async () => {
      const added = await get().queue.enqueue('alpha', 'c1', [item('a')], claim('w1', 5000), 1000);
      assert.deepEqual(added[0]?.claim, { owner: 'w1', until: 5000 });
      assert.deepEqual((await get().queue.list())[0]?.claim, { owner: 'w1', until: 5000 });
    });

    it('enqueue skips items whose idempotency key is queued, and returns only the added rows', async () => {
      const q = get().queue;
      await q.enqueue('alpha', 'c1', [item('a'), item('b')], null, 1000);
      const added = await q.enqueue('alpha', 'c2', [item('b'), item('c'), item('c', { priority: 0 })], null, 2000);
      assert.deepEqual(
        added.map((r) => [r.key, r.cycleId, r.priority]),
        [['c', 'c2', 2]],
      );
      const listed = await q.list();
      assert.deepEqual(listed.map((r) => r.key).sort(), ['a', 'b', 'c']);
      assert.equal(listed.find((r) => r.key === 'b')?.cycleId, 'c1');
      const otherLoop = await q.enqueue('beta', 'c3', [item('a')], null, 3000);
      assert.deepEqual(otherLoop, [], 'the idempotency key is unique in the whole queue');
    });

    it('enqueue accepts an idempotency key again once its item completed', async () => {
      const q = get().queue;
      const [row] = await q.enqueue('alpha', 'c1', [item('a')], claim('w1'), 1000);
      assert.equal(await q.complete(row!.id, 'w1', result('c1', 'a')), true);
      assert.equal((await q.enqueue('alpha', 'c2', [item('a')], null, 2000)).length, 1);
    });

    it('items claimed at enqueue are not claimable until their claim expires', async () => {
      const q = get().queue;
      await q.enqueue('alpha', 'c1', [item('a')], claim('w1', 5000), 1000);
      assert.deepEqual(await q.claimStale('alpha', 'c2', claim('w2', 9000), 4999, 10), []);
      const taken = await q.claimStale('alpha', 'c2', claim('w2', 9000), 5000, 10);
      assert.deepEqual(
        taken.map((r) => [r.key, r.claim]),
        [['a', { owner: 'w2', until: 9000 }]],
      );
    });

    it('claimStale takes lowest priority number first, then oldest, up to limit', async () => {
      const q = get().queue;
      await q.enqueue('alpha', 'c1', [item('low', { priority: 3 }), item('crit-old', { priority: 0 })], null, 1000);
      await q.enqueue('alpha', 'c1', [item('med', { priority: 2 }), item('crit-new', { priority: 0 })], null, 2000);
      await q.enqueue('alpha', 'c1', [item('med-2', { priority: 2 })], null, 2000);
      const first = await q.claimStale('alpha', 'c2', claim('w'), 3000, 3);
      assert.deepEqual(
        first.map((r) => r.key),
        ['crit-old', 'crit-new', 'med'],
      );
      const rest = await q.claimStale('alpha', 'c2', claim('w'), 3000, 10);
      assert.deepEqual(
        rest.map((r) => r.key),
        ['med-2', 'low'],
      );
      assert.deepEqual(await q.claimStale('alpha', 'c2', claim('w'), 3000, 10), []);
    });

    it('claimStale takes pending and expired items of the loop, re-assigned to the cycle', async () => {
      const q = get().queue;
      await q.enqueue('alpha', 'c1', [item('pending')], null, 1000);
      await q.enqueue('alpha', 'c1', [item('expired')], claim('dead', 2000), 1000);
      await q.enqueue('alpha', 'c1', [item('held')], claim('alive', 9000), 1000);
      await q.enqueue('beta', 'c1', [item('other-loop')], null, 1000);
      const taken = await q.claimStale('alpha', 'c2', claim('w2', 8000), 3000, 10);
      assert.deepEqual(taken.map((r) => [r.key, r.cycleId, r.claim]).sort(), [
        ['expired', 'c2', { owner: 'w2', until: 8000 }],
        ['pending', 'c2', { owner: 'w2', until: 8000 }],
      ]);
      const listed = await q.list('alpha');
      for (const row of listed.filter((r) => r.key !== 'held')) {
        assert.equal(row.cycleId, 'c2');
        assert.deepEqual(row.claim, { owner: 'w2', until: 8000 });
      }
      assert.deepEqual(listed.find((r) => r.key === 'held')?.claim, { owner: 'alive', until: 9000 });
      assert.deepEqual(await q.claimStale('alpha', 'c3', claim('w3'), 3000, 0), []);
    });

    it('complete removes the item and stores its result when the owner holds the claim', async () => {
      const q = get().queue;
      const [row] = await q.enqueue('alpha', 'c1', [item('a')], claim('w1'), 1000);
      const res = result('c1', 'a', { output: 'done' });
      assert.equal(await q.complete(row!.id, 'w1', res), true);
      assert.deepEqual(await q.list(), []);
      assert.deepEqual(await get().cycles.items('c1'), [res]);
      assert.equal(await q.complete(row!.id, 'w1', res), false, 'a second complete finds nothing');
      assert.equal((await get().cycles.items('c1')).length, 1);
    });

    it('complete returns false and writes nothing when the caller does not hold the claim', async () => {
      const q = get().queue;
      const [held] = await q.enqueue('alpha', 'c1', [item('held')], claim('w1', 5000), 1000);
      const [pending] = await q.enqueue('alpha', 'c1', [item('pending')], null, 1000);
      assert.equal(await q.complete(held!.id, 'intruder', result('c1', 'held')), false);
      assert.equal(await q.complete(pending!.id, 'w1', result('c1', 'pending')), false);
      assert.equal(await q.complete('no-such-id', 'w1', result('c1', 'x')), false);
      // Its claim expired and another owner took it over: the first owner's result is refused.
      await q.claimStale('alpha', 'c2', claim('w2', 9000), 6000, 10);
      assert.equal(await q.complete(held!.id, 'w1', result('c1', 'held')), false);
      assert.deepEqual(await get().cycles.items('c1'), []);
      assert.equal((await q.list()).length, 2);
    });

    it('release moves the owner claimed items back to pending and counts them', async () => {
      const q = get().queue;
      const mine = await q.enqueue('alpha', 'c1', [item('a'), item('b')], claim('w1'), 1000);
      const [theirs] = await q.enqueue('alpha', 'c1', [item('c')], claim('w2'), 1000);
      const ids = [...mine.map((r) => r.id), theirs!.id, 'no-such-id'];
      assert.equal(await q.release(ids, 'w1'), 2);
      const claims = Object.fromEntries((await q.list()).map((r) => [r.key, r.claim]));
      assert.deepEqual(claims, { a: null, b: null, c: { owner: 'w2', until: 99_000 } });
      assert.equal(await q.release(ids, 'w1'), 0);
      const again = await q.claimStale('alpha', 'c2', claim('w3'), 1000, 10);
      assert.deepEqual(again.map((r) => r.key).sort(), ['a', 'b']);
    });

    it('depth counts items per loop and priority, pending and claimed together', async () => {
      const q = get().queue;
      assert.deepEqual(await q.depth(), []);
      await q.enqueue('beta', 'c1', [item('x', { priority: 1 })], null, 1000);
      await q.enqueue('alpha', 'c1', [item('a', { priority: 2 }), item('b', { priority: 0 })], claim('w'), 1000);
      await q.enqueue('alpha', 'c1', [item('c', { priority: 2 })], null, 1000);
      assert.deepEqual(await q.depth(), [
        { loop: 'alpha', priority: 0, count: 1 },
        { loop: 'alpha', priority: 2, count: 2 },
        { loop: 'beta', priority: 1, count: 1 },
      ]);
      assert.deepEqual(await q.depth('beta'), [{ loop: 'beta', priority: 1, count: 1 }]);
      assert.deepEqual(await q.depth('gamma'), []);
    });

    it('list returns items lowest priority number first, then oldest, by loop and up to limit', async () => {
      const q = get().queue;
      await q.enqueue('alpha', 'c1', [item('a3', { priority: 3 })], null, 1000);
      await q.enqueue('beta', 'c1', [item('b1', { priority: 1 })], null, 1500);
      await q.enqueue('alpha', 'c1', [item('a1-new', { priority: 1 })], claim('w'), 3000);
      await q.enqueue('alpha', 'c1', [item('a1-old', { priority: 1 })], null, 2000);
      assert.deepEqual(
        (await q.list()).map((r) => r.key),
        ['b1', 'a1-old', 'a1-new', 'a3'],
      );
      assert.deepEqual(
        (await q.list('alpha')).map((r) => r.key),
        ['a1-old', 'a1-new', 'a3'],
      );
      assert.deepEqual(
        (await q.list('alpha', { limit: 1 })).map((r) => r.key),
        ['a1-old'],
      );
      assert.deepEqual(await q.list('gamma'), []);
    });
  });
}

function eventContract(get: () => Store): void {
  describe('events', () => {
    it('append keeps events in order with increasing seq, as written', async () => {
      const log = get().events;
      await log.append([event('one', { data: { n: 1 } }), event('two', { loop: null, data: [1, 2] })]);
      await log.append([]);
      await log.append([event('three', { data: 'x' })]);
      const all = await log.after(0);
      assert.deepEqual(
        all.map(({ seq: _, ...e }) => e),
        [event('one', { data: { n: 1 } }), event('two', { loop: null, data: [1, 2] }), event('three', { data: 'x' })],
      );
      const seqs = all.map((e) => e.seq);
      assert.deepEqual(
        seqs,
        [...seqs].sort((a, b) => a - b),
      );
      assert.equal(new Set(seqs).size, 3);
    });

    it('after returns events with a greater seq, oldest first, by loop, at most limit', async () => {
      const log = get().events;
      await log.append([
        event('a1'),
        event('b1', { loop: 'beta' }),
        event('a2'),
        event('g', { loop: null }),
        event('a3'),
      ]);
      const all = await log.after(0);
      assert.deepEqual(
        (await log.after(all[1]!.seq)).map((e) => e.type),
        ['a2', 'g', 'a3'],
      );
      assert.deepEqual(
        (await log.after(0, { loop: 'alpha' })).map((e) => e.type),
        ['a1', 'a2', 'a3'],
      );
      assert.deepEqual(
        (await log.after(all[0]!.seq, { loop: 'alpha', limit: 1 })).map((e) => e.type),
        ['a2'],
      );
      assert.deepEqual(await log.after(all[4]!.seq), []);
    });

    it('after and latest return at most 1000 events by default', async () => {
      const log = get().events;
      await log.append(Array.from({ length: 1001 }, (_, i) => event(`e${i}`)));
      const after = await log.after(0);
      assert.equal(after.length, 1000);
      assert.equal(after[0]?.type, 'e0');
      const latest = await log.latest();
      assert.equal(latest.length, 1000);
      assert.equal(latest[0]?.type, 'e1');
      assert.equal(latest[999]?.type, 'e1000');
    });

    it('latest returns the newest events, oldest first, by loop, at most limit', async () => {
      const log = get().events;
      assert.deepEqual(await log.latest(), []);
      await log.append([
        event('a1'),
        event('b1', { loop: 'beta' }),
        event('a2'),
        event('a3'),
        event('b2', { loop: 'beta' }),
      ]);
      assert.deepEqual(
        (await log.latest({ limit: 2 })).map((e) => e.type),
        ['a3', 'b2'],
      );
      assert.deepEqual(
        (await log.latest({ loop: 'alpha', limit: 2 })).map((e) => e.type),
        ['a2', 'a3'],
      );
      assert.deepEqual(
        (await log.latest({ loop: 'beta' })).map((e) => e.type),
        ['b1', 'b2'],
      );
    });
  });
}

let serial = 0;

function cycle(overrides: Partial<CycleRecord> = {}): CycleRecord {
  serial++;
  return {
    id: `cycle-${serial}`,
    loop: 'alpha',
    tickId: `alpha@${serial}`,
    trigger: 'interval',
    scheduledAt: 1000,
    startedAt: 1000,
    finishedAt: null,
    steps: {},
    counts: { planned: 0, succeeded: 0, failed: 0 },
    outcome: { kind: 'running' },
    owner: 'host:1:abc',
    ...overrides,
  };
}

function item(key: string, overrides: Partial<WorkItem> = {}): WorkItem {
  return { key, priority: 2, payload: { key }, idempotencyKey: `alpha:${key}`, ...overrides };
}

function claim(owner: string, until = 99_000): Claim {
  return { owner, until };
}

function result(cycleId: string, key: string, overrides: Partial<ItemResult> = {}): ItemResult {
  return {
    cycleId,
    loop: 'alpha',
    key,
    idempotencyKey: `alpha:${key}`,
    priority: 2,
    status: 'succeeded',
    attempts: 1,
    startedAt: 1000,
    finishedAt: 2000,
    durationMs: 1000,
    ...overrides,
  };
}

function event(type: string, overrides: { at?: number; loop?: string | null; data?: unknown } = {}) {
  return { at: 1000, type, loop: 'alpha' as string | null, data: { type }, ...overrides };
}

/** Writes an item result the only way the port allows: enqueue claimed, then complete. */
async function completeWith(store: Store, res: ItemResult): Promise<void> {
  const key = `${res.cycleId}/${res.key}/${serial++}`;
  const [row] = await store.queue.enqueue(res.loop, res.cycleId, [item(key, { idempotencyKey: key })], claim('w'), 0);
  assert.equal(await store.queue.complete(row!.id, 'w', res), true);
}

async function completeNew(
  store: Store,
  cycleId: string,
  key: string,
  overrides: Partial<ItemResult> = {},
): Promise<void> {
  await completeWith(store, result(cycleId, key, overrides));
}
