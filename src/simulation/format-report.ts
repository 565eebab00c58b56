import { formatDuration } from '../time/duration.ts';
import { formatPercent, type LoopReport, type Percentiles, type SimulationReport } from './report.ts';

/** Timeline lines shown in the human report; the JSON report has them all. */
const TIMELINE_LINES = 12;

/** The human form of a report: summary per loop and in total, takeovers, breakers, a short fault timeline, the SLO verdict. */
export function formatReport(report: SimulationReport): string {
  const lines: string[] = [];
  lines.push(
    `simulated ${formatDuration(report.durationMs)} from ${report.startAt}, ${report.instances} instance(s) (${report.incarnations} started), faults ${report.faults}, seed ${report.seed}`,
  );
  for (const m of report.models) lines.push(`  model ${m.loop}: ${m.summary} (${m.source})`);
  lines.push('');
  for (const loop of report.loops) lines.push(...loopLines(loop.loop, loop));
  if (report.loops.length > 1) lines.push(...loopLines('total', report.total));
  const t = report.takeover;
  lines.push(
    `takeover: ${t.crashes} crash(es), ${t.orphanedItems} item(s) left behind, taken over in p50 ${ms(t.ms.p50)} / p99 ${ms(t.ms.p99)} / max ${ms(t.ms.max)}${t.notTakenOver > 0 ? `; ${t.notTakenOver} never taken over` : ''}`,
  );
  const breakers = report.breakers.filter((b) => b.openings > 0);
  lines.push(
    breakers.length === 0
      ? 'breakers: none opened'
      : `breakers: ${breakers.map((b) => `${b.breaker} opened ${b.openings}x, open ${ms(b.openMs)} in all`).join('; ')}`,
  );
  const { notReady } = report;
  lines.push(
    notReady.spells === 0
      ? 'readiness: never degraded'
      : `readiness: degraded ${notReady.spells}x, ${ms(notReady.ms)} in all over the instances (a breaker open)`,
  );
  for (const s of report.services) lines.push(serviceLine(s));
  if (report.itemsInFlightAtEnd > 0)
    lines.push(`items in flight at the end (planned during the drain): ${report.itemsInFlightAtEnd}`);
  lines.push('', `faults (${report.timeline.length}):`);
  for (const entry of report.timeline.slice(0, TIMELINE_LINES)) {
    lines.push(
      `  ${clockText(entry.at)}  ${entry.kind.padEnd(12)} ${entry.detail}${entry.followed ? ` -> ${entry.followed}` : ''}`,
    );
  }
  if (report.timeline.length > TIMELINE_LINES)
    lines.push(`  ... ${report.timeline.length - TIMELINE_LINES} more (--json lists them all)`);
  lines.push('');
  if (!report.slo.declared) lines.push('slo: none declared (add `slo:` to the config to gate on this run)');
  for (const c of report.slo.checks)
    lines.push(`slo ${c.key}: ${c.ok ? 'ok  ' : 'FAIL'} ${c.actual} (target ${c.target})`);
  lines.push(report.slo.ok ? 'verdict: PASS' : 'verdict: FAIL');
  return lines.join('\n');
}

function loopLines(name: string, r: Omit<LoopReport, 'loop'>): string[] {
  const { ticks, items } = r;
  const reasons = Object.entries(ticks.skippedByReason)
    .map(([reason, n]) => `${reason} ${n}`)
    .join(', ');
  const runRatio = ticks.due === 0 ? '' : ` (${formatPercent(ticks.run / ticks.due)})`;
  return [
    `${name}`,
    `  ticks  due ${ticks.due}, run ${ticks.run}${runRatio}, skipped ${ticks.skipped}${reasons ? ` [${reasons}]` : ''}, unexplained ${ticks.unexplained}`,
    `  items  planned ${items.planned}, succeeded ${items.succeeded}, failed ${items.failed}, skipped ${items.skipped}, lost ${items.lost}, duplicates ${items.duplicates}${duplicateKinds(items)}`,
    ...(items.reRuns > 0
      ? [`  re-run ${items.reRuns} after an unacknowledged success (at least once): ${reRunText(items)}`]
      : []),
    `  cycle  ${pct(r.cycleMs)}; lateness ${pct(r.latenessMs)}`,
  ];
}

function serviceLine(s: SimulationReport['services'][number]): string {
  const copies = s.copies > 1 ? ` (${s.copies} copies)` : '';
  const how = [
    s.memoryRestarts > 0 && `${s.memoryRestarts} restarted by the memory watch`,
    s.oomKills > 0 && `${s.oomKills} OOM-killed`,
  ].filter(Boolean);
  const leaks = `${s.leaks} leak(s)${how.length > 0 ? ` (${how.join(', ')})` : ''}`;
  const stopped = s.stopped > 0 ? `; ${s.stopped} stopped for good` : '';
  return `service ${s.service}${copies}: ${s.crashes} crash(es), ${leaks}, ${s.restarts} restart(s), down ${ms(s.downMs)} in all${stopped}`;
}

function duplicateKinds(items: LoopReport['items']): string {
  if (items.duplicates === 0) return '';
  const kinds = [
    items.storedTwice > 0 && `${items.storedTwice} stored twice`,
    items.overlappingLeases > 0 && `${items.overlappingLeases} started under another run's valid lease`,
  ].filter(Boolean);
  return kinds.length > 0 ? ` (${kinds.join(', ')})` : ' (run again after a stored result)';
}

function reRunText(items: LoopReport['items']): string {
  const { crash, storeOutage, leaseLapsed } = items.reRunCauses;
  return [
    crash > 0 && `${crash} killed before writing the result`,
    storeOutage > 0 && `${storeOutage} result write failed in a store outage`,
    leaseLapsed > 0 && `${leaseLapsed} lease lapsed before the write`,
  ]
    .filter(Boolean)
    .join(', ');
}

function pct(p: Percentiles): string {
  return `p50 ${ms(p.p50)} / p99 ${ms(p.p99)} / max ${ms(p.max)}`;
}

function ms(value: number): string {
  return value < 1000 ? `${value} ms` : `${(value / 1000).toFixed(value < 10_000 ? 2 : 1)} s`;
}

/** `3d 04:05:06` since the start. */
function clockText(atMs: number): string {
  const s = Math.floor(atMs / 1000);
  const d = Math.floor(s / 86_400);
  const hh = String(Math.floor((s % 86_400) / 3600)).padStart(2, '0');
  const mm = String(Math.floor((s % 3600) / 60)).padStart(2, '0');
  const ss = String(s % 60).padStart(2, '0');
  return `${d}d ${hh}:${mm}:${ss}`;
}
