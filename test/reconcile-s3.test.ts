/**
 * The S3 inventory by listing, against a real local server that speaks the
 * S3 protocol (s3rver, started by this file): paginated and prefix-sharded
 * listings agree, keys are relative to the prefix, stat and probe answer;
 * a `recipe: reconcile` cycle from YAML lists the bucket, runs a
 * collector command that uploads the missing objects, and reconciles to
 * zero gaps; and an S3 Inventory report laid out as AWS documents it
 * (dated deliveries, manifest.json, gzipped CSV) is read from the latest
 * delivery, also through YAML.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { loadConfig } from '../src/config/load-config.ts';
import { S3InventoryReport } from '../src/recipes/reconcile/s3-inventory-report.ts';
import { S3ListingInventory } from '../src/recipes/reconcile/s3-listing-inventory.ts';
import { runtimeOptionsFromConfig } from '../src/runtime/from-config.ts';
import { createRuntime } from '../src/runtime/runtime.ts';
import { type S3Server, startS3Server } from './support/s3-server.ts';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

let s3: S3Server;
const dirs: string[] = [];
const SHARDS = ['a', 'b', 'c'];
const PER_SHARD = 400;

before(async () => {
  s3 = await startS3Server();
  await s3.createBucket('lake-listing');
  const objects = SHARDS.flatMap((shard) =>
    Array.from({ length: PER_SHARD }, (_, i) => ({
      key: `raw/${shard}/${String(i).padStart(4, '0')}.json`,
      body: 'x'.repeat(i % 7),
    })),
  );
  objects.push({ key: 'raw/top.json', body: '{}' }, { key: 'other/outside.json', body: '{}' });
  await s3.put('lake-listing', objects);
});

after(async () => {
  await s3?.stop();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe('reconcile: S3 by listing against s3rver', () => {
  it('lists every page, relative to the prefix; sharded in parallel gives the same', async () => {
    const signal = new AbortController().signal;
    const expectedBytes =
      SHARDS.length * Array.from({ length: PER_SHARD }, (_, i) => i % 7).reduce((a, b) => a + b, 0) + 2;
    const plain = await new S3ListingInventory({
      client: s3.client,
      bucket: 'lake-listing',
      prefix: 'raw/',
      pageSize: 250,
    }).scan(signal);
    assert.equal(plain.objects, SHARDS.length * PER_SHARD + 1);
    assert.equal(plain.bytes, expectedBytes);
    assert.equal(plain.get('a/0006.json')?.size, 6);
    assert.ok(plain.get('top.json'));
    assert.equal(plain.get('outside.json'), undefined, 'objects outside the prefix are not listed');
    assert.ok((plain.get('b/0001.json')?.modifiedAt ?? 0) > Date.parse('2020-01-01'));

    const sharded = await new S3ListingInventory({
      client: s3.client,
      bucket: 'lake-listing',
      prefix: 'raw/',
      parallel: 3,
      pageSize: 150,
    }).scan(signal);
    assert.equal(sharded.objects, plain.objects);
    assert.equal(sharded.bytes, plain.bytes);
    assert.deepEqual([...sharded.keys()].sort(), [...plain.keys()].sort());
  });

  it('stat answers for one key (undefined when absent); probe says when the bucket is unreachable', async () => {
    const signal = new AbortController().signal;
    const inventory = new S3ListingInventory({ client: s3.client, bucket: 'lake-listing', prefix: 'raw/' });
    assert.equal((await inventory.stat('a/0003.json', signal))?.size, 3);
    assert.equal(await inventory.stat('a/9999.json', signal), undefined);
    await inventory.probe(signal);
    assert.equal(inventory.locate('a/1.json'), 's3://lake-listing/raw/a/1.json');
    const missing = new S3ListingInventory({ client: s3.client, bucket: 'no-such-bucket' });
    await assert.rejects(missing.probe(signal), /inventory s3:\/\/no-such-bucket\/: /);
    await assert.rejects(missing.scan(signal), /inventory s3:\/\/no-such-bucket\/: listing failed/);
  });

  it('a reconcile cycle from YAML lists the bucket, uploads the gaps with a command, and reaches zero gaps', async () => {
    await s3.createBucket('lake-cycle');
    await s3.put('lake-cycle', [{ key: 'raw/games/g1.json', body: '{"game":1}' }]);
    const dir = mkdtempSync(join(tmpdir(), 'autoloop-reconcile-s3-'));
    dirs.push(dir);
    const put = new URL('./support/s3-put-main.mjs', import.meta.url).pathname;
    const file = join(dir, 'autoloop.yaml');
    writeFileSync(
      file,
      [
        'store: memory://',
        'loops:',
        '  lake:',
        '    recipe: reconcile',
        '    trigger: { interval: 1h }',
        `    inventory: { s3: { bucket: lake-cycle, prefix: raw/, endpoint: "${s3.endpoint}", forcePathStyle: true, parallel: 2 } }`,
        '    coverage:',
        '      sources:',
        '        games: { key: "games/{value}.json", values: [g1, g2, g3] }',
        '        teams: { key: "teams/{value}.json", values: [bos], minSize: 5 }',
        `    collector: { command: "${process.execPath} ${put} {path}", timeout: 30s }`,
        '    budget: 5m',
      ].join('\n'),
    );
    const env = {
      ...process.env,
      S3_ENDPOINT: s3.endpoint,
      AWS_ACCESS_KEY_ID: 'S3RVER',
      AWS_SECRET_ACCESS_KEY: 'S3RVER',
    };
    // The SDK's default credential chain reads this process's environment.
    Object.assign(process.env, { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER' });
    const config = await loadConfig(file, { env });
    const runtime = createRuntime(runtimeOptionsFromConfig(config, { http: false }));
    await runtime.start({ schedule: false });
    try {
      const record = await runtime.run('lake');
      assert.deepEqual(record.counts, { planned: 3, succeeded: 3, failed: 0, skipped: 0 });
      await runtime.recipe<{ idle(): Promise<void> }>('reconcile')?.idle();
      const stored = (await runtime.store.documents.get('reconcile', 'lake/report'))?.value as {
        total: number;
        inventory: { objects: number; description: string };
        coverage: { ratio: number };
      };
      assert.equal(stored.total, 0);
      assert.equal(stored.coverage.ratio, 1);
      assert.equal(stored.inventory.objects, 4);
      assert.equal(stored.inventory.description, 's3://lake-cycle/raw/');
      const health = await runtime.health();
      assert.equal(health.components['reconcile.lake.inventory']?.healthy, true);
    } finally {
      await runtime.stop();
    }
  });
});

describe('reconcile: S3 Inventory reports against s3rver', () => {
  const DEST = 'lake-inventory';
  const BASE = 'inventory/lake-src/daily/';
  const row = (cells: string[]) => cells.map((c) => `"${c.replace(/"/g, '""')}"`).join(',');
  const SCHEMA = 'Bucket, Key, VersionId, IsLatest, IsDeleteMarker, Size, LastModifiedDate, ETag';

  before(async () => {
    await s3.createBucket(DEST);
    await s3.createBucket('lake-src');
    await s3.put('lake-src', [{ key: 'raw/games/live.json', body: '{"live":true}' }]);
    const t = '2024-03-13T10:00:00.000Z';
    const old = gzipSync(row(['lake-src', 'raw/games/old.json', '', 'true', 'false', '5', t, 'e']));
    const part1 = [
      row(['lake-src', 'raw/games/g1.json', 'v2', 'true', 'false', '120', t, 'e1']),
      row(['lake-src', 'raw/games/g1.json', 'v1', 'false', 'false', '99', '2024-03-01T00:00:00.000Z', 'e0']),
      row(['lake-src', 'raw/games/with%20space.json', '', 'true', 'false', '7', t, 'e2']),
      row(['lake-src', 'raw/games/deleted.json', '', 'true', 'true', '0', t, '']),
      row(['lake-src', 'elsewhere/x.json', '', 'true', 'false', '1', t, 'e3']),
    ].join('\n');
    const part2 = `${row(['lake-src', 'raw/teams/bos.json', '', 'true', 'false', '30', t, 'e4'])}\r\n`;
    const manifest = (day: string, files: string[]) =>
      JSON.stringify({
        sourceBucket: 'lake-src',
        destinationBucket: `arn:aws:s3:::${DEST}`,
        version: '2016-11-30',
        creationTimestamp: String(Date.parse(`${day}T00:00:00Z`)),
        fileFormat: 'CSV',
        fileSchema: SCHEMA,
        files: files.map((key) => ({ key, size: 1, MD5checksum: 'x' })),
      });
    await s3.put(DEST, [
      { key: `${BASE}data/old.csv.gz`, body: old },
      { key: `${BASE}2024-03-13T00-00Z/manifest.json`, body: manifest('2024-03-13', [`${BASE}data/old.csv.gz`]) },
      { key: `${BASE}data/p1.csv.gz`, body: gzipSync(part1) },
      { key: `${BASE}data/p2.csv`, body: part2 },
      {
        key: `${BASE}2024-03-14T00-00Z/manifest.json`,
        body: manifest('2024-03-14', [`${BASE}data/p1.csv.gz`, `${BASE}data/p2.csv`]),
      },
      { key: `${BASE}hive/dt=2024-03-14-00-00/symlink.txt`, body: 'x' },
    ]);
  });

  it('reads the latest delivery: latest versions only, no delete markers, keys decoded and relative', async () => {
    const signal = new AbortController().signal;
    const report = new S3InventoryReport({ client: s3.client, bucket: DEST, prefix: BASE, sourcePrefix: 'raw/' });
    const have = await report.scan(signal);
    assert.deepEqual([...have.keys()].sort(), ['games/g1.json', 'games/with space.json', 'teams/bos.json']);
    assert.equal(have.get('games/g1.json')?.size, 120);
    assert.equal(have.get('games/g1.json')?.modifiedAt, Date.parse('2024-03-13T10:00:00.000Z'));
    assert.equal(have.bytes, 157);
    assert.equal(report.reportCreatedAt, Date.parse('2024-03-14T00:00:00Z'));
    assert.equal(report.locate('games/x.json'), 's3://lake-src/raw/games/x.json');
    assert.equal((await report.stat('games/live.json', signal))?.size, 13, 'stat asks the source bucket itself');
    assert.equal(await report.stat('games/none.json', signal), undefined);
    const empty = new S3InventoryReport({ client: s3.client, bucket: DEST, prefix: 'inventory/none/' });
    await assert.rejects(
      empty.scan(signal),
      /no delivery found \(expected folders like 2024-01-31T00-00Z\/ holding manifest\.json\)/,
    );
  });

  it('a YAML loop reads its HAVE from the report', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'autoloop-reconcile-s3inv-'));
    dirs.push(dir);
    const file = join(dir, 'autoloop.yaml');
    writeFileSync(
      file,
      [
        'store: memory://',
        'loops:',
        '  lake:',
        '    recipe: reconcile',
        `    inventory: { s3Inventory: { bucket: ${DEST}, prefix: ${BASE}, sourcePrefix: raw/, endpoint: "${s3.endpoint}", forcePathStyle: true } }`,
        '    coverage: { sources: { teams: { key: "teams/{value}.json", values: [bos, lal] } } }',
        '    collector: { command: "exit 3" }',
      ].join('\n'),
    );
    Object.assign(process.env, { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER' });
    const config = await loadConfig(file, { env: { ...process.env } });
    const runtime = createRuntime(runtimeOptionsFromConfig(config, { http: false }));
    await runtime.start({ schedule: false });
    try {
      const record = await runtime.run('lake');
      assert.deepEqual(record.counts, { planned: 1, succeeded: 0, failed: 1, skipped: 0 });
      const [item] = await runtime.store.cycles.items(record.id);
      assert.equal(item?.key, 'teams/lal.json');
      await runtime.recipe<{ idle(): Promise<void> }>('reconcile')?.idle();
      const stored = (await runtime.store.documents.get('reconcile', 'lake/report'))?.value as {
        inventory: { objects: number; description: string };
      };
      assert.equal(stored.inventory.objects, 3);
      assert.match(stored.inventory.description, /^s3 inventory s3:\/\/lake-inventory\/inventory\/lake-src\/daily\/$/);
    } finally {
      await runtime.stop();
    }
  });
});
