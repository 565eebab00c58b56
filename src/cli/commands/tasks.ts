import type { Command } from 'commander';
import { PRIORITIES } from '../../core/work-item.ts';
import type { TasksView } from '../../runtime/runtime.ts';
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
import { humanSeconds, type Output, palette, relativeTime, table } from '../output.ts';
import { storeTasksView } from '../tasks-view.ts';

interface TasksFlags extends DaemonFlags {
  limit: string;
  json?: boolean;
}

type Sourced = TasksView & { source: 'daemon' | 'store'; note: string | null };

export function registerTasks(program: Command, output: Output): void {
  program
    .command('tasks')
    .description('the work queue: items by priority and by loop, estimated time to drain, the next items')
    .option('-c, --config <file>', 'config file (default: $AUTOLOOP_CONFIG or ./autoloop.yaml)')
    .option('--store <url>', 'store URL, overrides `store:` (for the store view); alone, no config file is needed')
    .option('--pid-file <file>', 'pidfile of one daemon (default: the instances of the config, .autoloop/instances/)')
    .option(...INSTANCE_OPTION)
    .option('-n, --limit <n>', 'how many queued items to list', '20')
    .option('--json', 'print as JSON (up to 100 items)')
    .addHelpText(
      'after',
      `
From the running daemon's /tasks, else from the store. The estimate per loop
is queued items × recent median item time / concurrency; loops drain in
parallel, so the total is the longest loop's estimate.`,
    )
    .action(async (flags: TasksFlags) => {
      const limit = Number(flags.limit);
      if (!Number.isInteger(limit) || limit < 0) {
        throw new CliExit(EXIT.usage, `--limit: expected a whole number >= 0, got "${flags.limit}"`);
      }
      const view = await tasksView(flags);
      if (flags.json) output.out(JSON.stringify(view, null, 2));
      else printTasks(view, limit, output);
    });
}

async function tasksView(flags: TasksFlags): Promise<Sourced> {
  const daemon = anyInstance(locateInstances(flags, process.env, process.cwd()), flags.instance, 'tasks');
  let note: string | null = daemon.kind === 'stopped' ? null : notRunning(daemon);
  if (daemon.kind === 'running' && daemon.state?.url) {
    try {
      const response = await daemonRequest<TasksView>(daemon.state.url, '/tasks');
      if (response.status === 200) return { source: 'daemon', note: null, ...response.body };
      note = `the daemon (pid ${daemon.pid}) answered /tasks with ${errorText(response)}; showing the store`;
    } catch (error) {
      if (!(error instanceof CliExit)) throw error;
      note = `the daemon (pid ${daemon.pid}) did not answer: ${error.message}; showing the store`;
    }
  }
  const { config } = await loadReadConfig(flags, process.env, process.cwd());
  const { openStore } = await import('../../storage/open-store.ts');
  const store = await openStore(config.store, { cwd: config.dir });
  try {
    return { source: 'store', note, ...(await storeTasksView(config, store)) };
  } finally {
    await store.close();
  }
}

function printTasks(view: Sourced, limit: number, output: Output): void {
  const style = palette(output);
  output.out(style.bold(`task queue (from the ${view.source}): ${view.total} item(s)`));
  if (view.note) output.out(style.dim(`note: ${view.note}`));
  // Every named priority, zeros included, as seed 000 shows them; then any numeric ones.
  const counts = new Map<string, number>(Object.keys(PRIORITIES).map((p) => [p, 0]));
  for (const p of view.byPriority) counts.set(p.priority, p.count);
  output.out('\nby priority');
  output.out(
    table(
      ['priority', 'queued'],
      [...counts].map(([p, n]) => [p, String(n)]),
    ),
  );
  if (view.byLoop.length > 0) {
    output.out('\nby loop');
    output.out(
      table(
        ['loop', 'queued', 'estimated'],
        view.byLoop.map((l) => [l.loop, String(l.count), estimate(l.estimatedSeconds)]),
      ),
    );
    const known = view.byLoop.flatMap((l) => (l.estimatedSeconds === null ? [] : [l.estimatedSeconds]));
    const total = known.length > 0 ? `~${humanSeconds(Math.max(...known))}` : 'unknown (no item timings yet)';
    output.out(`\nestimated time to drain: ${total}`);
  }
  const shown = view.items.slice(0, limit);
  const now = systemClock.now();
  if (shown.length > 0) {
    output.out(`\nnext ${shown.length} item(s)`);
    output.out(
      table(
        ['loop', 'key', 'priority', 'enqueued', 'claimed by'],
        shown.map((i) => [i.loop, i.key, i.priority, relativeTime(i.enqueuedAt, now), i.claimedBy ?? '-']),
      ),
    );
  }
}

function estimate(seconds: number | null): string {
  return seconds === null ? '-' : `~${humanSeconds(seconds)}`;
}
