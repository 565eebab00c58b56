import { priorityName } from '../core/work-item.ts';
import type { WorkQueue } from '../storage/store.ts';

/** Seed 000's view of the work queue: counts by priority and by loop, the first items, time estimates. */
export type TasksView = {
  total: number;
  byPriority: Array<{ priority: string; count: number }>;
  byLoop: Array<{ loop: string; count: number; estimatedSeconds: number | null }>;
  items: Array<{ loop: string; key: string; priority: string; enqueuedAt: string; claimedBy: string | null }>;
};

/** Items listed one by one at most; the counts cover the whole queue. */
const LISTED = 100;

/**
 * Builds the `tasks` view from the queue. `estimateMs(loop, count)` says how
 * long `count` queued items of `loop` should take (null when unknown): the
 * daemon answers from live latency, the CLI from recorded item durations.
 */
export async function buildTasksView(
  queue: WorkQueue,
  estimateMs: (loop: string, count: number) => Promise<number | null> | number | null,
): Promise<TasksView> {
  const depth = await queue.depth();
  const items = await queue.list(undefined, { limit: LISTED });
  const byPriority = new Map<string, number>();
  const byLoop = new Map<string, number>();
  for (const d of depth) {
    const name = priorityName(d.priority);
    byPriority.set(name, (byPriority.get(name) ?? 0) + d.count);
    byLoop.set(d.loop, (byLoop.get(d.loop) ?? 0) + d.count);
  }
  const loops = await Promise.all(
    [...byLoop].map(async ([loop, count]) => {
      const ms = await estimateMs(loop, count);
      return { loop, count, estimatedSeconds: ms === null ? null : Math.round(ms / 1000) };
    }),
  );
  return {
    total: depth.reduce((n, d) => n + d.count, 0),
    byPriority: [...byPriority].map(([priority, count]) => ({ priority, count })),
    byLoop: loops,
    items: items.map((i) => ({
      loop: i.loop,
      key: i.key,
      priority: priorityName(i.priority),
      enqueuedAt: new Date(i.enqueuedAt).toISOString(),
      claimedBy: i.claim?.owner ?? null,
    })),
  };
}
