import type { ResolvedConfig } from '../config/load-config.ts';
import { buildTasksView, type TasksView } from '../runtime/tasks-view.ts';
import type { Store } from '../storage/store.ts';

/** How many recent cycles to look through for a finished one with item durations. */
const RECENT_CYCLES = 10;

/**
 * The `tasks` view read from the store when no daemon answers: the same
 * shape as the daemon's `/tasks`. The estimate per loop is queued items ×
 * the median item duration of its last finished cycle / its concurrency
 * (null when no finished cycle ran an item).
 */
export function storeTasksView(config: ResolvedConfig, store: Store): Promise<TasksView> {
  return buildTasksView(store.queue, async (loop, count) => {
    const concurrency = config.loops.find((l) => l.name === loop)?.policies.concurrency ?? 1;
    const medianMs = await medianItemMs(store, loop);
    return medianMs === null ? null : (count * medianMs) / concurrency;
  });
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
