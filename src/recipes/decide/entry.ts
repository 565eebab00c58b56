import type { RecipeEntry } from '../registry.ts';

/** The decide recipe as the registry lists it; its code loads on first use. */
export const decideEntry: RecipeEntry = {
  name: 'decide',
  description:
    "every 30 s: sense loops and a coordination directory (agent_*.json, work_*.json, ...) -> weighted health score -> ranked decisions with a confidence -> scale a loop's concurrency",
  load: () => import('./recipe.ts').then((m) => m.decide as never),
  commands: (program, output) => {
    const decide = program.command('decide').description("a decide loop's health score, state and decisions");
    decide
      .command('status [loop]')
      .description(
        "the last analysis and recent decisions (from the store); --json has the original decision engine's status fields",
      )
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
    const daemonOptions = (c: ReturnType<typeof decide.command>) =>
      c
        .option('-c, --config <file>', 'config file (default: $AUTOLOOP_CONFIG or ./autoloop.yaml)')
        .option('--pid-file <file>', 'pidfile of the daemon (default <config dir>/.autoloop/autoloop.pid)')
        .option('--json', 'print JSON');
    daemonOptions(
      decide
        .command('history [loop]')
        .description('every decision, executed or not, newest first, with its confidence, result and rationale')
        .option('--store <url>', 'store URL, overrides `store:`')
        .option('--limit <n>', 'how many (default 20)'),
    ).action(async (loop: string | undefined, flags: Record<string, string | boolean | undefined>) => {
      const { decideHistoryCommand } = await import('./decide-admin-command.ts');
      await decideHistoryCommand(loop, flags, output);
    });
    daemonOptions(
      decide
        .command('execute [loop]')
        .description('one decide cycle now in the running daemon (admin token), and the decisions it made')
        .option('--max <n>', 'decisions executed in this cycle (`auto execute --max 3`)')
        .option('--min-confidence <c>', 'the confidence bar for this cycle, in [0, 1]')
        .option('--dry-run', 'journal "dry-run", change nothing, in this cycle'),
    ).action(async (loop: string | undefined, flags: Record<string, string | boolean | undefined>) => {
      const { decideExecuteCommand } = await import('./decide-admin-command.ts');
      await decideExecuteCommand(loop, flags, output);
    });
    daemonOptions(
      decide
        .command('loop [loop]')
        .description(
          'decide cycles in the running daemon, one per --interval, one line each (Ctrl-C or SIGTERM ends; admin token)',
        )
        .option('--interval <duration>', 'time between cycle starts: 30s, 2m, or seconds (default 30s)')
        .option('--max-cycles <n>', 'stop after n cycles; 0 runs until stopped (default 0)')
        .option('--max <n>', 'decisions executed per cycle')
        .option('--min-confidence <c>', 'the confidence bar of every cycle, in [0, 1]')
        .option('--dry-run', 'journal "dry-run", change nothing'),
    ).action(async (loop: string | undefined, flags: Record<string, string | boolean | undefined>) => {
      const { decideLoopCommand } = await import('./decide-loop-command.ts');
      await decideLoopCommand(loop, flags, output);
    });
    daemonOptions(
      decide
        .command('rollback <id>')
        .description(
          'undo an executed decision (its previous concurrency or pause state) in the running daemon (admin token)',
        )
        .option('--loop <name>', 'the decide loop (needed when there are several)'),
    ).action(async (id: string, flags: Record<string, string | boolean | undefined>) => {
      const { decideRollbackCommand } = await import('./decide-admin-command.ts');
      await decideRollbackCommand(id, flags, output);
    });
  },
};
