import type { ResolvedConfig } from '../config/load-config.ts';
import { priorityName } from '../core/work-item.ts';
import type { TasksView } from '../runtime/runtime.ts';
import type { Store } from '../storage/store.ts';

/** How many recent cycles to look through for a finished one with item durations. */
const RECENT_CYCLES = 10;

/**
 * The `tasks` view read from the store when no daemon answers: the same
 * shape as the daemon's `/tasks`. The estimate per loop is queued items ×
 * the median item duration of its last finished cycle / its concurrency
 * (null when no finished cycle ran an item).
 */
export async function storeTasksView(config: ResolvedConfig, store: Store): Promise<TasksView> {
  const depth = await store.queue.depth();
  const items = await store.queue.list(undefined, { limit: 100 });
  const byPriority = new Map<string, number>();
  const byLoop = new Map<string, number>();
  for (const d of depth) {
    const name = priorityName(d.priority);
    byPriority.set(name, (byPriority.get(name) ?? 0) + d.count);
    byLoop.set(d.loop, (byLoop.get(d.loop) ?? 0) + d.count);
  }
  const loops = await Promise.all(
    [...byLoop].map(async ([loop, count]) => {
      const concurrency = config.loops.find((l) => l.name === loop)?.policies.concurrency ?? 1;
      const medianMs = await medianItemMs(store, loop);
      const estimatedSeconds = medianMs === null ? null : Math.round((count * medianMs) / concurrency / 1000);
      return { loop, count, estimatedSeconds };
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

async function medianItemMs(store: Store, loop: string): Promise<number | null> {
  const recent = await store.cycles.list(loop, { limit: RECENT_CYCLES });
  for (const cycle of recent) {
    if (cycle.finishedAt === null || cycle.counts.succeeded + cycle.counts.failed === 0) continue;
    const durations = (await store.cycles.items(cycle.id)).map((r) => r.durationMs).sort((a, b) => a - b);
    if (durations.length > 0) return durations[Math.floor(durations.length / 2)] as number;
  }
  return null;
}
