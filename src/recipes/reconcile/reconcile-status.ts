import type { HealthCheck } from '../../runtime/health.ts';
import type { Clock } from '../../time/clock.ts';
import { formatDuration } from '../../time/duration.ts';
import type { ReconcileLoop } from './reconcile-loop.ts';
import { loopStatus, type ReconcileStatus } from './status-lines.ts';

/** How long the reachability probe may take before it counts as unreachable. */
const PROBE_TIMEOUT_MS = 5_000;

/**
 * Health components per loop (named `reconcile.<loop>.<check>` in /health):
 * - `inventory`: the source answers (a directory exists, the bucket lists);
 * - `freshness`: the last scan finished less than `health.maxInventoryAge`
 *   ago (the seed's "metrics file age < 24 h"), counted from start before
 *   the first scan.
 */
export function reconcileHealth(loops: readonly ReconcileLoop[], clock: Clock): Record<string, HealthCheck> {
  const since = clock.now();
  const checks: Record<string, HealthCheck> = {};
  for (const loop of loops) {
    checks[`${loop.name}.inventory`] = async (signal) => {
      const probe = AbortSignal.any([signal, AbortSignal.timeout(PROBE_TIMEOUT_MS)]);
      try {
        await loop.options.inventory.probe(probe);
        return { healthy: true, detail: `${loop.options.inventory.description} reachable` };
      } catch (error) {
        return { healthy: false, detail: error instanceof Error ? error.message : String(error) };
      }
    };
    checks[`${loop.name}.freshness`] = () => {
      const last = loop.inventory?.scannedAt;
      const age = clock.now() - (last ?? since);
      const max = loop.options.maxInventoryAgeMs;
      const healthy = age <= max;
      const detail =
        last === undefined
          ? `no inventory scan yet (${formatDuration(age)} since start, limit ${formatDuration(max)})`
          : `last scan ${formatDuration(age)} ago (limit ${formatDuration(max)})${loop.scanError ? `; last attempt failed: ${loop.scanError}` : ''}`;
      return { healthy, detail, lastScanAt: last === undefined ? null : new Date(last).toISOString() };
    };
  }
  return checks;
}

/** `/status` → `recipes.reconcile.status`: per loop, the last inventory and the gaps by priority. */
export function reconcileStatus(loops: readonly ReconcileLoop[]): ReconcileStatus {
  return { loops: loops.map((loop) => loopStatus(loop.name, loop.report, loop.inventory)) };
}
