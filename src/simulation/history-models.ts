/**
 * Act models from history: a loop's act latency and failure rate as the
 * store recorded them in its recent cycles, for `autoloop simulate --store`.
 * A loop the config gives a model keeps it; one with enough history gets
 * this one; the rest the neutral default (world.ts), and the report says
 * which each loop used.
 *
 * Latency: the durations of items that succeeded at their first attempt
 * (a retried item's duration holds its backoff, not the dependency's
 * latency), fitted as a lognormal to their p50 and p99 like a configured
 * `{ p50, p99 }`. Failure rate: failed attempts over all attempts of
 * items that ran (a succeeded item failed `attempts - 1` times, a failed
 * one `attempts` times; skipped items did not run).
 */
import type { LatencySpec } from '../config/simulate-schema.ts';
import type { Store } from '../storage/store.ts';
import { percentile } from './distribution.ts';

/** Cycles read per loop, newest first. */
export const HISTORY_CYCLES = 200;
/** First-attempt successes needed before history stands in for the default latency. */
export const MIN_HISTORY_SAMPLES = 20;

/** A loop's model as its history gives it. */
export interface HistoryModel {
  readonly latency: LatencySpec;
  readonly failureRate: number;
  /** Cycles and item results it was taken from. */
  readonly cycles: number;
  readonly results: number;
  /** When the newest of those cycles started (epoch ms). */
  readonly newestAt: number;
}

/**
 * Models for the loops named in `loops` that have at least
 * {@link MIN_HISTORY_SAMPLES} first-attempt successes in their last
 * {@link HISTORY_CYCLES} cycles in `store`. Only reads the store.
 */
export async function modelsFromHistory(store: Store, loops: readonly string[]): Promise<Map<string, HistoryModel>> {
  const models = new Map<string, HistoryModel>();
  for (const loop of loops) {
    const model = await loopHistory(store, loop);
    if (model) models.set(loop, model);
  }
  return models;
}

async function loopHistory(store: Store, loop: string): Promise<HistoryModel | undefined> {
  const records = (await store.cycles.list(loop, { limit: HISTORY_CYCLES })).filter(
    (r) => r.outcome.kind !== 'skipped' && r.finishedAt !== null,
  );
  const latencies: number[] = [];
  let attempts = 0;
  let failedAttempts = 0;
  let results = 0;
  for (const record of records) {
    for (const result of await store.cycles.items(record.id)) {
      if (result.status === 'skipped' || result.attempts === 0) continue;
      results++;
      attempts += result.attempts;
      failedAttempts += result.status === 'succeeded' ? result.attempts - 1 : result.attempts;
      if (result.status === 'succeeded' && result.attempts === 1) latencies.push(Math.max(0, result.durationMs));
    }
  }
  if (latencies.length < MIN_HISTORY_SAMPLES) return undefined;
  latencies.sort((a, b) => a - b);
  const p50 = Math.max(1, Math.round(percentile(latencies, 0.5)));
  const p99 = Math.max(p50, Math.round(percentile(latencies, 0.99)));
  return {
    latency: p99 === p50 ? { kind: 'fixed', ms: p50 } : { kind: 'lognormal', p50Ms: p50, p99Ms: p99 },
    failureRate: Math.round((failedAttempts / attempts) * 10_000) / 10_000,
    cycles: records.length,
    results,
    newestAt: Math.max(...records.map((r) => r.startedAt)),
  };
}
