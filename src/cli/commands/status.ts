import type { Command } from 'commander';
import type { RuntimeSnapshot } from '../../runtime/runtime.ts';
import { formatDuration } from '../../time/duration.ts';
import { systemClock } from '../../time/system-clock.ts';
import { CliExit, EXIT, loadCliConfig } from '../context.ts';
import { type DaemonFlags, daemonRequest, errorText, locateDaemon, notRunning } from '../daemon-client.ts';
import type { DaemonStatus } from '../daemon-files.ts';
import { humanSeconds, type Output, type Palette, palette, table } from '../output.ts';
import { daemonStatusView, type LoopStatus, type StatusView, storeStatusView } from '../status-view.ts';

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
    .option('--store <url>', 'store URL, overrides `store:` (for the store view)')
    .option('--pid-file <file>', 'pidfile of the daemon (default <config dir>/.autoloop/autoloop.pid)')
    .option('--json', 'print as JSON')
    .addHelpText(
      'after',
      `
With a running daemon the report comes from its /status (live: paused, in
flight, breakers); otherwise from the store (what every process records).
Exit 0 when a daemon runs or the store has a live instance, 1 when nothing runs.`,
    )
    .action(async (flags: StatusFlags) => {
      const view = await statusView(flags);
      if (flags.json) output.out(JSON.stringify(view, null, 2));
      else {
        printStatus(view, output, palette(output));
        for (const line of await recipeLines(view)) output.out(line);
      }
      process.exitCode = view.running || view.instances.length > 0 ? EXIT.ok : EXIT.failed;
    });
}

async function statusView(flags: StatusFlags): Promise<StatusView> {
  const daemon = locateDaemon(flags, process.env, process.cwd());
  const fromDaemon = await askDaemon(daemon);
  if ('view' in fromDaemon) return fromDaemon.view;
  const config = await loadCliConfig(flags, process.env, process.cwd());
  const { openStore } = await import('../../storage/open-store.ts');
  const store = await openStore(config.store, { cwd: config.dir });
  try {
    const pid = daemon.kind === 'running' ? daemon.pid : null;
    return await storeStatusView(config, store, systemClock.now(), { pid, note: fromDaemon.note });
  } finally {
    await store.close();
  }
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

function printStatus(view: StatusView, output: Output, style: Palette): void {
  if (view.source === 'daemon') {
    output.out(
      `${style.green('running')}: pid ${view.pid}, up ${humanSeconds(view.uptimeS ?? 0)}, ${view.url} (store ${view.store})`,
    );
  } else {
    const head = view.running ? style.yellow(`daemon pid ${view.pid} runs`) : style.yellow('no daemon running here');
    output.out(`${head}; from the store ${view.store}: ${view.instances.length} live instance(s)`);
  }
  if (view.note) output.out(style.dim(`note: ${view.note}`));
  output.out('');
  output.out(
    table(
      ['loop', 'schedule', 'state', 'last cycle', 'next run', 'in flight', 'queued'],
      view.loops.map((l) => loopRow(l, style)),
    ),
  );
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
        view.instances.map((i) => [i.id, i.startedAt, i.lastBeatAt, i.loops.join(',')]),
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

function loopRow(l: LoopStatus, style: Palette): string[] {
  const state = l.paused ? style.yellow('paused') : l.running ? 'running' : l.running === false ? 'idle' : '-';
  const last = l.lastCycle;
  const lastText = last
    ? `${outcomeColour(last.kind, style)(last.outcome)} at ${last.startedAt}${last.durationMs === null ? '' : ` (${formatDuration(last.durationMs)})`}`
    : '-';
  const inFlight = l.inFlight === null ? '-' : `${l.inFlight}/${l.concurrency}`;
  return [l.name, l.schedule, state, lastText, l.nextRunAt ?? '-', inFlight, String(l.queued)];
}

function outcomeColour(kind: string, style: Palette): (text: string) => string {
  if (kind === 'ok') return style.green;
  if (kind === 'failed') return style.red;
  return style.yellow;
}
