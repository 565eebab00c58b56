import type { Command } from 'commander';
import { priorityName } from '../../core/work-item.ts';
import { systemClock } from '../../time/system-clock.ts';
import { type ConfigFlags, loadCliConfig, requireLoop } from '../context.ts';
import { type Output, relativeTime, table } from '../output.ts';

interface PlanFlags extends ConfigFlags {
  json?: boolean;
}

export function registerPlan(program: Command, output: Output): void {
  program
    .command('plan <loop>')
    .description('what the next cycle of <loop> would do: runs observe and plan, acts on nothing, writes nothing')
    .option('-c, --config <file>', 'config file (default: $AUTOLOOP_CONFIG or ./autoloop.yaml)')
    .option('--json', 'print the planned work items as JSON')
    .action(async (loop: string, flags: PlanFlags) => {
      const config = await loadCliConfig(flags, process.env, process.cwd());
      requireLoop(config, loop, 'plan');
      const [{ createRuntime }, { runtimeOptionsFromConfig }, { silentLogger }] = await Promise.all([
        import('../../runtime/runtime.ts'),
        import('../../runtime/from-config.ts'),
        import('../../core/logger.ts'),
      ]);
      // A memory store: a dry run must not touch the deployment's state.
      const runtime = createRuntime(
        runtimeOptionsFromConfig(config, {
          store: 'memory://',
          http: false,
          observability: {},
          logger: silentLogger,
          runnables: [],
        }),
      );
      await runtime.start({ schedule: false });
      try {
        const { tick, items } = await runtime.plan(loop);
        if (flags.json) {
          output.out(JSON.stringify({ loop, tick, items }, null, 2));
          return;
        }
        const when = relativeTime(tick.scheduledAt, systemClock.now());
        output.out(`next cycle of ${loop} (tick ${when}): ${items.length} item(s)`);
        if (items.length > 0) {
          const rows = items
            .slice()
            .sort((a, b) => a.priority - b.priority)
            .map((i) => [priorityName(i.priority), i.key, truncate(JSON.stringify(i.payload), 60)]);
          output.out(table(['priority', 'key', 'payload'], rows));
        }
      } finally {
        await runtime.stop();
      }
    });
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
