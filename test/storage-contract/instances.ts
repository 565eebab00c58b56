import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Store } from '../../src/storage/store.ts';

/** The InstanceRegistry's promises (src/storage/store.ts). */
export function instanceContract(get: () => Store): void {
  describe('instances', () => {
    const instance = (id: string, loops: string[] = ['alpha']) => ({
      id,
      host: id.split(':')[0] ?? 'h',
      pid: 100,
      startedAt: 500,
      loops,
    });

    it('beat records the instance alive until now + ttl; list returns the live ones by id', async () => {
      const registry = get().instances;
      assert.deepEqual(await registry.list(0), []);
      await registry.beat(instance('b:2:y'), 30_000, 1000);
      await registry.beat(instance('a:1:x', []), 10_000, 2000);
      assert.deepEqual(await registry.list(2000), [
        { id: 'a:1:x', host: 'a', pid: 100, startedAt: 500, lastBeatAt: 2000, expiresAt: 12_000, loops: [] },
        { id: 'b:2:y', host: 'b', pid: 100, startedAt: 500, lastBeatAt: 1000, expiresAt: 31_000, loops: ['alpha'] },
      ]);
    });

    it('beat again updates the same record', async () => {
      const registry = get().instances;
      await registry.beat(instance('a:1:x'), 10_000, 1000);
      await registry.beat({ ...instance('a:1:x', ['alpha', 'beta']), pid: 101 }, 5000, 8000);
      assert.deepEqual(await registry.list(8000), [
        {
          id: 'a:1:x',
          host: 'a',
          pid: 101,
          startedAt: 500,
          lastBeatAt: 8000,
          expiresAt: 13_000,
          loops: ['alpha', 'beta'],
        },
      ]);
    });

    it('list leaves out instances whose heartbeat expired at now; a later beat brings one back', async () => {
      const registry = get().instances;
      await registry.beat(instance('a:1:x'), 1000, 1000);
      await registry.beat(instance('b:1:x'), 5000, 1000);
      assert.deepEqual(
        (await registry.list(1999)).map((r) => r.id),
        ['a:1:x', 'b:1:x'],
      );
      assert.deepEqual(
        (await registry.list(2000)).map((r) => r.id),
        ['b:1:x'],
      );
      await registry.beat(instance('a:1:x'), 1000, 2500);
      assert.deepEqual(
        (await registry.list(3000)).map((r) => r.id),
        ['a:1:x', 'b:1:x'],
      );
    });

    it('remove deletes the instance; removing an unknown one is harmless', async () => {
      const registry = get().instances;
      await registry.beat(instance('a:1:x'), 10_000, 1000);
      await registry.beat(instance('b:1:x'), 10_000, 1000);
      await registry.remove('a:1:x');
      await registry.remove('nobody');
      assert.deepEqual(
        (await registry.list(1000)).map((r) => r.id),
        ['b:1:x'],
      );
    });

    it('keeps its own copy of the record and only its fields', async () => {
      const registry = get().instances;
      const loops = ['alpha'];
      await registry.beat({ ...instance('a:1:x', loops), extra: 'ignored' } as ReturnType<typeof instance>, 1000, 0);
      loops.push('mutated');
      const [record] = await registry.list(0);
      assert.deepEqual(record, {
        id: 'a:1:x',
        host: 'a',
        pid: 100,
        startedAt: 500,
        lastBeatAt: 0,
        expiresAt: 1000,
        loops: ['alpha'],
      });
    });
  });
}
