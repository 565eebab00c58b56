/**
 * Items/s and end-to-end latency of N no-op items on one redis-server, in
 * the same run, autoloop beside BullMQ at the same concurrency.
 *
 * autoloop: one manual cycle of a loop whose observe returns N keys and
 * whose act returns null, through a runtime on a `redis://` store with every
 * default, from the compiled package as a user runs it
 * (./support/redis-compiled-autoloop.ts; BullMQ runs from its dist/cjs) (a per-key lease per item, lease TTL 10 s, recovery loop on). The
 * real path per item: enqueued with the cycle's claim before it runs (one
 * script for all N), lease acquired, act, result recorded and the queue row
 * acked in one fenced script, lease released; events batched. Timed from
 * `runtime.run` to its resolution (cycle record start to finish).
 *
 * BullMQ: a Worker at the same concurrency (every other option at its
 * default; jobs added with no options, so `removeOnComplete` stays false and
 * completed jobs are kept, as autoloop keeps its item results), started and
 * ready before the clock starts; then `Queue.addBulk` of N no-op jobs, timed
 * until the Worker has emitted `completed` N times.
 *
 * Latency, per item: autoloop from its `enqueuedAt` (the clock reading
 * passed to the enqueue) to the accepted fenced complete
 * (./support/redis-latency-store.ts); BullMQ from the job's `timestamp`
 * (Date.now() when addBulk built the job, before sending) to the Worker's
 * `completed` event (after its moveToFinished script returned). Under this
 * bulk load an item's latency is mostly its wait behind the items before it.
 */
import { Queue, Worker } from 'bullmq';
import { fmt, line, median, now, percentile } from './report.ts';
import { compiledAutoloop, withPrefix } from './support/redis-compiled-autoloop.ts';
import { bullmqConnection } from './support/redis-connection.ts';
import { CpuMeter, type CpuSpent } from './support/redis-cpu.ts';
import { withItemLatency } from './support/redis-latency-store.ts';

/** One timed run: its rate, each item's enqueue -> completion latency, and the CPU time it took (with a meter). */
export interface RunFigures {
  readonly items: number;
  readonly itemsPerS: number;
  readonly latenciesMs: number[];
  readonly cpu?: CpuSpent;
}

/** One cycle of `items` no-op items through autoloop on Redis, under `prefix`. */
export async function autoloopRun(
  url: string,
  prefix: string,
  items: number,
  concurrency: number,
  meter?: CpuMeter,
): Promise<RunFigures> {
  const latenciesMs: number[] = [];
  const { createRuntime, defineLoop, openStore } = await compiledAutoloop();
  const store = await openStore(withPrefix(url, prefix));
  const loop = defineLoop({
    name: 'bench',
    trigger: { manual: true },
    observe: () => Array.from({ length: items }, (_, i) => `item-${i}`),
    act: () => null,
    policies: { concurrency },
  });
  const runtime = createRuntime({ loops: [loop], store: withItemLatency(store, latenciesMs) });
  try {
    await runtime.start();
    const stop = await meter?.start();
    const start = now();
    const record = await runtime.run('bench');
    const took = now() - start;
    const cpu = await stop?.();
    if (record.counts.succeeded !== items) {
      throw new Error(`autoloop on Redis: expected ${items} items to succeed, got ${JSON.stringify(record.counts)}`);
    }
    return { items, itemsPerS: (items / took) * 1000, latenciesMs, ...(cpu && { cpu }) };
  } finally {
    await runtime.stop();
    await store.close();
  }
}

/** `items` no-op jobs through a BullMQ Worker at `concurrency` on queue `name`. */
export async function bullmqRun(
  url: string,
  name: string,
  items: number,
  concurrency: number,
  meter?: CpuMeter,
): Promise<RunFigures> {
  const connection = bullmqConnection(url);
  const latenciesMs: number[] = [];
  const queue = new Queue(name, { connection });
  let done!: () => void;
  const allCompleted = new Promise<void>((resolve) => {
    done = resolve;
  });
  const worker = new Worker(name, async () => null, { connection, concurrency });
  worker.on('completed', (job) => {
    latenciesMs.push(Date.now() - job.timestamp);
    if (latenciesMs.length === items) done();
  });
  let failed: Error | undefined;
  worker.on('failed', (_job, error) => {
    failed ??= error;
    done();
  });
  try {
    await worker.waitUntilReady();
    await queue.waitUntilReady();
    const stop = await meter?.start();
    const start = now();
    await queue.addBulk(Array.from({ length: items }, (_, i) => ({ name: 'noop', data: { key: `item-${i}` } })));
    await allCompleted;
    const took = now() - start;
    const cpu = await stop?.();
    if (failed) throw new Error(`BullMQ: a no-op job failed: ${failed.message}`);
    return { items, itemsPerS: (items / took) * 1000, latenciesMs, ...(cpu && { cpu }) };
  } finally {
    await worker.close();
    await queue.close();
  }
}

const CONCURRENCIES = [1, 10, 100] as const;

