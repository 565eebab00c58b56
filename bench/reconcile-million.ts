/**
 * The 1,000,000 x 1,000,000 reconcile, in a process of its own so its RSS
 * is its own: `node --import tsx bench/reconcile-million.ts <inventory.csv>`.
 * Reads HAVE from an S3-Inventory-style CSV (as the report adapter does),
 * expands SHOULD from a coverage spec (20 sources x 50,000 daily dates),
 * classifies, builds the report; prints one JSON line with the breakdown.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { classify } from '../src/recipes/reconcile/classify.ts';
import { resolveCoverage } from '../src/recipes/reconcile/coverage-spec.ts';
import { CollectionDurations } from '../src/recipes/reconcile/durations.ts';
import { forEachExpected } from '../src/recipes/reconcile/expected-keys.ts';
import { buildReport } from '../src/recipes/reconcile/gap-report.ts';
import { HaveIndex } from '../src/recipes/reconcile/have-index.ts';
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

/** Writes the HAVE side: an S3-Inventory-style CSV of 1,000,000 rows, 1 % of SHOULD's keys left out. */
export async function writeMillionCsv(file: string): Promise<void> {
  const out = createWriteStream(file);
  const today = Math.floor(NOW / 86_400_000);
  const modified = new Date(NOW - 600_000).toISOString();
  let rows = 0;
  let buffer = '';
  const flush = async () => {
    if (!out.write(buffer)) await new Promise<void>((r) => out.once('drain', () => r()));
    buffer = '';
  };
  for (let s = 0; s < SOURCES; s++) {
    for (let d = 0; d < DAYS; d++) {
      if ((s * DAYS + d) % 100 === 0) continue; // the 1 % gaps
      const date = new Date((today - d) * 86_400_000).toISOString().slice(0, 10);
      buffer += `"lake","raw/s${String(s).padStart(2, '0')}/${date}.json","1234","${modified}"\n`;
      rows++;
      if (buffer.length > 1 << 20) await flush();
    }
  }
  // HAVE holds objects SHOULD does not name, too: 1,000,000 in all.
  for (let i = 0; rows < SOURCES * DAYS; i++, rows++) buffer += `"lake","raw/extra/${i}.bin","1","${modified}"\n`;
  out.end(buffer);
  await new Promise<void>((r) => out.once('finish', () => r()));
}

if (process.argv[2] === '--write') await writeMillionCsv(process.argv[3] as string);
else if (import.meta.url === `file://${process.argv[1]}`) {
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
  const maxRssMb = process.resourceUsage().maxRSS / 1024; // before the calibration below allocates its own keys
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
      maxRssMb,
      heapUsedMb: memory.heapUsed / 2 ** 20,
    })}\n`,
  );
}
