import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Store } from '../../src/storage/store.ts';

/** The DocumentStore's promises (src/storage/store.ts). */
export function documentContract(get: () => Store): void {
  describe('documents', () => {
    const at = (now: number, expectVersion?: number) => ({
      now,
      ...(expectVersion !== undefined && { expectVersion }),
    });

    it('put then get returns the value as written, its version and updatedAt; an unknown key is undefined', async () => {
      const docs = get().documents;
      const value = { host: 'db-1', disks: [{ size: 512, ok: true }], note: null, ratio: 0.25, name: 'é✓' };
      const version = await docs.put('inventory', 'db-1', value, at(1000));
      assert.ok(typeof version === 'number' && version > 0);
      assert.deepEqual(await docs.get('inventory', 'db-1'), { value, version, updatedAt: 1000 });
      assert.equal(await docs.get('inventory', 'db-2'), undefined);
      for (const scalar of ['text', 42, false, null, [1, 'two']]) {
        await docs.put('inventory', 'scalar', scalar, at(1));
        assert.deepEqual((await docs.get('inventory', 'scalar'))?.value, scalar);
      }
    });

    it('keeps its own copy: changing the value after put does not change the stored one', async () => {
      const docs = get().documents;
      const value = { restarts: 1, list: [1] };
      await docs.put('supervise', 'api', value, at(1));
      value.restarts = 99;
      value.list.push(2);
      assert.deepEqual((await docs.get('supervise', 'api'))?.value, { restarts: 1, list: [1] });
    });

    it('every put gives the key a greater version, also after a delete and re-create', async () => {
      const docs = get().documents;
      const v1 = await docs.put('supervise', 'api', { n: 1 }, at(1));
      const v2 = await docs.put('supervise', 'api', { n: 2 }, at(2));
      assert.ok(v1 !== undefined && v2 !== undefined && v2 > v1, `${v1} then ${v2}`);
      assert.deepEqual(await docs.get('supervise', 'api'), { value: { n: 2 }, version: v2, updatedAt: 2 });
      assert.equal(await docs.delete('supervise', 'api'), true);
      const v3 = await docs.put('supervise', 'api', { n: 3 }, at(3, 0));
      assert.ok(v3 !== undefined && v3 > v2, `re-created at ${v3} after ${v2}`);
      assert.equal(await docs.put('supervise', 'api', { n: 4 }, at(4, v2)), undefined, 'the deleted version is stale');
    });

    it('put with expectVersion writes only when it matches (compare-and-set); 0 means "must not exist"', async () => {
      const docs = get().documents;
      const created = await docs.put('decide', 'd-1', { state: 'proposed' }, at(1, 0));
      assert.ok(created !== undefined);
      assert.equal(await docs.put('decide', 'd-1', { state: 'again' }, at(2, 0)), undefined, 'exists already');
      const updated = await docs.put('decide', 'd-1', { state: 'executed' }, at(3, created));
      assert.ok(updated !== undefined && updated > created);
      // A writer that read `created` lost the race: nothing is written.
      assert.equal(await docs.put('decide', 'd-1', { state: 'rolled-back' }, at(4, created)), undefined);
      assert.equal(await docs.put('decide', 'd-1', { state: 'x' }, at(4, updated + 1000)), undefined);
      assert.deepEqual(await docs.get('decide', 'd-1'), {
        value: { state: 'executed' },
        version: updated,
        updatedAt: 3,
      });
      assert.equal(await docs.put('decide', 'd-2', { state: 'x' }, at(5, 7)), undefined, 'no document has version 7');
      assert.equal(await docs.get('decide', 'd-2'), undefined);
    });

    it('put without expectVersion overwrites whatever is there', async () => {
      const docs = get().documents;
      const first = await docs.put('decide', 'k', 'a', at(1));
      const second = await docs.put('decide', 'k', 'b', at(2));
      assert.ok(first !== undefined && second !== undefined && second > first);
      assert.equal((await docs.get('decide', 'k'))?.value, 'b');
    });

    it('delete removes the document; with expectVersion only when it matches; false when there is none', async () => {
      const docs = get().documents;
      const version = (await docs.put('supervise', 'api', 1, at(1)))!;
      assert.equal(await docs.delete('supervise', 'api', version + 1), false);
      assert.equal(await docs.delete('supervise', 'api', 0), false);
      assert.deepEqual((await docs.get('supervise', 'api'))?.version, version);
      assert.equal(await docs.delete('supervise', 'api', version), true);
      assert.equal(await docs.get('supervise', 'api'), undefined);
      assert.equal(await docs.delete('supervise', 'api'), false);
      await docs.put('supervise', 'db', 2, at(1));
      assert.equal(await docs.delete('supervise', 'db'), true);
      assert.deepEqual(await docs.list('supervise'), []);
    });

    it('list returns the namespace documents ordered by key, by prefix, after a key, at most limit', async () => {
      const docs = get().documents;
      const versions = new Map<string, number>();
      for (const key of ['svc/b', 'host/2', 'svc/a', 'host/10', 'svc/c', 'svcx', 'Svc/z']) {
        versions.set(key, (await docs.put('inv', key, { key }, at(versions.size)))!);
      }
      const keys = async (options?: Parameters<Store['documents']['list']>[1]) =>
        (await docs.list('inv', options)).map((d) => d.key);
      assert.deepEqual(await keys(), ['Svc/z', 'host/10', 'host/2', 'svc/a', 'svc/b', 'svc/c', 'svcx']);
      assert.deepEqual(await keys({ prefix: 'svc/' }), ['svc/a', 'svc/b', 'svc/c']);
      assert.deepEqual(await keys({ prefix: 'svc/', limit: 2 }), ['svc/a', 'svc/b']);
      assert.deepEqual(await keys({ prefix: 'svc/', after: 'svc/b' }), ['svc/c']);
      assert.deepEqual(await keys({ after: 'svc/c', limit: 5 }), ['svcx']);
      assert.deepEqual(await keys({ limit: 0 }), []);
      assert.deepEqual(await keys({ prefix: 'nothing' }), []);
      const [first] = await docs.list('inv', { prefix: 'host/1' });
      assert.deepEqual(first, {
        key: 'host/10',
        value: { key: 'host/10' },
        version: versions.get('host/10'),
        updatedAt: 3,
      });
    });

    it('orders keys by their UTF-8 bytes, and matches a prefix beyond ASCII', async () => {
      const docs = get().documents;
      // U+FF5E sorts before U+1F600 in UTF-8 (and code points) but after it in UTF-16 code units.
      for (const key of ['\u{1F600}', '\uFF5E', 'é/1', 'é/2', 'z']) await docs.put('u', key, key, at(1));
      assert.deepEqual(
        (await docs.list('u')).map((d) => d.key),
        ['z', 'é/1', 'é/2', '\uFF5E', '\u{1F600}'],
      );
      assert.deepEqual(
        (await docs.list('u', { prefix: 'é/' })).map((d) => d.key),
        ['é/1', 'é/2'],
      );
    });

    it('namespaces share nothing: same key, separate documents, lists and deletes', async () => {
      const docs = get().documents;
      await docs.put('alpha', 'k', 'in alpha', at(1));
      assert.equal(await docs.get('beta', 'k'), undefined);
      assert.ok((await docs.put('beta', 'k', 'in beta', at(2, 0))) !== undefined, 'k does not exist in beta');
      await docs.put('alpha:x', 'k', 'looks nested', at(3));
      assert.equal((await docs.get('alpha', 'k'))?.value, 'in alpha');
      assert.deepEqual(
        (await docs.list('alpha')).map((d) => d.value),
        ['in alpha'],
      );
      assert.equal(await docs.delete('beta', 'k'), true);
      assert.equal((await docs.get('alpha', 'k'))?.value, 'in alpha');
    });

    it('rejects a value that is not JSON with a TypeError naming where, writing nothing', async () => {
      const docs = get().documents;
      const version = await docs.put('inv', 'k', { ok: 1 }, at(1));
      const cyclic: Record<string, unknown> = { a: 1 };
      cyclic.self = cyclic;
      const bad: Array<[unknown, RegExp]> = [
        [undefined, /documents\.put inv\/k: expected value to be a JSON value, got undefined/],
        [{ at: new Date(0) }, /value\.at .*got a Date/],
        [{ hosts: new Map() }, /value\.hosts .*got a Map/],
        [[1, Number.NaN], /value\[1\] .*got NaN/],
        [{ n: Number.POSITIVE_INFINITY }, /value\.n .*got Infinity/],
        [{ big: 10n }, /value\.big .*bigint/],
        [{ f: () => 1 }, /value\.f .*function/],
        [[undefined], /value\[0\] .*undefined/],
        [cyclic, /value\.self .*cycle/],
        [{ 'a b': Symbol('s') }, /value\["a b"\] .*symbol/],
      ];
      for (const [value, message] of bad) {
        await assert.rejects(docs.put('inv', 'k', value, at(2)), (error: unknown) => {
          assert.ok(error instanceof TypeError, String(error));
          assert.match(error.message, message);
          return true;
        });
      }
      assert.deepEqual(await docs.get('inv', 'k'), { value: { ok: 1 }, version, updatedAt: 1 });
      await assert.rejects(docs.put('inv', 'new', new Set([1]), at(2)), TypeError);
      assert.equal(await docs.get('inv', 'new'), undefined);
    });

    it('drops object properties that are undefined, as JSON does', async () => {
      const docs = get().documents;
      await docs.put('inv', 'k', { a: 1, b: undefined }, at(1));
      assert.deepEqual((await docs.get('inv', 'k'))?.value, { a: 1 });
    });

    it('rejects empty names, a bad now or a bad expectVersion', async () => {
      const docs = get().documents;
      await assert.rejects(docs.put('', 'k', 1, at(1)), /documents\.put: expected namespace to be a non-empty string/);
      await assert.rejects(docs.get('ns', ''), /expected key to be a non-empty string, got ""/);
      await assert.rejects(docs.put('ns', 'k', 1, at(Number.NaN)), RangeError);
      await assert.rejects(docs.put('ns', 'k', 1, at(1, -1)), /expected expectVersion to be an integer >= 0, got -1/);
      await assert.rejects(docs.delete('ns', 'k', 1.5), RangeError);
      assert.deepEqual(await docs.list('ns'), []);
    });
  });
}
