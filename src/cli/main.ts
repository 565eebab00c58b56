import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { AutoloopError } from '../core/errors.ts';
import { CliExit, EXIT } from './context.ts';
import { type Output, processOutput } from './output.ts';

type Register = (program: Command, output: Output) => void;

/**
 * Every command module, in help order, with the command names it registers.
 * Loaded on use: `autoloop status` imports the status module only (and what
 * it imports), not `run`'s runtime, `simulate` or the alert rules; help, an
 * unknown word or a recipe's command (listed by `recipes`) loads them all.
 */
const COMMANDS: ReadonlyArray<{ group?: string; names: readonly string[]; load: () => Promise<Register> }> = [
  { group: 'Daemon:', names: ['start'], load: async () => (await import('./commands/start.ts')).registerStart },
  { names: ['stop'], load: async () => (await import('./commands/stop.ts')).registerStop },
  { names: ['restart'], load: async () => (await import('./commands/restart.ts')).registerRestart },
  { names: ['status'], load: async () => (await import('./commands/status.ts')).registerStatus },
  { names: ['health'], load: async () => (await import('./commands/health.ts')).registerHealth },
  { names: ['logs'], load: async () => (await import('./commands/logs.ts')).registerLogs },
  { names: ['tasks'], load: async () => (await import('./commands/tasks.ts')).registerTasks },
  {
    names: ['pause', 'resume'],
    load: async () => (await import('./commands/pause-resume.ts')).registerPauseResume,
  },
  { names: ['backup'], load: async () => (await import('./commands/backup.ts')).registerBackup },
  {
    group: 'Services:',
    names: ['services'],
    load: async () => (await import('./commands/services.ts')).registerServices,
  },
  { names: ['service'], load: async () => (await import('./commands/service.ts')).registerService },
  { group: 'Loops:', names: ['run'], load: async () => (await import('./commands/run.ts')).registerRun },
  { names: ['plan'], load: async () => (await import('./commands/plan.ts')).registerPlan },
  { names: ['cycles'], load: async () => (await import('./commands/cycles.ts')).registerCycles },
  { names: ['simulate'], load: async () => (await import('./commands/simulate.ts')).registerSimulate },
  { group: 'Setup:', names: ['init'], load: async () => (await import('./commands/init.ts')).registerInit },
  { names: ['validate'], load: async () => (await import('./commands/validate.ts')).registerValidate },
  { names: ['unit'], load: async () => (await import('./commands/unit.ts')).registerUnit },
  { names: ['alerts'], load: async () => (await import('./commands/alerts.ts')).registerAlerts },
  {
    group: 'Recipes:',
    names: ['recipes'],
    load: async () => (await import('./commands/recipes.ts')).registerRecipes,
  },
];

const EXIT_CODES_HELP = `
Read commands (status, health, tasks, services, cycles, plan, validate, logs) take --json.
Colour only on a terminal, and never with NO_COLOR set.

Exit codes:
  0  success; healthy; stop found nothing running (for run: the cycle was ok or partial)
  1  failure; unhealthy; not running; already running (for run: the cycle failed or was skipped)
  2  usage or configuration error (the message names file, path, expected and got)
  130/143  a second SIGINT/SIGTERM forced the exit`;

/**
 * The program, with the command `argv` names when it is a known one, else
 * with every command. Command modules import the heavy parts (runtime,
 * store, config loader) inside their actions.
 */
export async function buildProgram(output: Output = processOutput, argv: readonly string[] = []): Promise<Command> {
  const program = new Command('autoloop')
    .description('autoloop: a runtime for autonomous, self-healing background loops')
    .version(packageVersion())
    .showHelpAfterError('(run with --help for usage)')
    .addHelpText('after', EXIT_CODES_HELP)
    .exitOverride()
    .configureOutput({ writeOut: (s) => output.out(s.trimEnd()), writeErr: (s) => output.err(s.trimEnd()) });
  const word = argv.find((arg) => !arg.startsWith('-'));
  const named = COMMANDS.find((command) => word !== undefined && command.names.includes(word));
  const chosen = named ? [named] : COMMANDS;
  const registers = await Promise.all(chosen.map((command) => command.load()));
  chosen.forEach((command, i) => {
    if (command.group) program.commandsGroup(command.group);
    registers[i]?.(program, output);
  });
  const override = (command: Command) => {
    command.exitOverride();
    for (const sub of command.commands) override(sub);
  };
  override(program);
  return program;
}

/** The package's own version (dist/cli and src/cli both sit two levels below package.json). */
function packageVersion(): string {
  const file = new URL('../../package.json', import.meta.url);
  return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
}

/** Runs the CLI and resolves with the exit code. Never prints a stack trace for expected errors. */
export async function main(argv: string[], output: Output = processOutput): Promise<number> {
  const program = await buildProgram(output, argv);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT.ok;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    if (error instanceof CliExit) {
      output.err(`autoloop: ${error.message}`);
      return error.code;
    }
    if (error instanceof AutoloopError) {
      output.err(`autoloop: ${error.message}`);
      return EXIT.failed;
    }
    output.err(
      `autoloop: unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
    );
    return EXIT.failed;
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const code = await main(process.argv.slice(2));
  process.exitCode = code;
}
