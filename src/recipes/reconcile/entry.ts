import type { RecipeEntry } from '../registry.ts';

/** The reconcile recipe as the registry lists it; its code (and the AWS SDK) loads on first use. */
export const reconcileEntry: RecipeEntry = {
  name: 'reconcile',
  description:
    'every hour: HAVE (a directory, an S3 bucket) vs SHOULD (a coverage spec) -> gaps by priority -> collectors under a time budget',
  load: () => import('./recipe.ts').then((m) => m.reconcile as never),
  commands: (program, output) => {
    program
      .command('gaps <loop>')
      .description("a reconcile loop's gaps: by priority, by source, estimated time (from the store)")
      .option('-c, --config <file>', 'config file (default: $AUTOLOOP_CONFIG or ./autoloop.yaml)')
      .option('--store <url>', 'store URL, overrides `store:`')
      .option('-n, --limit <n>', 'how many gaps to list', '20')
      .option(
        '--json',
        'print the whole report as JSON (the gaps.json layout of the original data-collection controller)',
      )
      .action(async (loop: string, flags: { config?: string; store?: string; limit: string; json?: boolean }) => {
        const { gapsCommand } = await import('./gaps-command.ts');
        await gapsCommand(loop, flags, output);
      });
  },
  cliStatus: {
    read: async (store, loops) => (await import('./status-lines.ts')).statusFromStore(store, loops),
    lines: async (status) => (await import('./status-lines.ts')).statusLines(status),
  },
};
