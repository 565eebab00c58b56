import type { Command } from 'commander';
import type { RuntimeSnapshot } from '../../runtime/runtime.ts';
import { formatDuration } from '../../time/duration.ts';
import { systemClock } from '../../time/system-clock.ts';
import { CliExit, EXIT, loadReadConfig } from '../context.ts';
import {
  anyInstance,
  type DaemonFlags,
  daemonRequest,
  errorText,
  INSTANCE_OPTION,
  locateInstances,
  notRunning,
} from '../daemon-client.ts';
import type { DaemonStatus } from '../daemon-files.ts';
import type { InstanceFile } from '../instance-files.ts';
import { humanSeconds, type Output, type Palette, palette, relativeTime, shortSchedule, table } from '../output.ts';
import {
  daemonStatusView,
  type LocalInstance,
  type LoopStatus,
  type StatusView,
  storeStatusView,
} from '../status-view.ts';

interface StatusFlags extends DaemonFlags {
  json?: boolean;
}

export function registerStatus(program: Command, output: Output): void {
  program
    .command('status')
    .description(
      "is it running (pid, uptime, url), each loop's last cycle and next run, breakers, queue by priority, live instances, and what recipes add (reconcile: gaps by priority, the last inventory)",
    )
    .option('-c, --config <file>', 'config file (default: $AUTOLOOP_CONFIG or ./autoloop.yaml)')
    .option('--store <url>', 'store URL, overrides `store:` (for the store view); alone, no config file is needed')
    .option('--pid-file <file>', 'pidfile of one daemon (default: the instances of the config, .autoloop/instances/)')
    .option(...INSTANCE_OPTION)
    .option('--json', 'print as JSON')
    .addHelpText(
      'after',
      `
With an instance of the config running on this machine (found through its
runtime file in .autoloop/instances/, foreground or background) the report
comes from its /status (live: paused, in flight, breakers); otherwise from
the store (what every process records). Several local instances are listed;
--instance picks the one asked. \`--store <url>\` alone reads that store
without a config file (loops are those the store has records of).
Times are ages on screen (3m ago, in 40s); --json has exact ISO times and ms.
Exit 0 when an instance runs or the store has a live instance, 1 when nothing runs.`,
    )
    .action(async (flags: StatusFlags) => {
      const view = await statusView(flags);
      if (flags.json) output.out(JSON.stringify(view, null, 2));
      else {
        printStatus(view, output, palette(output), systemClock.now());
        for (const line of await recipeLines(view)) output.out(line);
      }
      process.exitCode = view.running || view.instances.length > 0 ? EXIT.ok : EXIT.failed;
    });
}

async function statusView(flags: StatusFlags): Promise<StatusView> {
  const all = locateInstances(flags, process.env, process.cwd());
  const local = all.flatMap(localInstance);
  const daemon = anyInstance(all, flags.instance, 'status');
  const fromDaemon = await askDaemon(daemon);
  if ('view' in fromDaemon) return { ...fromDaemon.view, local };
  const { config, storeOnly } = await loadReadConfig(flags, process.env, process.cwd());
  const { openStore } = await import('../../storage/open-store.ts');
  const store = await openStore(config.store, { cwd: config.dir });
  try {
    const pid = daemon.kind === 'running' ? daemon.pid : null;
    const view = await storeStatusView(config, store, systemClock.now(), { pid, note: fromDaemon.note }, storeOnly);
    return { ...view, local };
  } finally {
    await store.close();
  }
}

/** What a runtime file says, without its token. */
function localInstance(status: DaemonStatus): LocalInstance[] {
  if (status.kind !== 'running') return [];
  const file = status.state as Partial<InstanceFile> | null;
  return [
    {
      pid: status.pid,
      instance: file?.instance ?? null,
      url: file?.url ?? null,
      startedAt: file?.startedAt ?? null,
      background: file?.pidFile != null,
    },
  ];
}

/** The daemon's own report, or why there is none. */
async function askDaemon(daemon: DaemonStatus): Promise<{ view: StatusView } | { note: string | null }> {
  if (daemon.kind === 'stopped') return { note: null };
  if (daemon.kind === 'stale' || !daemon.state?.url) return { note: notRunning(daemon) };
  const url = daemon.state.url;
  try {
    const response = await daemonRequest<RuntimeSnapshot>(url, '/status');
    if (response.status === 200) return { view: daemonStatusView(response.body, url) };
    return { note: `the daemon (pid ${daemon.pid}) answered /status with ${errorText(response)}; showing the store` };
  } catch (error) {
    if (!(error instanceof CliExit)) throw error;
    return { note: `the daemon (pid ${daemon.pid}) did not answer: ${error.message}; showing the store` };
  }
}

