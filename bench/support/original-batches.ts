/**
 * Seed 002's batch algorithm (`process_symbols_batched`), for the benches
 * that compare a cycle with it: the tasks run in batches of `batchSize`;
 * each batch starts all its tasks at once and waits for every one of them
 * (`asyncio.gather(..., return_exceptions=True)`: a failure does not stop
 * its batch), then the loop sleeps `batchDelayMs` (the seed's 1 s) before
 * the next batch. No pause after the last batch.
 *
 * @example
 * const { ms, results } = await originalBatches(symbols.map((s) => () => analyse(s)), { batchSize: 10 });
 */
import { performance } from 'node:perf_hooks';

export interface SeedBatchOptions {
  /** The seed's `adaptive_scheduler.get_adaptive_batch_size()`, fixed for the run. */
  readonly batchSize: number;
  /** The seed's `asyncio.sleep(1)` between batches, ms. Default 1,000. */
  readonly batchDelayMs?: number;
}

export interface SeedBatchRun<T> {
  /** Wall time from the first batch's start to the last batch's end, ms. */
  readonly ms: number;
  /** Each task's outcome, in task order. */
  readonly results: Array<PromiseSettledResult<T>>;
}

export async function originalBatches<T>(
  tasks: ReadonlyArray<() => Promise<T>>,
  options: SeedBatchOptions,
): Promise<SeedBatchRun<T>> {
  const { batchSize, batchDelayMs = 1_000 } = options;
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new RangeError(`originalBatches: batchSize: expected an integer >= 1, got ${batchSize}`);
  }
  const start = performance.now();
  const results: Array<PromiseSettledResult<T>> = [];
  for (let i = 0; i < tasks.length; i += batchSize) {
    if (i > 0) await new Promise((resolve) => setTimeout(resolve, batchDelayMs));
    results.push(...(await Promise.allSettled(tasks.slice(i, i + batchSize).map((task) => task()))));
  }
  return { ms: performance.now() - start, results };
}
