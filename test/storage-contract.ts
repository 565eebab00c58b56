import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { CycleRecord } from '../src/core/cycle-record.ts';
import { type Store, StoreError } from '../src/storage/store.ts';
import { bucketContract } from './storage-contract/buckets.ts';
import { documentContract } from './storage-contract/documents.ts';
import { eventContract } from './storage-contract/events.ts';
import { claim, completeNew, completeWith, cycle, event, item, result } from './storage-contract/fixtures.ts';
import { instanceContract } from './storage-contract/instances.ts';
import { journalContract } from './storage-contract/journals.ts';
import { leaseContract } from './storage-contract/leases.ts';
import { queueContract } from './storage-contract/queue.ts';

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
          () => store.queue.complete('x', 'w', result('c', 'a'), { key: 'k', token: 1 }),
          () => store.queue.extend(['x'], 'w', 0),
          () => store.queue.release(['x'], 'w'),
          () => store.queue.depth(),
          () => store.queue.list(),
          () => store.events.append([event('x')]),
          () => store.events.after(0),
          () => store.events.latest(),
          () => store.leases.acquire('k', 'w', 1000, 0),
          () => store.leases.renew('k', 'w', 1, 1000, 0),
          () => store.leases.release('k', 'w', 1),
          () => store.leases.sweep(0),
          () => store.leases.list(0),
          () => store.leases.currentToken('k'),
          () => store.instances.beat({ id: 'h:1:x', host: 'h', pid: 1, startedAt: 0, loops: [] }, 1000, 0),
          () => store.instances.list(0),
          () => store.instances.remove('h:1:x'),
          () => store.buckets.take('b', 10, 1000, 0),
          () => store.buckets.pause('b', 1000),
          () => store.documents.get('ns', 'k'),
          () => store.documents.put('ns', 'k', 1, { now: 0 }),
          () => store.documents.delete('ns', 'k'),
          () => store.documents.list('ns'),
          () => store.journals.append('j', [1], 0),
          () => store.journals.read('j'),
          () => store.journals.trim('j', { keepLast: 0 }),
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

      it('prune leaves documents and journals alone, however old', async () => {
        const version = await store.documents.put('recipe', 'k', { v: 1 }, { now: 1 });
        await store.journals.append('recipe/audit', ['old'], 1);
        await store.prune(1_000_000);
        assert.deepEqual(await store.documents.get('recipe', 'k'), { value: { v: 1 }, version, updatedAt: 1 });
        assert.deepEqual(await store.journals.read('recipe/audit'), [{ seq: 1, at: 1, value: 'old' }]);
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
          counts: { planned: 3, succeeded: 2, failed: 1, skipped: 0 },
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

      it('items returns results as written, with payload, output and error', async () => {
        const ok = result('c1', 'a', { output: { rows: 3, note: null } });
        const failed = result('c1', 'b', {
          payload: { symbol: 'BTC/USD', window: [1, 2], note: null },
          status: 'failed',
          attempts: 3,
          finishedAt: 3000,
          error: { name: 'TimeoutError', message: 'timed out', exitCode: null },
        });
        await completeWith(store, ok);
        await completeWith(store, failed);
        assert.deepEqual(await store.cycles.items('c1'), [ok, failed]);
      });

      it('running lists the records of every loop not finished yet, oldest first', async () => {
        const a = cycle({ startedAt: 2000 });
        const b = cycle({ loop: 'beta', startedAt: 1000 });
        await store.cycles.start(a);
        await store.cycles.start(b);
        await store.cycles.start(cycle({ startedAt: 500, finishedAt: 900, outcome: { kind: 'ok' } }));
        assert.deepEqual(await store.cycles.running(), [b, a]);
        await store.cycles.finish({ ...a, finishedAt: 2500, outcome: { kind: 'ok' } });
        assert.deepEqual(await store.cycles.running(), [b]);
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
    leaseContract(() => store);
    instanceContract(() => store);
    bucketContract(() => store);
    documentContract(() => store);
    journalContract(() => store);
  });
}
