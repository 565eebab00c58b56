import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { HaveIndex } from '../src/recipes/reconcile/have-index.ts';
import { readInventoryCsv, schemaColumns } from '../src/recipes/reconcile/s3-inventory-report.ts';

describe('HaveIndex (HAVE keys as bytes in one buffer)', () => {
  it('finds what was added, by text or by bytes, and nothing else', () => {
    const have = new HaveIndex();
    have.add('nba/2024-02-29.json', 10, 1000);
    const row = Buffer.from('"lake","raw/nhl/2024-03-01.json"');
    have.addBytes(row, 12, row.length - 1, 20, 2000);
    assert.equal(have.objects, 2);
    assert.equal(have.bytes, 30);
    const slot = have.slot('nhl/2024-03-01.json');
    assert.notEqual(slot, undefined);
    assert.equal(have.size(slot as number), 20);
    assert.equal(have.modifiedAt(slot as number), 2000);
    assert.deepEqual(have.get('nba/2024-02-29.json'), { key: 'nba/2024-02-29.json', size: 10, modifiedAt: 1000 });
    for (const absent of ['nba/2024-02-29.jso', 'nba/2024-02-29.json ', '', 'nhl/2024-03-01.JSON']) {
      assert.equal(have.slot(absent), undefined, absent);
    }
  });

  it('a key added twice keeps one slot with the last size and time; the byte total follows', () => {
    const have = new HaveIndex();
    have.add('a.json', 5, 1);
    have.add('b.json', 7, 1);
    const bytes = Buffer.from('a.json');
    have.addBytes(bytes, 0, bytes.length, 50, 9);
    assert.equal(have.objects, 2);
    assert.equal(have.bytes, 57);
    assert.deepEqual(have.get('a.json'), { key: 'a.json', size: 50, modifiedAt: 9 });
    assert.deepEqual([...have.keys()], ['a.json', 'b.json']);
  });

  it('keys beyond ASCII are found by text whichever way they were added', () => {
    const have = new HaveIndex();
    have.add('données/été 2024/ü.json', 1, 1);
    const bytes = Buffer.from('日本/2024-01-01.json');
    have.addBytes(bytes, 0, bytes.length, 2, 2);
    assert.equal(have.get('données/été 2024/ü.json')?.size, 1);
    assert.equal(have.get('日本/2024-01-01.json')?.size, 2);
    assert.equal(have.slot('données/ete 2024/ü.json'), undefined);
    assert.deepEqual([...have.keys()], ['données/été 2024/ü.json', '日本/2024-01-01.json']);
  });

  it('holds 200,000 keys across many growths, each found with its own size', () => {
    const have = new HaveIndex();
    const n = 200_000;
    for (let i = 0; i < n; i++) have.add(`s${i % 20}/${i}.json`, i, i * 2);
    assert.equal(have.objects, n);
    for (let i = 0; i < n; i += 997) {
      const slot = have.slot(`s${i % 20}/${i}.json`);
      assert.equal(have.size(slot as number), i);
      assert.equal(have.modifiedAt(slot as number), i * 2);
    }
    assert.equal(have.slot(`s0/${n}.json`), undefined);
    assert.equal(have.bytes, ((n - 1) * n) / 2);
  });
});

describe('readInventoryCsv (rows into the index from the bytes)', () => {
  const csv = [
    '"lake","raw/nba/2024-02-29.json","1234","2024-03-01T10:00:00.000Z"',
    '"lake","raw/nba/with%20space.json","5","2024-03-01T10:00:00.000Z"',
    '"lake","raw/nba/a+b.json","6","2024-03-01T10:00:00.000Z"',
    '"lake","raw/nba/say ""hi"".json","7","2024-03-01T10:00:00.000Z"',
    '"lake","other/x.json","8","2024-03-01T10:00:00.000Z"',
    '"lake","raw/é/ü.json","9","2024-03-01 10:00:00"',
  ].join('\r\n');
  const expected = [
    ['nba/2024-02-29.json', 1234, Date.UTC(2024, 2, 1, 10)],
    ['nba/with space.json', 5, Date.UTC(2024, 2, 1, 10)],
    ['nba/a b.json', 6, Date.UTC(2024, 2, 1, 10)],
    ['nba/say "hi".json', 7, Date.UTC(2024, 2, 1, 10)],
    ['é/ü.json', 9, Date.parse('2024-03-01 10:00:00')],
  ] as const;
  const columns = schemaColumns('Bucket, Key, Size, LastModifiedDate', 'test');

  for (const chunkSize of [1, 3, 17, 64, 1 << 20]) {
    it(`reads the same rows whatever the chunk size (${chunkSize} bytes), prefix removed, others left out`, async () => {
      const bytes = Buffer.from(csv);
      const chunks: Buffer[] = [];
      for (let at = 0; at < bytes.length; at += chunkSize) chunks.push(bytes.subarray(at, at + chunkSize));
      const have = new HaveIndex();
      await readInventoryCsv(Readable.from(chunks), columns, have, 'raw/');
      assert.equal(have.objects, expected.length);
      for (const [key, size, at] of expected) assert.deepEqual(have.get(key), { key, size, modifiedAt: at }, key);
      assert.equal(have.get('x.json'), undefined);
    });
  }
});
