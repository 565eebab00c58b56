/**
 * The reconcile recipe (seed 000):
 *
 * (r1) reconcile 1,000,000 HAVE keys (an S3-Inventory-style CSV, read as
 *      the report adapter reads it) against a 1,000,000-key SHOULD (20
 *      sources x 50,000 daily dates) with 1 % gaps, in a process of its
 *      own: time with the breakdown (read, expand, diff + classify, report)
 *      and RSS. Targets: <= 5 s, <= 500 MB.
 * (r2) listing N objects from s3rver (default 100,000, $RECONCILE_BENCH_OBJECTS)
 *      through the S3 listing adapter beside a bare SDK paginator loop, in
 *      the same run (ratio). The objects are laid into s3rver's directory
 *      as its filesystem store keeps them (a PUT per object would take
 *      half an hour on this machine).
 * (r3) examples/data-collection's first cycle, end to end.
 * (r4) bench (c)'s fan-out (20 gaps, 0.2-1.0 s seeded, concurrency 10) as
 *      reconcile cycles: the first in plan order, the second longest
 *      expected first from the first's history; each as a ratio to the
 *      ideal bound.
 */
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { paginateListObjectsV2, S3Client } from '@aws-sdk/client-s3';
import { loadConfig } from '../src/config/load-config.ts';
import { resolveCoverage } from '../src/recipes/reconcile/coverage-spec.ts';
import { MemoryInventory } from '../src/recipes/reconcile/memory-inventory.ts';
import type { ReconcileApi } from '../src/recipes/reconcile/recipe.ts';
import { ReconcileLoop } from '../src/recipes/reconcile/reconcile-loop.ts';
import { S3ListingInventory } from '../src/recipes/reconcile/s3-listing-inventory.ts';
import { runtimeOptionsFromConfig } from '../src/runtime/from-config.ts';
import { createRuntime } from '../src/runtime/runtime.ts';
import { systemClock } from '../src/time/system-clock.ts';
import { idealBound } from './fanout.ts';
import { writeMillionCsv } from './reconcile-million.ts';
import { fmt, heading, line, now, seeded } from './report.ts';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
const MILLION = fileURLToPath(new URL('./reconcile-million.ts', import.meta.url));
const S3RVER = fileURLToPath(new URL('../test/support/s3rver-main.mjs', import.meta.url));
const EXAMPLE = fileURLToPath(new URL('../examples/data-collection/', import.meta.url));

