import { CliExit, EXIT, loadCliConfig } from '../../cli/context.ts';
import { humanSeconds, type Output, palette, table } from '../../cli/output.ts';
import { PRIORITIES } from '../../core/work-item.ts';
import { formatBytes } from './format-bytes.ts';
import type { GapReport } from './gap-report.ts';
import { NAMESPACE } from './status-lines.ts';

interface GapsFlags {
  config?: string;
  store?: string;
  limit: string;
  json?: boolean;
}

/**
 * `autoloop gaps <loop> [--json]`: the last gap report of a reconcile loop,
 * read from the store (so it answers whether or not the daemon runs), laid
 * out like the seed's `tasks` command: total, generated, by priority (zeros
 * included), by source, estimated time, coverage, the last inventory, and
 * the most urgent gaps. Exit 2 for a loop that is not a reconcile loop; 1
 * when it has no report yet.
 */
export async function gapsCommand(loop: string, flags: GapsFlags, output: Output): Promise<void> {
  const limit = Number(flags.limit);
  if (!Number.isInteger(limit) || limit < 0) {
    throw new CliExit(EXIT.usage, `--limit: expected a whole number >= 0, got "${flags.limit}"`);
  }
  const config = await loadCliConfig(flags, process.env, process.cwd());
  const loops = config.loops.filter((l) => l.recipe === 'reconcile').map((l) => l.name);
  if (!loops.includes(loop)) {
    throw new CliExit(
      EXIT.usage,
      `gaps: "${loop}" is not a reconcile loop in ${config.file}; reconcile loops: ${loops.join(', ') || '(none)'}`,
    );
  }
  const { openStore } = await import('../../storage/open-store.ts');
  const store = await openStore(config.store, { cwd: config.dir });
  let report: GapReport | undefined;
  try {
    report = (await store.documents.get(NAMESPACE, `${loop}/report`))?.value as GapReport | undefined;
  } finally {
    await store.close();
  }
  if (!report) {
    throw new CliExit(
      EXIT.failed,
      `gaps: loop "${loop}" has no report yet: its first cycle has not run (try: autoloop run ${loop})`,
    );
  }
  if (flags.json) {
    output.out(JSON.stringify(report, null, 2));
    return;
  }
  printReport(report, limit, output);
}

function printReport(r: GapReport, limit: number, output: Output): void {
  const style = palette(output);
  output.out(style.bold(`gaps of ${r.loop}: ${r.total}`));
  output.out(`generated ${r.generated} (${r.trigger})`);
  output.out('\nby priority');
  output.out(
    table(
      ['priority', 'gaps'],
      Object.keys(PRIORITIES).map((p) => [p, String(r.byPriority[p as keyof typeof PRIORITIES] ?? 0)]),
    ),
  );
  output.out('\nby source');
  output.out(
    table(
      ['source', 'gaps', 'expected', 'present', 'coverage'],
      r.coverage.sources.map((s) => [
        s.source,
        String(r.bySource[s.source] ?? 0),
        String(s.expected),
        String(s.present),
        `${(s.ratio * 100).toFixed(1)}%`,
      ]),
    ),
  );
  output.out(`\nestimated time: ~${humanSeconds(r.estimatedSeconds)} (${r.estimatedMinutes} minutes)`);
  output.out(`coverage: ${r.coverage.present}/${r.coverage.expected} (${(r.coverage.ratio * 100).toFixed(1)}%)`);
  const inv = r.inventory;
  output.out(
    `inventory: ${inv.description}: ${inv.objects.toLocaleString('en-US')} objects, ${formatBytes(inv.bytes)}, scanned ${new Date(inv.scannedAt).toISOString()} in ${humanSeconds(inv.tookMs / 1000)}`,
  );
  const shown = r.tasks.slice(0, limit);
  if (shown.length > 0) {
    output.out(`\nmost urgent ${shown.length}`);
    output.out(
      table(
        ['priority', 'reason', 'source', 'key', 'detail'],
        shown.map((t) => [t.priority, t.reason, t.source, t.key, t.detail]),
      ),
    );
  }
}
