import { CliExit, EXIT, loadCliConfig } from '../../cli/context.ts';
import { type Output, palette, table } from '../../cli/output.ts';
import type { ResolvedConfig } from '../../config/load-config.ts';
import { silentLogger } from '../../core/logger.ts';
import type { LoopControl } from '../../runtime/loop-control.ts';
import { NO_SERVICES } from '../../runtime/service-control.ts';
import { systemClock } from '../../time/system-clock.ts';
import { decideLoopName, decisionTable } from './decide-admin-command.ts';
import type { DecideStatus, DecisionRecord, TargetStatus } from './decide-loop.ts';
import { decideLoopOf, NAMESPACE } from './decide-loop.ts';

interface StatusFlags {
  config?: string;
  store?: string;
  json?: boolean;
}

/** The seed's `auto status` fields (`--json`): the weakest target's, plus every target and the recent decisions. */
export interface SeedStatus {
  readonly loop: string;
  readonly status: {
    readonly health_score: number;
    readonly health_state: string;
    readonly active_agents: number;
    readonly work_queue_size: number;
    readonly completion_rate: number;
    readonly telemetry_volume: number;
    readonly target: string;
    readonly at: string;
  } | null;
  readonly targets: readonly TargetStatus[];
  readonly problems: DecideStatus['problems'];
  readonly recent_decisions: readonly DecisionRecord[];
}

/** The seed's status from what a decide loop stored (the weakest target is the headline). */
export function seedStatus(
  loop: string,
  latest: DecideStatus | undefined,
  recent: readonly DecisionRecord[],
): SeedStatus {
  const worst = latest?.targets.reduce<TargetStatus | undefined>(
    (w, t) => (!w || t.score < w.score ? t : w),
    undefined,
  );
  return {
    loop,
    status: worst
      ? {
          health_score: worst.score,
          health_state: worst.state,
          active_agents: worst.readings.activeAgents,
          work_queue_size: worst.readings.workQueueSize,
          completion_rate: worst.readings.completionRate,
          telemetry_volume: worst.readings.telemetryVolume,
          target: worst.target,
          at: new Date(worst.at).toISOString(),
        }
      : null,
    targets: latest?.targets ?? [],
    problems: latest?.problems ?? [],
    recent_decisions: recent,
  };
}

/**
 * `autoloop decide status [loop] [--json]`: the last analysis and the recent
 * decisions of a decide loop, read from the store (daemon running or not).
 * Exit 2 for a loop that is not a decide loop; 1 when it has not run yet.
 */
export async function decideStatusCommand(loop: string | undefined, flags: StatusFlags, output: Output): Promise<void> {
  const config = await loadCliConfig(flags, process.env, process.cwd());
  const name = decideLoopName(config, loop, 'status');
  const { openStore } = await import('../../storage/open-store.ts');
  const store = await openStore(config.store, { cwd: config.dir });
  let latest: DecideStatus | undefined;
  let recent: DecisionRecord[];
  try {
    latest = (await store.documents.get(NAMESPACE, `${name}/latest`))?.value as DecideStatus | undefined;
    const entries = await store.journals.read(`decide:${name}`, { limit: 100_000 });
    recent = entries
      .slice(-10)
      .reverse()
      .map((e) => e.value as DecisionRecord);
  } finally {
    await store.close();
  }
  if (!latest) {
    throw new CliExit(EXIT.failed, `decide status: loop "${name}" has not run yet (try: autoloop run ${name})`);
  }
  const status = seedStatus(name, latest, recent);
  if (flags.json) {
    output.out(JSON.stringify({ data: { status: status.status }, ...status }, null, 2));
    return;
  }
  const style = palette(output);
  output.out(style.bold(`decide ${name}: last cycle ${new Date(latest.at).toISOString()}`));
  output.out(
    table(
      ['target', 'score', 'state', 'completion', 'agents', 'queue', 'telemetry'],
      latest.targets.map((t) => [
        t.target,
        String(t.score),
        t.state,
        t.readings.completionRate.toFixed(2),
        String(t.readings.activeAgents),
        String(t.readings.workQueueSize),
        String(t.readings.telemetryVolume),
      ]),
    ),
  );
  for (const p of latest.problems) output.out(`skipped ${p.file}: ${p.reason}`);
  if (recent.length > 0) {
    output.out('\nrecent decisions');
    output.out(decisionTable(recent));
  }
}

/** The loops as configured, for reading only: analyze acts on nothing (no runtime here). */
function configControl(config: ResolvedConfig): LoopControl {
  const refuse = (): never => {
    throw new Error('decide analyze changes nothing');
  };
  const loop = (name: string) => {
    const found = config.loops.find((l) => l.name === name);
    if (!found) throw new Error(`unknown loop "${name}"`);
    return found;
  };
  return {
    names: () => config.loops.map((l) => l.name),
    concurrency: (name) => ({ limit: loop(name).policies.concurrency, adaptive: null }),
    paused: () => false,
    setConcurrency: refuse,
    pause: refuse,
    resume: refuse,
    run: refuse,
  };
}

/**
 * `autoloop decide analyze [loop] [--json]`: the sensors read now (the
 * store's cycle records and queue, the coordination directory), the score
 * and state of every target, and the decisions the rules propose, ranked,
 * with their confidence and rationale. Changes nothing and journals
 * nothing; a target loop's agents are its configured concurrency (no
 * runtime here to ask).
 */
export async function decideAnalyzeCommand(
  loop: string | undefined,
  flags: StatusFlags,
  output: Output,
): Promise<void> {
  const config = await loadCliConfig(flags, process.env, process.cwd());
  const name = decideLoopName(config, loop, 'analyze');
  const decide = decideLoopOf(config.loops.find((l) => l.name === name) ?? {});
  if (!decide) throw new CliExit(EXIT.failed, `decide analyze: loop "${name}" was not built by the decide recipe`);
  const { openStore } = await import('../../storage/open-store.ts');
  const store = await openStore(config.store, { cwd: config.dir });
  let analysis: Awaited<ReturnType<typeof decide.analyze>>;
  try {
    decide.attach({
      store,
      clock: systemClock,
      logger: silentLogger,
      governor: () => undefined,
      definitions: config.loops,
      control: configControl(config),
      dependencies: new Map(),
      services: NO_SERVICES,
    });
    analysis = await decide.analyze();
  } finally {
    decide.detach();
    await store.close();
  }
  if (flags.json) {
    output.out(JSON.stringify({ loop: name, ...analysis }, null, 2));
    return;
  }
  output.out(
    table(
      ['target', 'score', 'state', 'completion', 'agents', 'queue', 'telemetry'],
      analysis.targets.map((t) => [
        t.target,
        String(t.score),
        t.state,
        t.readings.completionRate.toFixed(2),
        String(t.readings.activeAgents),
        String(t.readings.workQueueSize),
        String(t.readings.telemetryVolume),
      ]),
    ),
  );
  for (const p of analysis.problems) output.out(`skipped ${p.file}: ${p.reason}`);
  output.out(analysis.decisions.length === 0 ? '\nno decisions' : '\ndecisions');
  if (analysis.decisions.length > 0) {
    output.out(
      table(
        ['type', 'target', 'priority', 'confidence', 'rationale'],
        analysis.decisions.map((d) => [d.type, d.target, String(d.priority), String(d.confidence), d.rationale]),
      ),
    );
  }
}
