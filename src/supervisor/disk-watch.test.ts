import assert from 'node:assert/strict';
import { tmpdir } from 'node:os';
import { describe, it } from 'node:test';
import { DiskWatch, diskSpace } from './disk-watch.ts';

const GB = 1024 ** 3;

describe('DiskWatch', () => {
  it('moves ok -> warning -> critical -> ok, reporting each change once', () => {
    const watch = new DiskWatch({ path: '/data', warnBelow: { percent: 10 }, criticalBelow: { bytes: 2 * GB } });
    const at = (freeGb: number) => watch.check({ freeBytes: freeGb * GB, totalBytes: 100 * GB });
    assert.deepEqual([50, 20, 10].map(at), [null, null, null], '10 GB of 100 is not below 10 %');
    assert.equal(at(9.9), 'warning');
    assert.equal(at(5), null);
    assert.equal(at(1.5), 'critical');
    assert.equal(watch.threshold({ freeBytes: 1.5 * GB, totalBytes: 100 * GB }), 2 * GB);
    assert.equal(at(1), null);
    assert.equal(at(3), 'warning');
    assert.equal(at(40), 'ok');
    assert.equal(watch.level, 'ok');
  });

  it('with only criticalBelow (the seed max_disk_percent: 95 -> criticalBelow: 5%) there is no warning level', () => {
    const watch = new DiskWatch({ path: '/data', warnBelow: null, criticalBelow: { percent: 5 } });
    assert.equal(watch.check({ freeBytes: 6, totalBytes: 100 }), null);
    assert.equal(watch.check({ freeBytes: 4, totalBytes: 100 }), 'critical');
  });

  it('reads a real filesystem', () => {
    const space = diskSpace(tmpdir());
    assert.ok(
      space.totalBytes > 0 && space.freeBytes >= 0 && space.freeBytes <= space.totalBytes,
      JSON.stringify(space),
    );
    assert.throws(() => diskSpace('/no/such/path/here'), /ENOENT/);
  });
});
