/**
 * (c) A 20-item fan-out with item latencies drawn from 0.2-1.0 s at
 * concurrency 10, on real time through the whole engine (runtime, cycle,
 * memory store): cycle time as a ratio to the ideal lower bound and to seed
 * 002's batch algorithm (batches of 10 that wait for their slowest item,
 * with a 1 s pause between batches), run with the same latencies. Three
 * cycles on one runtime: the first has no history and starts items in plan
 * order; the second and third start them longest expected first (the
 * default `policies.order`, from the first's attempt times).
 */
import { defineLoop } from '../src/config/define-loop.ts';
import { createRuntime } from '../src/runtime/runtime.ts';
import { fmt, heading, line, now, seeded } from './report.ts';
import { originalBatches } from './support/original-batches.ts';

const ITEMS = 20;
const CONCURRENCY = 10;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Lower bound for any scheduler: the longest item, or the total work spread over every slot. */
export function idealBound(latencies: number[], concurrency: number): number {
  return Math.max(Math.max(...latencies), latencies.reduce((a, b) => a + b, 0) / concurrency);
}

async function autoloopCycles(latencies: number[], cycles: number): Promise<number[]> {
  const loop = defineLoop({
    name: 'fanout',
    trigger: { manual: true },
    observe: () => latencies.map((ms, i) => ({ key: `s${i}`, payload: ms })),
    act: (item) => sleep(item.payload as number),
    policies: { concurrency: CONCURRENCY, timeout: '10s' },
  });
  const runtime = createRuntime({ loops: [loop] });
  await runtime.start({ schedule: false });
  const took: number[] = [];
  for (let n = 0; n < cycles; n++) {
    const start = now();
    const record = await runtime.run('fanout');
    took.push(now() - start);
    if (record.outcome.kind !== 'ok') throw new Error(`fan-out cycle ended ${record.outcome.kind}`);
  }
  await runtime.stop();
  return took;
}

export async function benchFanout(): Promise<Record<string, number>> {
  heading(`(c) fan-out: ${ITEMS} items, latency 0.2-1.0 s (seeded), concurrency ${CONCURRENCY}, real time`);
  const random = seeded(42);
  const latencies = Array.from({ length: ITEMS }, () => Math.round(200 + random() * 800));
  const ideal = idealBound(latencies, CONCURRENCY);
  const [ours, second, third] = (await autoloopCycles(latencies, 3)) as [number, number, number];
  const { ms: batches } = await originalBatches(
    latencies.map((ms) => () => sleep(ms)),
    { batchSize: CONCURRENCY },
  );
  line(`ideal lower bound        ${fmt(ideal)} ms`);
  line(`autoloop, plan order      ${fmt(ours)} ms   ratio to ideal ${fmt(ours / ideal, 2)} (first cycle: no history)`);
  line(
    `autoloop, longest first   ${fmt(second)} ms, ${fmt(third)} ms   ratio to ideal ${fmt(second / ideal, 2)}, ${fmt(third / ideal, 2)} (cycles 2 and 3)`,
  );
  line(`original batches of 10   ${fmt(batches)} ms   ratio to ideal ${fmt(batches / ideal, 2)}`);
  line(`autoloop is ${fmt(batches / ours, 2)}x faster than the original runner's batches on this draw`);
  return { idealMs: ideal, autoloopMs: ours, longestFirstMs: second, longestFirstThirdMs: third, seedBatchMs: batches };
}
