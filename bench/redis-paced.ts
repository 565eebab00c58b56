/**
 * End-to-end latency at a steady arrival rate, below either system's
 * capacity: `perTick` new items every `everyMs` for `durationMs`, on one
 * redis-server, at the same concurrency for both.
 *
 * autoloop: a loop with `trigger: { interval: everyMs }` whose observe
 * returns `perTick` new keys each cycle (scheduled cycles, as in
 * production), every default otherwise (a per-key lease per item); the
 * runtime stops (draining) after `durationMs`. BullMQ: a Worker at the same
 * concurrency, every other option at its default; `Queue.addBulk` of
 * `perTick` no-op jobs every `everyMs` for `durationMs`, then wait until all
 * completed. Latency is defined as in ./redis-throughput.ts: enqueuedAt to
 * the accepted fenced complete (autoloop), job timestamp to the Worker's
 * `completed` event (BullMQ).
 */
import { Queue, Worker } from 'bullmq';
import { fmt, line, percentile } from './report.ts';
import { compiledAutoloop, withPrefix } from './support/redis-compiled-autoloop.ts';
import { bullmqConnection } from './support/redis-connection.ts';
import { withItemLatency } from './support/redis-latency-store.ts';

export interface PacedLoad {
  readonly perTick: number;
  readonly everyMs: number;
  readonly durationMs: number;
  readonly concurrency: number;
}

/** Each completed item's latency, and how many were enqueued. */
export interface PacedFigures {
  readonly enqueued: number;
  readonly latenciesMs: number[];
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, Math.max(0, ms)));

export async function autoloopPaced(url: string, prefix: string, load: PacedLoad): Promise<PacedFigures> {
  const latenciesMs: number[] = [];
  let enqueued = 0;
  const { createRuntime, defineLoop, openStore } = await compiledAutoloop();
  const store = await openStore(withPrefix(url, prefix));
  const loop = defineLoop({
    name: 'paced',
    trigger: { interval: load.everyMs },
    observe: () => Array.from({ length: load.perTick }, () => `item-${enqueued++}`),
    act: () => null,
    policies: { concurrency: load.concurrency },
  });
  const runtime = createRuntime({ loops: [loop], store: withItemLatency(store, latenciesMs) });
  try {
    await runtime.start();
    await sleep(load.durationMs);
  } finally {
    await runtime.stop();
    await store.close();
  }
  return { enqueued, latenciesMs };
}

export async function bullmqPaced(url: string, name: string, load: PacedLoad): Promise<PacedFigures> {
  const connection = bullmqConnection(url);
  const latenciesMs: number[] = [];
  const queue = new Queue(name, { connection });
  const worker = new Worker(name, async () => null, { connection, concurrency: load.concurrency });
  worker.on('completed', (job) => {
    latenciesMs.push(Date.now() - job.timestamp);
  });
  let enqueued = 0;
  try {
    await worker.waitUntilReady();
    await queue.waitUntilReady();
    const start = performance.now();
    const ticks = Math.floor(load.durationMs / load.everyMs);
    for (let tick = 0; tick < ticks; tick++) {
      await sleep(start + tick * load.everyMs - performance.now());
      const jobs = Array.from({ length: load.perTick }, () => ({ name: 'noop', data: { key: `item-${enqueued++}` } }));
      await queue.addBulk(jobs);
    }
    const deadline = performance.now() + 30_000;
    while (latenciesMs.length < enqueued && performance.now() < deadline) await sleep(20);
  } finally {
    await worker.close();
    await queue.close();
  }
  return { enqueued, latenciesMs };
}

/** Runs both at `load` and prints p50 / p99 / max latency for each. */
export async function pacedSection(url: string, runId: string, load: PacedLoad): Promise<Record<string, number>> {
  const figures: Record<string, number> = {};
  line('');
  line(
    `latency at a steady ${fmt((load.perTick * 1000) / load.everyMs)} items/s (${load.perTick} items every ${load.everyMs} ms for ${fmt(load.durationMs / 1000)} s), concurrency ${load.concurrency}, p50 / p99 / max ms`,
  );
  const show = (name: string, key: string, f: PacedFigures) => {
    const [p50, p99, max] = [percentile(f.latenciesMs, 50), percentile(f.latenciesMs, 99), Math.max(...f.latenciesMs)];
    Object.assign(figures, { [`${key}PacedP50Ms`]: p50, [`${key}PacedP99Ms`]: p99, [`${key}PacedMaxMs`]: max });
    line(
      `  ${name.padEnd(66)} ${fmt(p50)} / ${fmt(p99)} / ${fmt(max)}   (${fmt(f.latenciesMs.length)} of ${fmt(f.enqueued)} completed)`,
    );
  };
  const a = await autoloopPaced(url, `${runId}:paced:`, load);
  show(`autoloop (interval trigger, one cycle per ${load.everyMs} ms tick)`, 'autoloop', a);
  const b = await bullmqPaced(url, `${runId}-paced`, load);
  show(`BullMQ (addBulk every ${load.everyMs} ms)`, 'bullmq', b);
  return figures;
}