export async function benchReconcile(): Promise<Record<string, unknown>> {
  const dir = mkdtempSync(join(tmpdir(), 'autoloop-bench-reconcile-'));
  try {
    return {
      million: await million(dir),
      listing: await listing(dir),
      example: await example(dir),
      ordering: await ordering(),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** (r1): writes the CSV (untimed), then runs the measured child. */
async function million(dir: string): Promise<Record<string, unknown>> {
  heading('(r1) reconcile 1,000,000 HAVE vs 1,000,000 SHOULD, 1 % gaps (own process)');
  const file = join(dir, 'inventory.csv');
  await writeMillionCsv(file);
  const child = spawnSync(process.execPath, ['--import', 'tsx', MILLION, file], { encoding: 'utf8' });
  if (child.status !== 0) throw new Error(`reconcile-million failed: ${child.stderr}`);
  const r = JSON.parse(child.stdout.trim().split('\n').at(-1) as string) as Record<string, number>;
  line(`HAVE ${fmt(r.have as number)} keys, SHOULD ${fmt(r.should as number)} keys, gaps ${fmt(r.gaps as number)}`);
  line(
    `read ${fmt(r.readMs as number)} ms, expand ${fmt(r.expandMs as number)} ms, diff + classify ${fmt(r.diffClassifyMs as number)} ms, report ${fmt(r.reportMs as number)} ms`,
  );
  const cpu = r.cpu as unknown as Record<string, number>;
  line(
    `calibration: a bare Map.set of ${fmt(r.have as number)} fresh keys takes ${fmt(r.bareMapSetMs as number)} ms on this machine now`,
  );
  line(
    `CPU time (what the machine's load does not inflate): read ${fmt(cpu.readMs as number)} ms, expand ${fmt(cpu.expandMs as number)} ms, diff + classify ${fmt(cpu.diffClassifyMs as number)} ms, report ${fmt(cpu.reportMs as number)} ms, total ${fmt(cpu.totalMs as number)} ms`,
  );
  line(
    `wall total ${fmt(r.totalMs as number)} ms (target <= 5,000); RSS ${fmt(r.rssMb as number)} MB, max RSS ${fmt(r.maxRssMb as number)} MB (target <= 500), heap ${fmt(r.heapUsedMb as number)} MB`,
  );
  return r;
}

/** (r2): s3rver in a child, N objects laid into its store directory, two listings. */
async function listing(dir: string): Promise<Record<string, number>> {
  const count = Number(process.env.RECONCILE_BENCH_OBJECTS ?? 100_000);
  heading(`(r2) listing ${fmt(count)} objects from s3rver: inventory adapter vs a bare SDK paginator`);
  const store = join(dir, 's3rver');
  const bucket = join(store, 'bench-lake');
  const t0 = now();
  for (let d = 0; d * 1000 < count; d++) {
    const sub = join(bucket, 'raw', `d${String(d).padStart(4, '0')}`);
    mkdirSync(sub, { recursive: true });
    for (let i = 0; i < 1000 && d * 1000 + i < count; i++) {
      const name = `k${String(i).padStart(4, '0')}.json`;
      writeFileSync(join(sub, `${name}._S3rver_object`), '{"x":1}');
      writeFileSync(join(sub, `${name}._S3rver_object.md5`), '8c6e3c6b5e0a0a0a0a0a0a0a0a0a0a0a');
    }
  }
  line(`laid ${fmt(count)} objects into s3rver's directory in ${fmt(now() - t0)} ms`);
  const server = spawn(process.execPath, [S3RVER, store], {
    env: { ...process.env, NODE_OPTIONS: '--openssl-legacy-provider' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    const port = await new Promise<number>((resolve, reject) => {
      server.stdout?.once('data', (d) => resolve((JSON.parse(String(d)) as { port: number }).port));
      server.once('exit', (code) => reject(new Error(`s3rver exited ${code}`)));
    });
    const client = new S3Client({
      endpoint: `http://127.0.0.1:${port}`,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    });
    // A first full listing warms the OS cache of s3rver's files, so the order of the runs below does not favour one.
    for await (const _ of paginateListObjectsV2({ client, pageSize: 1000 }, { Bucket: 'bench-lake', Prefix: 'raw/' })) {
      // discarded
    }
    const t1 = now();
    let bare = 0;
    for await (const page of paginateListObjectsV2(
      { client, pageSize: 1000 },
      { Bucket: 'bench-lake', Prefix: 'raw/' },
    )) {
      for (const o of page.Contents ?? []) if (o.Key && o.Size !== undefined && o.LastModified) bare++;
    }
    const bareMs = now() - t1;
    const t2 = now();
    const have = await new S3ListingInventory({ client, bucket: 'bench-lake', prefix: 'raw/' }).scan(
      new AbortController().signal,
    );
    const adapterMs = now() - t2;
    const t3 = now();
    const sharded = await new S3ListingInventory({ client, bucket: 'bench-lake', prefix: 'raw/', parallel: 4 }).scan(
      new AbortController().signal,
    );
    const shardedMs = now() - t3;
    client.destroy();
    line(`bare SDK paginator        ${fmt(bare)} objects in ${fmt(bareMs)} ms`);
    line(
      `inventory adapter         ${fmt(have.objects)} objects in ${fmt(adapterMs)} ms   ratio ${fmt(adapterMs / bareMs, 2)}`,
    );
    line(
      `adapter, 4 prefix shards  ${fmt(sharded.objects)} objects in ${fmt(shardedMs)} ms   ratio ${fmt(shardedMs / bareMs, 2)} (one s3rver process on 2 cores)`,
    );
    return { objects: count, bareMs, adapterMs, shardedMs, ratio: adapterMs / bareMs };
  } finally {
    server.kill('SIGTERM');
    await new Promise((r) => server.once('exit', r));
  }
}

/** (r3): the example's first cycle, in a copy of its directory, on a memory store. */
async function example(dir: string): Promise<Record<string, number>> {
  heading('(r3) examples/data-collection: the first cycle end to end');
  const copy = join(dir, 'example');
  cpSync(EXAMPLE, copy, { recursive: true, filter: (src) => !/\/(data|inventory|\.autoloop)(\/|$)/.test(src) });
  mkdirSync(join(copy, 'data'));
  const file = join(copy, 'autoloop.yaml');
  writeFileSync(file, readFileSync(file, 'utf8').replace('sqlite://./.autoloop/state.db', 'memory://'));
  const runtime = createRuntime(
    runtimeOptionsFromConfig(await loadConfig(file, { env: { ...process.env } }), { http: false }),
  );
  await runtime.start({ schedule: false });
  try {
    const t0 = now();
    const record = await runtime.run('collect');
    const cycleMs = now() - t0;
    await runtime.recipe<ReconcileApi>('reconcile')?.idle();
    const totalMs = now() - t0;
    const c = record.counts;
    line(
      `${c.planned} gaps: ${c.succeeded} collected, ${c.failed} failed; cycle ${fmt(cycleMs)} ms, with the reconcile after it ${fmt(totalMs)} ms`,
    );
    return { planned: c.planned, succeeded: c.succeeded, failed: c.failed, cycleMs, totalMs };
  } finally {
    await runtime.stop();
  }
}

/** (r4): bench (c)'s latencies as gaps; cycle 1 in plan order, cycle 2 longest expected first. */
async function ordering(): Promise<Record<string, number>> {
  heading('(r4) (c) as reconcile cycles: 20 gaps, 0.2-1.0 s seeded, concurrency 10, real time');
  const random = seeded(42);
  const latencies = Array.from({ length: 20 }, () => Math.round(200 + random() * 800));
  const ideal = idealBound(latencies, 10);
  const inventory = new MemoryInventory({ now: () => Date.now() });
  const values = latencies.map((_, i) => `g${String(i).padStart(2, '0')}`);
  const loop = new ReconcileLoop({
    name: 'fanout',
    trigger: { manual: true },
    inventory,
    coverage: resolveCoverage({ sources: { a: { key: '{value}', values } } }, { file: 'bench', prefix: [], dir: '.' }),
    collector: async ({ gap, signal }) => {
      await systemClock.sleep(latencies[Number(gap.key.slice(1))] as number, signal);
      inventory.put(gap.key, 1);
    },
    budgetMs: null,
    sourceConcurrency: () => 10,
    maxItems: 1000,
    reportFile: null,
    policies: { concurrency: 10, timeout: '10s' },
    defaultTaskMs: 1000,
    threshold: null,
    maxInventoryAgeMs: 86_400_000,
  });
  const runtime = createRuntime({ loops: [{ ...loop.definition, recipe: 'reconcile' } as never] });
  await runtime.start({ schedule: false });
  const cycles: number[] = [];
  try {
    for (let i = 0; i < 2; i++) {
      for (const key of values) inventory.remove(key);
      const record = await runtime.run('fanout');
      const steps = record.steps;
      if (record.counts.succeeded !== 20) throw new Error(`cycle ${i + 1}: ${JSON.stringify(record.counts)}`);
      cycles.push(steps.actMs ?? 0);
      await runtime.recipe<ReconcileApi>('reconcile')?.idle();
    }
  } finally {
    await runtime.stop();
  }
  const [first, second] = cycles as [number, number];
  line(`ideal lower bound                       ${fmt(ideal)} ms`);
  line(`cycle 1, plan order (no history)        ${fmt(first)} ms   ratio to ideal ${fmt(first / ideal, 2)}`);
  line(`cycle 2, longest expected first         ${fmt(second)} ms   ratio to ideal ${fmt(second / ideal, 2)}`);
  return { idealMs: ideal, planOrderMs: first, longestFirstMs: second };
}
