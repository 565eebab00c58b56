import type { Command } from 'commander';
import { systemClock } from '../../time/system-clock.ts';
import { CliExit, type ConfigFlags, EXIT, loadReadConfig, requireLoop } from '../context.ts';
import { cycleRow, type Output, table } from '../output.ts';

interface CyclesFlags extends ConfigFlags {
  limit: string;
  json?: boolean;
}

export function registerCycles(program: Command, output: Output): void {
  program
    .command('cycles <loop>')
    .description('recent cycle records of <loop> from the store, newest first (skipped cycles show their reason)')
    .option('-c, --config <file>', 'config file (default: $AUTOLOOP_CONFIG or ./autoloop.yaml)')
    .option('--store <url>', 'store URL, overrides `store:`; alone, no config file is needed')
    .option('-n, --limit <n>', 'how many records', '20')
    .option('--json', 'print records (with their item results) as JSON: epoch ms times, durations in ms')
    .addHelpText(
      'after',
      '\nOn screen the start is an age (3m ago) and the duration short (1.2s); --json has the exact values.',
    )
    .action(async (loop: string, flags: CyclesFlags) => {
      const limit = Number(flags.limit);
      if (!Number.isInteger(limit) || limit < 1) {
        throw new CliExit(EXIT.usage, `--limit: expected a whole number >= 1, got "${flags.limit}"`);
      }
      const { config, storeOnly } = await loadReadConfig(flags, process.env, process.cwd());
      if (!storeOnly) requireLoop(config, loop, 'cycles');
      const { openStore } = await import('../../storage/open-store.ts');
      const store = await openStore(config.store, { cwd: config.dir });
      try {
        const records = await store.cycles.list(loop, { limit });
        const now = systemClock.now();
        if (flags.json) {
          const withItems = await Promise.all(
            records.map(async (r) => ({ ...r, items: await store.cycles.items(r.id) })),
          );
          output.out(JSON.stringify(withItems, null, 2));
          return;
        }
        if (records.length === 0) {
          output.out(`no cycles recorded for ${loop}${storeOnly ? ' in this store' : ''} yet`);
          return;
        }
        output.out(
          table(
            ['cycle', 'started', 'trigger', 'took', 'ok/planned', 'outcome'],
            records.map((r) => cycleRow(r, now)),
          ),
        );
      } finally {
        await store.close();
      }
    });
}
