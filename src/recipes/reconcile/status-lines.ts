/**
 * The reconcile recipe in `autoloop status`: per loop, the last inventory
 * (objects, size, age of the scan) and the gaps by priority, with the
 * coverage and the estimated time. One shape, `ReconcileStatus`, served in
 * the daemon's `/status` (`recipes.reconcile.status`) and built from the
 * store when no daemon runs, so the CLI prints the same either way.
 */
import { humanSeconds } from '../../cli/output.ts';
import { PRIORITIES } from '../../core/work-item.ts';
import type { Store } from '../../storage/store.ts';
import { formatBytes } from './format-bytes.ts';
import type { GapReport } from './gap-report.ts';
import type { InventorySummary } from './inventory.ts';

/** The store namespace of the recipe's documents. */
export const NAMESPACE = 'reconcile';

export interface ReconcileLoopStatus {
  readonly loop: string;
  readonly inventory: InventorySummary | null;
  readonly gaps: {
    readonly generated: string;
    readonly total: number;
    readonly byPriority: GapReport['byPriority'];
    readonly bySource: GapReport['bySource'];
    readonly estimatedMinutes: number;
    readonly coverageRatio: number;
  } | null;
}

export interface ReconcileStatus {
  readonly loops: readonly ReconcileLoopStatus[];
}

/** One loop's status from its last report and inventory (either may be missing before the first cycle). */
export function loopStatus(
  loop: string,
  report: GapReport | null,
  inventory: InventorySummary | null,
): ReconcileLoopStatus {
  return {
    loop,
    inventory,
    gaps: report
      ? {
          generated: report.generated,
          total: report.total,
          byPriority: report.byPriority,
          bySource: report.bySource,
          estimatedMinutes: report.estimatedMinutes,
          coverageRatio: report.coverage.ratio,
        }
      : null,
  };
}

/** The status of `loops` as the store keeps their last report and inventory. */
export async function statusFromStore(store: Store, loops: readonly string[]): Promise<ReconcileStatus> {
  return {
    loops: await Promise.all(
      loops.map(async (loop) => {
        const [report, inventory] = await Promise.all([
          store.documents.get(NAMESPACE, `${loop}/report`),
          store.documents.get(NAMESPACE, `${loop}/inventory`),
        ]);
        return loopStatus(
          loop,
          (report?.value as GapReport | undefined) ?? null,
          (inventory?.value as InventorySummary | undefined) ?? null,
        );
      }),
    ),
  };
}

/**
 * Text lines for `autoloop status`, e.g.
 * `reconcile daily: 42 gaps (critical 2, high 10, medium 30, low 0), coverage 99.2 %, ~12m to collect`
 * and `  inventory dir ./data: 118,024 objects, 1.20 GB, scanned 2026-01-01T10:00:00.000Z in 3s`.
 */
export function statusLines(status: unknown): string[] {
  const loops = (status as Partial<ReconcileStatus> | null)?.loops;
  if (!Array.isArray(loops)) return [];
  const lines: string[] = [];
  for (const s of loops as ReconcileLoopStatus[]) {
    const g = s.gaps;
    if (g) {
      const byPriority = Object.keys(PRIORITIES)
        .map((p) => `${p} ${g.byPriority[p as keyof typeof PRIORITIES] ?? 0}`)
        .join(', ');
      const coverage = `${(g.coverageRatio * 100).toFixed(1)} %`;
      lines.push(
        `reconcile ${s.loop}: ${g.total} gap(s) (${byPriority}), coverage ${coverage}, ~${g.estimatedMinutes} min to collect; report ${g.generated}`,
      );
    } else lines.push(`reconcile ${s.loop}: no report yet (its first cycle has not run)`);
    const inv = s.inventory;
    if (inv) {
      lines.push(
        `  inventory ${inv.description}: ${inv.objects.toLocaleString('en-US')} objects, ${formatBytes(inv.bytes)}, scanned ${new Date(inv.scannedAt).toISOString()} in ${humanSeconds(inv.tookMs / 1000)}`,
      );
    } else lines.push('  inventory: not scanned yet');
  }
  return lines;
}
