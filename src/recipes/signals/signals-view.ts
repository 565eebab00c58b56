/**
 * Signals read back from the store: the latest signal per symbol, from the
 * loop's recent cycle records and their item results. This is what the
 * dashboard and `GET /signals` show, so they are full even when nobody was
 * connected while the signals were made: the store is the source, not a
 * stream someone had to be listening to.
 *
 * Reads are bounded: at most `cycles` records (default
 * {@link DEFAULT_VIEW_CYCLES}, an hour of a one-minute loop) and one
 * `cycles.items` read per record that can hold results, newest first,
 * stopping early at the first scheduled or manual cycle in which every
 * planned symbol succeeded (it holds a newer signal for each of them than
 * any older cycle). Skipped cycles and finished ones without a success
 * cost no item read.
 *
 * Retention is the store's `prune(beforeMs)`, which removes cycle records
 * (with their item results) and events older than a time. Nothing in the
 * runtime calls it yet, so records accumulate until a retention setting
 * (e.g. `retention: 7d`, pruned hourly on the clock) runs it. The view
 * never needs more than `cycles` records, so any retention longer than
 * `cycles` trigger periods keeps it whole.
 */
import type { CycleRecord } from '../../core/cycle-record.ts';
import type { CycleStore } from '../../storage/store.ts';
import { readSignal, type Signal } from './signal.ts';

/** Records read at most per view: 60, an hour of a one-minute loop. */
export const DEFAULT_VIEW_CYCLES = 60;

export interface LatestSignalsOptions {
  /** The reader's now (epoch ms, the runtime clock), for `maxAgeMs`. */
  readonly now: number;
  /** Leave out signals generated more than this long before `now`. Default: none left out. */
  readonly maxAgeMs?: number;
  /** Read at most this many of the loop's newest cycle records. Default {@link DEFAULT_VIEW_CYCLES}. */
  readonly cycles?: number;
}

/**
 * The latest valid signal per symbol of `loop`, sorted by symbol. "Latest"
 * is the one about the latest tick (`scheduledAt`), then the latest
 * generated. Item outputs that are not signals are left out. Rejects when
 * the store does.
 *
 * @example
 * const signals = await latestSignals(store, 'signals', { now: clock.now(), maxAgeMs: 10 * 60_000 });
 */
export async function latestSignals(
  store: { readonly cycles: CycleStore },
  loop: string,
  options: LatestSignalsOptions,
): Promise<Signal[]> {
  const limit = options.cycles ?? DEFAULT_VIEW_CYCLES;
  if (!Number.isInteger(limit) || limit < 1) {
    throw new RangeError(`latestSignals: cycles: expected an integer >= 1, got ${String(options.cycles)}`);
  }
  const records = await store.cycles.list(loop, { limit });
  const latest = new Map<string, Signal>();
  for (const record of records) {
    if (!mayHoldResults(record)) continue;
    for (const signal of await cycleSignals(store, record.id)) {
      const current = latest.get(signal.symbol);
      if (!current || newer(signal, current)) latest.set(signal.symbol, signal);
    }
    if (coversEverySymbol(record)) break;
  }
  const oldest = options.maxAgeMs === undefined ? -Infinity : options.now - options.maxAgeMs;
  return [...latest.values()]
    .filter((s) => s.generatedAt >= oldest)
    .sort((a, b) => (a.symbol < b.symbol ? -1 : a.symbol > b.symbol ? 1 : 0));
}

/**
 * The valid signals among one cycle's succeeded item results, in the order
 * they finished. Rejects when the store does.
 */
export async function cycleSignals(store: { readonly cycles: CycleStore }, cycleId: string): Promise<Signal[]> {
  const out: Signal[] = [];
  for (const item of await store.cycles.items(cycleId)) {
    if (item.status !== 'succeeded') continue;
    const read = readSignal(item.output);
    if (read.ok) out.push(read.signal);
  }
  return out;
}

/** A running cycle may already have results; a finished one only if something succeeded. */
function mayHoldResults(record: CycleRecord): boolean {
  if (record.outcome.kind === 'skipped') return false;
  return record.finishedAt === null || record.counts.succeeded > 0;
}

/** Every symbol it planned succeeded: older cycles cannot hold a newer signal of those symbols. */
function coversEverySymbol(record: CycleRecord): boolean {
  return (
    record.trigger !== 'recovery' &&
    record.outcome.kind === 'ok' &&
    record.counts.planned > 0 &&
    record.counts.succeeded === record.counts.planned
  );
}

function newer(a: Signal, b: Signal): boolean {
  return a.scheduledAt !== b.scheduledAt ? a.scheduledAt > b.scheduledAt : a.generatedAt > b.generatedAt;
}
