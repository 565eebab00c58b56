import type { Command } from 'commander';
import { CliExit, type ConfigFlags, EXIT, loadCliConfig, requireLoop } from '../context.ts';
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
    .option('--store <url>', 'store URL, overrides `store:`')
    .option('-n, --limit <n>', 'how many records', '20')
    .option('--json', 'print records (with their item results) as JSON')
    .action(async (loop: string, flags: CyclesFlags) => {
      const limit = Number(flags.limit);
      if (!Number.isInteger(limit) || limit < 1) {
        throw new CliExit(EXIT.usage, `--limit: expected a whole number >= 1, got "${flags.limit}"`);
      }
      const config = await loadCliConfig(flags, process.env, process.cwd());
      requireLoop(config, loop, 'cycles');
      const { openStore } = await import('../../storage/open-store.ts');
      const store = await openStore(config.store, { cwd: config.dir });
      try {
        const records = await store.cycles.list(loop, { limit });
        if (flags.json) {
          const withItems = await Promise.all(
            records.map(async (r) => ({ ...r, items: await store.cycles.items(r.id) })),
          );
          output.out(JSON.stringify(withItems, null, 2));
          return;
        }
        if (records.length === 0) {
          output.out(`no cycles recorded for ${loop} yet`);
          return;
        }
        output.out(table(['cycle', 'started', 'trigger', 'took', 'ok/planned', 'outcome'], records.map(cycleRow)));
      } finally {
        await store.close();
      }
    });
}
