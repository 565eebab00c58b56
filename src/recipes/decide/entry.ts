import type { RecipeEntry } from '../registry.ts';

/** The decide recipe as the registry lists it; its code loads on first use. */
export const decideEntry: RecipeEntry = {
  name: 'decide',
  description:
    "every 30 s: sense loops and the seed's coordination directory -> weighted health score -> ranked decisions with a confidence -> scale a loop's concurrency",
  load: () => import('./recipe.ts').then((m) => m.decide as never),
  commands: (program, output) => {
    const decide = program.command('decide').description("a decide loop's health score, state and decisions");
    decide
      .command('status [loop]')
      .description("the last analysis and recent decisions (from the store); --json has the seed's status fields")
      .option('-c, --config <file>', 'config file (default: $AUTOLOOP_CONFIG or ./autoloop.yaml)')
      .option('--store <url>', 'store URL, overrides `store:`')
      .option('--json', 'print JSON: data.status.health_score, health_state, active_agents, work_queue_size, ...')
      .action(async (loop: string | undefined, flags: { config?: string; store?: string; json?: boolean }) => {
        const { decideStatusCommand } = await import('./decide-command.ts');
        await decideStatusCommand(loop, flags, output);
      });
    decide
      .command('analyze [loop]')
      .description('read the sensors now: scores, states and the decisions the rules propose (changes nothing)')
      .option('-c, --config <file>', 'config file (default: $AUTOLOOP_CONFIG or ./autoloop.yaml)')
      .option('--store <url>', 'store URL, overrides `store:`')
      .option(
        '--json',
        'print JSON: targets, problems, decisions (type, target, parameters, priority, confidence, rationale)',
      )
      .action(async (loop: string | undefined, flags: { config?: string; store?: string; json?: boolean }) => {
        const { decideAnalyzeCommand } = await import('./decide-command.ts');
        await decideAnalyzeCommand(loop, flags, output);
      });
  },
};
