/**
 * The 1,000,000 x 1,000,000 reconcile, in a process of its own so its RSS
 * is its own: `node --import tsx bench/reconcile-million.ts <inventory.csv>`.
 * Reads HAVE from an S3-Inventory-style CSV (as the report adapter does),
 * expands SHOULD from a coverage spec (20 sources x 50,000 daily dates),
 * classifies, builds the report; prints one JSON line with the breakdown.
 */
import { createReadStream } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { classify } from '../src/recipes/reconcile/classify.ts';
import { resolveCoverage } from '../src/recipes/reconcile/coverage-spec.ts';
import { CollectionDurations } from '../src/recipes/reconcile/durations.ts';
import { forEachExpected } from '../src/recipes/reconcile/expected-keys.ts';
import { buildReport } from '../src/recipes/reconcile/gap-report.ts';
import { HaveIndex } from '../src/recipes/reconcile/inventory.ts';
import { readInventoryCsv, schemaColumns } from '../src/recipes/reconcile/s3-inventory-report.ts';

export const SOURCES = 20;
export const DAYS = 50_000;
export const NOW = Date.parse('2025-06-01T12:00:00Z');

export function millionSpec() {
  const sources: Record<string, unknown> = {};
  for (let s = 0; s < SOURCES; s++) {
    sources[`s${String(s).padStart(2, '0')}`] = {
      key: '{source}/{date}.json',
      dates: { from: `-${DAYS - 1}d`, to: 'today' },
      minSize: 10,
    };
  }
  return resolveCoverage(
    {
      sources,
      priorities: [
        { within: '2d', priority: 'critical' },
        { within: '30d', priority: 'high' },
        { since: '2000-01-01', priority: 'medium' },
      ],
      freshness: [{ within: '1d', maxAge: '1h' }],
    },
    { file: 'bench', prefix: [], dir: '.' },
  );
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const file = process.argv[2] as string;
  const spec = millionSpec();
  const cpu = () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1000;
  };
  const c0 = cpu();
  const t0 = performance.now();
  const have = new HaveIndex();
  const columns = schemaColumns('Bucket, Key, Size, LastModifiedDate', file);
  await readInventoryCsv(createReadStream(file, { highWaterMark: 1 << 20 }), columns, have, 'raw/');
  const t1 = performance.now();
  const c1 = cpu();
  let expected = 0;
  for (const source of spec.sources) forEachExpected(source, NOW, new Map(), () => expected++);
  const t2 = performance.now();
  const c2 = cpu();
  const classification = classify(spec, have, NOW);
  const t3 = performance.now();
  const c3 = cpu();
  const report = buildReport({
    loop: 'bench',
    now: NOW,
    trigger: 'bench',
    classification,
    inventory: { description: 'csv', objects: have.objects, bytes: have.bytes, scannedAt: NOW, tookMs: t1 - t0 },
    durations: new CollectionDurations(),
    concurrency: () => 2,
    defaultTaskMs: 60_000,
  });
  const t4 = performance.now();
  const c4 = cpu();
  const memory = process.memoryUsage();
  // Calibration: what this machine does now with a bare Map of as many fresh keys (a loaded machine is slower).
  const fresh = Array.from({ length: have.objects }, (_, i) => Buffer.from(`s${i % 20}/${i}.json`).toString());
  const t5 = performance.now();
  const bare = new Map<string, number>();
  for (let i = 0; i < fresh.length; i++) bare.set(fresh[i] as string, i);
  const bareMapMs = performance.now() - t5;
  process.stdout.write(
    `${JSON.stringify({
      have: have.objects,
      should: expected,
      gaps: report.total,
      byReason: report.byReason,
      readMs: t1 - t0,
      expandMs: t2 - t1,
      diffClassifyMs: t3 - t2 - (t2 - t1),
      classifyWithExpandMs: t3 - t2,
      reportMs: t4 - t3,
      totalMs: t1 - t0 + (t3 - t2) + (t4 - t3),
      cpu: {
        readMs: c1 - c0,
        expandMs: c2 - c1,
        diffClassifyMs: c3 - c2 - (c2 - c1),
        reportMs: c4 - c3,
        totalMs: c1 - c0 + (c3 - c2) + (c4 - c3),
      },
      bareMapSetMs: bareMapMs,
      rssMb: memory.rss / 2 ** 20,
      maxRssMb: process.resourceUsage().maxRSS / 1024,
      heapUsedMb: memory.heapUsed / 2 ** 20,
    })}\n`,
  );
}
