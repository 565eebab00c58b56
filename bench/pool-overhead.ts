/**
 * (a) Pool overhead: 100,000 no-op items at concurrency 10 through
 * autoloop's WorkerPool, as a ratio to p-limit doing the same work in the
 * same process. Median of 7 alternating rounds after a warm-up.
 */
import pLimit from 'p-limit';
import { WorkerPool } from '../src/execution/pool.ts';
import { fmt, heading, line, median, now } from './report.ts';

const ITEMS = 100_000;
const CONCURRENCY = 10;
const ROUNDS = 7;
const noop = async () => {};

async function timePool(): Promise<number> {
  const pool = new WorkerPool(CONCURRENCY);
  const start = now();
  const all = new Array<Promise<void>>(ITEMS);
  for (let i = 0; i < ITEMS; i++) all[i] = pool.submit(noop, 2);
  await Promise.all(all);
  return now() - start;
}

async function timePLimit(): Promise<number> {
  const limit = pLimit(CONCURRENCY);
  const start = now();
  const all = new Array<Promise<void>>(ITEMS);
  for (let i = 0; i < ITEMS; i++) all[i] = limit(noop);
  await Promise.all(all);
  return now() - start;
}

export async function benchPoolOverhead(): Promise<Record<string, number>> {
  heading(`(a) pool overhead: ${fmt(ITEMS)} no-op items, concurrency ${CONCURRENCY} (median of ${ROUNDS})`);
  await timePool();
  await timePLimit();
  const ours: number[] = [];
  const theirs: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    ours.push(await timePool());
    theirs.push(await timePLimit());
  }
  const a = median(ours);
  const b = median(theirs);
  line(`autoloop WorkerPool   ${fmt(a, 1)} ms   (${fmt((ITEMS / a) * 1000)} items/s)`);
  line(`p-limit 6.2.0         ${fmt(b, 1)} ms   (${fmt((ITEMS / b) * 1000)} items/s)`);
  line(`ratio autoloop/p-limit = ${fmt(a / b, 2)}   (goal <= 1.5)`);
  return { poolMs: a, pLimitMs: b, ratio: a / b };
}
