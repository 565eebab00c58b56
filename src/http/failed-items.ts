import type { CycleRecord, ItemResult } from '../core/cycle-record.ts';
import { newestFirst, SCAN_PER_LOOP } from './cycle-history.ts';
import { isRetry, originalKey } from './retry-route.ts';
import type { HttpSource } from './routes.ts';

/** The latest retry of a failed item (POST /loops/:name/retry), as its result says. */
export interface RetryOutcome {
  readonly status: ItemResult['status'];
  readonly cycleId: string;
  readonly finishedAt: number;
}

/**
 * A failed item as `GET /items/failed` lists it: its result, the instance
 * that ran its cycle, and the outcome of its latest retry when one finished
 * after it (so an operator sees it was dealt with, also after a reload).
 */
export type FailedItem = ItemResult & { readonly owner: string; readonly retry?: RetryOutcome };

/**
 * The newest `limit` failed results of `loops`, read from each loop's newest
 * {@link SCAN_PER_LOOP} cycles: the items of the cycles that had failures,
 * and, to find retries, the items of the cycles since the oldest failure
 * listed. A store without a query by status costs one read per cycle; the
 * scan window bounds it.
 */
export async function failedItems(source: HttpSource, loops: readonly string[], limit: number): Promise<FailedItem[]> {
  const lists = await Promise.all(loops.map((loop) => source.cycles(loop, SCAN_PER_LOOP)));
  const records = newestFirst(lists.flat());
  const results = new Map<string, Promise<ItemResult[]>>();
  const itemsOf = (id: string) => {
    let read = results.get(id);
    if (!read) {
      read = source.items(id);
      results.set(id, read);
    }
    return read;
  };
  const found: Array<ItemResult & { owner: string }> = [];
  for (const record of records) {
    if (found.length >= limit) break;
    if (record.counts.failed === 0) continue;
    for (const r of await itemsOf(record.id)) if (r.status === 'failed') found.push({ ...r, owner: record.owner });
  }
  const listed = found.sort((a, b) => b.finishedAt - a.finishedAt).slice(0, limit);
  const retries = await latestRetries(records, listed, itemsOf);
  return listed.map((item) => {
    const retry = retries.get(`${item.loop}\u0000${originalKey(item.idempotencyKey)}`);
    return retry && retry.finishedAt > item.finishedAt ? { ...item, retry } : item;
  });
}

/** The newest retry result per loop and original idempotency key, from the cycles since the oldest listed failure. */
async function latestRetries(
  records: readonly CycleRecord[],
  listed: readonly ItemResult[],
  itemsOf: (cycleId: string) => Promise<ItemResult[]>,
): Promise<Map<string, RetryOutcome>> {
  const latest = new Map<string, RetryOutcome>();
  if (listed.length === 0) return latest;
  const since = Math.min(...listed.map((i) => i.finishedAt));
  const loops = new Set(listed.map((i) => i.loop));
  const later = records.filter(
    (r) => loops.has(r.loop) && (r.finishedAt ?? r.startedAt) >= since && r.counts.planned > 0,
  );
  for (const record of later) {
    for (const r of await itemsOf(record.id)) {
      if (!isRetry(r)) continue;
      const id = `${r.loop}\u0000${originalKey(r.idempotencyKey)}`;
      if ((latest.get(id)?.finishedAt ?? -1) < r.finishedAt) {
        latest.set(id, { status: r.status, cycleId: r.cycleId, finishedAt: r.finishedAt });
      }
    }
  }
  return latest;
}
