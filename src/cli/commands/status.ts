import type { Command } from 'commander';
import { priorityName } from '../../core/work-item.ts';
import { createTrigger } from '../../scheduling/trigger.ts';
import { openStore, redactStoreUrl } from '../../storage/open-store.ts';
import { systemClock } from '../../time/system-clock.ts';
import { type ConfigFlags, loadCliConfig } from '../context.ts';
import { type Output, outcomeText, table } from '../output.ts';

interface StatusFlags extends ConfigFlags {
  json?: boolean;
}

export function registerStatus(program: Command, output: Output): void {
  program
    .command('status')
    .description(
      "what the store says now: live instances (heartbeats), each loop's last cycle and next tick, leases held, queue by priority",
    )
    .option('-c, --config <file>', 'config file (default: $AUTOLOOP_CONFIG or ./autoloop.yaml)')
    .option('--store <url>', 'store URL, overrides `store:`')
    .option('--json', 'print as JSON')
    .action(async (flags: StatusFlags) => {
      const config = await loadCliConfig(flags, process.env, process.cwd());
      const store = await openStore(config.store, { cwd: config.dir });
      try {
        const now = systemClock.now();
        const instances = await store.instances.list(now);
        const leases = await store.leases.list(now);
        const depth = await store.queue.depth();
        const loops = await Promise.all(
          config.loops.map(async (loop) => {
            const { last, lastSuccessAt } = await store.cycles.summary(loop.name);
            const next = createTrigger(loop.trigger).next(now);
            return {
              name: loop.name,
              schedule: createTrigger(loop.trigger).description,
              last: last
                ? { id: last.id, tickId: last.tickId, outcome: outcomeText(last), startedAt: iso(last.startedAt) }
                : null,
              lastSuccessAt: lastSuccessAt === undefined ? null : iso(lastSuccessAt),
              nextRunAt: next === undefined ? null : iso(next),
              leases: leases.filter((l) => l.key.startsWith(`${loop.name}/`)).length,
              queued: depth.filter((d) => d.loop === loop.name).reduce((n, d) => n + d.count, 0),
            };
          }),
        );
        const queue = depth.map((d) => ({ loop: d.loop, priority: priorityName(d.priority), count: d.count }));
        const data = {
          store: redactStoreUrl(config.store),
          instances: instances.map((i) => ({
            ...i,
            startedAt: iso(i.startedAt),
            lastBeatAt: iso(i.lastBeatAt),
            expiresAt: iso(i.expiresAt),
          })),
          loops,
          queue,
        };
        if (flags.json) {
          output.out(JSON.stringify(data, null, 2));
          return;
        }
        output.out(`store ${data.store}; ${instances.length} live instance(s)`);
        if (instances.length > 0) {
          output.out(
            table(
              ['instance', 'started', 'last heartbeat', 'loops'],
              data.instances.map((i) => [i.id, i.startedAt, i.lastBeatAt, i.loops.join(',')]),
            ),
          );
        }
        output.out('');
        output.out(
          table(
            ['loop', 'schedule', 'last cycle', 'next run', 'leases', 'queued'],
            loops.map((l) => [
              l.name,
              l.schedule,
              l.last ? `${l.last.outcome} (${l.last.startedAt})` : '-',
              l.nextRunAt ?? '-',
              String(l.leases),
              String(l.queued),
            ]),
          ),
        );
        if (queue.length > 0) {
          output.out('');
          output.out(
            table(
              ['loop', 'priority', 'queued'],
              queue.map((q) => [q.loop, q.priority, String(q.count)]),
            ),
          );
        }
      } finally {
        await store.close();
      }
    });
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