/**
 * The throughput section: a warm-up of `warmup` items each, then `rounds`
 * rounds of `items` items per system and concurrency (which system goes
 * first alternates by round); prints medians, each run, the ratio, CPU time
 * per item, and latency percentiles over all rounds. Returns the figures.
 */
export async function throughputSection(
  url: string,
  runId: string,
  { items, rounds, warmup }: { items: number; rounds: number; warmup: number },
): Promise<Record<string, number>> {
  line('');
  line(
    `no-op items through each system: ${fmt(items)} per run, ${rounds} rounds (first system alternating), median; after a warm-up of ${fmt(warmup)} each`,
  );
  await autoloopRun(url, `${runId}:warmup:`, warmup, 10);
  await bullmqRun(url, `${runId}-warmup`, warmup, 10);
  const meter = await CpuMeter.open(url);
  const runs = new Map<string, RunFigures[]>();
  const add = (key: string, run: RunFigures) => runs.set(key, [...(runs.get(key) ?? []), run]);
  try {
    for (let round = 0; round < rounds; round++) {
      for (const c of CONCURRENCIES) {
        const a = async () => add(`a${c}`, await autoloopRun(url, `${runId}:tp-c${c}-r${round}:`, items, c, meter));
        const b = async () => add(`b${c}`, await bullmqRun(url, `${runId}-tp-c${c}-r${round}`, items, c, meter));
        await (round % 2 === 0 ? a().then(b) : b().then(a));
      }
    }
  } finally {
    meter.close();
  }
  return printThroughput(runs, rounds);
}

function printThroughput(runs: Map<string, RunFigures[]>, rounds: number): Record<string, number> {
  const figures: Record<string, number> = {};
  const of = (key: string) => runs.get(key) ?? [];
  const med = (key: string, pick: (r: RunFigures) => number) => median(of(key).map(pick));
  const row = (label: string, a: string, b: string, rest = '') =>
    line(`  ${label.padEnd(18)}${a.padStart(15)}${b.padStart(15)}   ${rest}`.trimEnd());
  row('items/s, median', 'autoloop', 'BullMQ', 'autoloop/BullMQ (goal >= 1.1)   each run: autoloop | BullMQ');
  for (const c of CONCURRENCIES) {
    const [a, b] = [med(`a${c}`, (r) => r.itemsPerS), med(`b${c}`, (r) => r.itemsPerS)];
    Object.assign(figures, { [`autoloopItemsPerS_c${c}`]: a, [`bullmqItemsPerS_c${c}`]: b, [`ratio_c${c}`]: a / b });
    const each = (key: string) =>
      of(key)
        .map((r) => fmt(r.itemsPerS))
        .join(' ');
    row(`concurrency ${c}`, fmt(a), fmt(b), `${fmt(a / b, 2).padEnd(30)}${each(`a${c}`)} | ${each(`b${c}`)}`);
  }
  row(
    'CPU µs per item',
    'autoloop',
    'BullMQ',
    'this process + redis-server, median (less sensitive to machine load than items/s)',
  );
  for (const c of CONCURRENCIES) {
    const cpu = (key: string): [number, number] => [
      med(key, (r) => (r.cpu?.clientUs ?? Number.NaN) / r.items),
      med(key, (r) => (r.cpu?.serverUs ?? Number.NaN) / r.items),
    ];
    const [[ac, as], [bc, bs]] = [cpu(`a${c}`), cpu(`b${c}`)];
    Object.assign(figures, { [`autoloopClientCpuUs_c${c}`]: ac, [`autoloopServerCpuUs_c${c}`]: as });
    Object.assign(figures, { [`bullmqClientCpuUs_c${c}`]: bc, [`bullmqServerCpuUs_c${c}`]: bs });
    row(
      `concurrency ${c}`,
      `${fmt(ac)} + ${fmt(as)}`,
      `${fmt(bc)} + ${fmt(bs)}`,
      `ratio ${fmt((ac + as) / (bc + bs), 2)}`,
    );
  }
  row('latency p50 / p99', 'autoloop', 'BullMQ', `ms, enqueue -> completion, all ${rounds} rounds pooled`);
  for (const c of CONCURRENCIES) {
    const pct = (key: string): [number, number] => {
      const all = of(key).flatMap((r) => r.latenciesMs);
      return [percentile(all, 50), percentile(all, 99)];
    };
    const [[a50, a99], [b50, b99]] = [pct(`a${c}`), pct(`b${c}`)];
    Object.assign(figures, { [`autoloopBulkP50Ms_c${c}`]: a50, [`autoloopBulkP99Ms_c${c}`]: a99 });
    Object.assign(figures, { [`bullmqBulkP50Ms_c${c}`]: b50, [`bullmqBulkP99Ms_c${c}`]: b99 });
    row(`concurrency ${c}`, `${fmt(a50)} / ${fmt(a99)}`, `${fmt(b50)} / ${fmt(b99)}`);
  }
  return figures;
}
