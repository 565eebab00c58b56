/**
 * autoloop's own telemetry of one loop, as the seed's four readings:
 *
 * - completion rate: succeeded / (succeeded + failed) items over the loop's
 *   last `cycles` cycle records (1 when none finished an item);
 * - active agents: the loop's concurrency now (the control's, else the
 *   adaptive limit, else the configured concurrency);
 * - work queue size: the loop's items in the store's work queue;
 * - telemetry volume: how many of those cycle records there are.
 *
 * Besides: the p95 latency of the loop's governor window (for the rationale).
 */
import type { ResolvedLoop } from '../../core/loop.ts';
import type { LoopGovernor } from '../../policies/loop-governor.ts';
import type { Store } from '../../storage/store.ts';
import type { Readings } from './health-score.ts';

export interface LoopReading {
  readonly readings: Readings;
  readonly p95Ms: number | null;
}

export interface RuntimeSensorSources {
  readonly store: Store;
  governor(loop: string): LoopGovernor | undefined;
  /** The loop's concurrency now, when a control is attached. */
  concurrency(loop: string): number | undefined;
  definition(loop: string): ResolvedLoop | undefined;
}

export async function readLoop(loop: string, s: RuntimeSensorSources, cycles = 20): Promise<LoopReading> {
  const [records, depth] = await Promise.all([s.store.cycles.list(loop, { limit: cycles }), s.store.queue.depth(loop)]);
  let ok = 0;
  let failed = 0;
  for (const r of records) {
    ok += r.counts.succeeded;
    failed += r.counts.failed;
  }
  const governor = s.governor(loop);
  const agents = s.concurrency(loop) ?? governor?.adaptive?.limit ?? s.definition(loop)?.policies.concurrency ?? 0;
  const latency = governor?.latency.snapshot();
  return {
    readings: {
      completionRate: ok + failed === 0 ? 1 : ok / (ok + failed),
      activeAgents: agents,
      workQueueSize: depth.filter((d) => d.loop === loop).reduce((n, d) => n + d.count, 0),
      telemetryVolume: records.length,
    },
    p95Ms: latency && latency.count > 0 ? latency.p95 : null,
  };
}