function printStatus(view: StatusView, output: Output, style: Palette, now: number): void {
  if (view.source === 'daemon') {
    output.out(
      `${style.green('running')}: pid ${view.pid}, up ${humanSeconds(view.uptimeS ?? 0)}, ${view.url} (store ${view.store})`,
    );
  } else {
    const head = view.running ? style.yellow(`pid ${view.pid} runs`) : style.yellow('no instance running here');
    output.out(`${head}; from the store ${view.store}: ${view.instances.length} live instance(s)`);
  }
  if (view.note) output.out(style.dim(`note: ${view.note}`));
  output.out('');
  output.out(
    table(
      ['loop', 'schedule', 'state', 'last cycle', 'next run', 'in flight', 'queued'],
      view.loops.map((l) => loopRow(l, style, now)),
    ),
  );
  if (view.local.length > 1) {
    output.out(`\ninstances on this machine: ${view.local.length}`);
    output.out(
      table(
        ['pid', 'instance', 'started', 'url', 'mode'],
        view.local.map((i) => [
          String(i.pid),
          i.instance ?? '-',
          i.startedAt ? relativeTime(i.startedAt, now) : '-',
          i.url ?? '-',
          i.background ? 'background' : 'foreground',
        ]),
      ),
    );
  }
  if (view.breakers.length > 0) {
    const colour = (s: string) => (s === 'open' ? style.red(s) : s === 'closed' ? style.green(s) : style.yellow(s));
    output.out(`\nbreakers: ${view.breakers.map((b) => `${b.name} ${colour(b.state)}`).join(', ')}`);
  }
  const queued = view.queue.reduce((n, q) => n + q.count, 0);
  output.out(`\nqueue: ${queued} item(s); leases held: ${view.leases}`);
  if (view.queue.length > 0) {
    output.out(
      table(
        ['loop', 'priority', 'queued'],
        view.queue.map((q) => [q.loop, q.priority, String(q.count)]),
      ),
    );
  }
  if (view.instances.length > 0) {
    output.out(`\ninstances (live heartbeats): ${view.instances.length}`);
    output.out(
      table(
        ['instance', 'started', 'last heartbeat', 'loops'],
        view.instances.map((i) => [
          i.id,
          relativeTime(i.startedAt, now),
          relativeTime(i.lastBeatAt, now),
          i.loops.join(','),
        ]),
      ),
    );
  }
}

/** Each recipe's own lines (e.g. reconcile's gaps and inventory), after a blank line. */
async function recipeLines(view: StatusView): Promise<string[]> {
  const names = Object.keys(view.recipes);
  if (names.length === 0) return [];
  const { recipeRegistry } = await import('../../recipes/registry.ts');
  const entries = new Map(
    recipeRegistry()
      .entries()
      .map((e) => [e.name, e]),
  );
  const lines: string[] = [];
  for (const name of names) {
    const status = view.recipes[name];
    const format = entries.get(name)?.cliStatus;
    if (status !== null && status !== undefined && format) lines.push(...(await format.lines(status)));
  }
  return lines.length > 0 ? ['', ...lines] : [];
}

function loopRow(l: LoopStatus, style: Palette, now: number): string[] {
  const state = l.paused ? style.yellow('paused') : l.running ? 'running' : l.running === false ? 'idle' : '-';
  const last = l.lastCycle;
  const lastText = last
    ? `${outcomeColour(last.kind, style)(last.outcome)} ${relativeTime(last.startedAt, now)}${last.durationMs === null ? '' : ` (took ${formatDuration(last.durationMs)})`}`
    : '-';
  const inFlight = l.inFlight === null ? '-' : `${l.inFlight}/${l.concurrency ?? '-'}`;
  const next = l.nextRunAt === null ? '-' : relativeTime(l.nextRunAt, now);
  return [l.name, shortSchedule(l.schedule), state, lastText, next, inFlight, String(l.queued)];
}

function outcomeColour(kind: string, style: Palette): (text: string) => string {
  if (kind === 'ok') return style.green;
  if (kind === 'failed') return style.red;
  return style.yellow;
}
