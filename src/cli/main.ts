import { Command, CommanderError } from 'commander';
import { AutoloopError } from '../core/errors.ts';
import { registerAlerts } from './commands/alerts.ts';
import { registerBackup } from './commands/backup.ts';
import { registerCycles } from './commands/cycles.ts';
import { registerHealth } from './commands/health.ts';
import { registerInit } from './commands/init.ts';
import { registerLogs } from './commands/logs.ts';
import { registerPauseResume } from './commands/pause-resume.ts';
import { registerPlan } from './commands/plan.ts';
import { registerRecipes } from './commands/recipes.ts';
import { registerRestart } from './commands/restart.ts';
import { registerRun } from './commands/run.ts';
import { registerService } from './commands/service.ts';
import { registerServices } from './commands/services.ts';
import { registerSimulate } from './commands/simulate.ts';
import { registerStart } from './commands/start.ts';
import { registerStatus } from './commands/status.ts';
import { registerStop } from './commands/stop.ts';
import { registerTasks } from './commands/tasks.ts';
import { registerUnit } from './commands/unit.ts';
import { registerValidate } from './commands/validate.ts';
import { CliExit, EXIT } from './context.ts';
import { type Output, processOutput } from './output.ts';

const EXIT_CODES_HELP = `
Read commands (status, health, tasks, services, cycles, plan, validate, logs) take --json.
Colour only on a terminal, and never with NO_COLOR set.

Exit codes:
  0  success; healthy; stop found nothing running (for run: the cycle was ok or partial)
  1  failure; unhealthy; not running; already running (for run: the cycle failed or was skipped)
  2  usage or configuration error (the message names file, path, expected and got)
  130/143  a second SIGINT/SIGTERM forced the exit`;

/**
 * The program with every command. Command modules import the heavy parts
 * (runtime, store, config loader) inside their actions, so `stop`, `health`
 * or `logs` start in about half the time of `run`.
 */
export function buildProgram(output: Output = processOutput): Command {
  const program = new Command('autoloop')
    .description('autoloop: a runtime for autonomous, self-healing background loops')
    .version('0.1.0')
    .showHelpAfterError('(run with --help for usage)')
    .addHelpText('after', EXIT_CODES_HELP)
    .exitOverride()
    .configureOutput({ writeOut: (s) => output.out(s.trimEnd()), writeErr: (s) => output.err(s.trimEnd()) });
  program.commandsGroup('Daemon:');
  registerStart(program, output);
  registerStop(program, output);
  registerRestart(program, output);
  registerStatus(program, output);
  registerHealth(program, output);
  registerLogs(program, output);
  registerTasks(program, output);
  registerPauseResume(program, output);
  registerBackup(program, output);
  program.commandsGroup('Services:');
  registerServices(program, output);
  registerService(program, output);
  program.commandsGroup('Loops:');
  registerRun(program, output);
  registerPlan(program, output);
  registerCycles(program, output);
  registerSimulate(program, output);
  program.commandsGroup('Setup:');
  registerInit(program, output);
  registerValidate(program, output);
  registerUnit(program, output);
  registerAlerts(program, output);
  program.commandsGroup('Recipes:');
  registerRecipes(program, output);
  const override = (command: Command) => {
    command.exitOverride();
    for (const sub of command.commands) override(sub);
  };
  override(program);
  return program;
}

/** Runs the CLI and resolves with the exit code. Never prints a stack trace for expected errors. */
export async function main(argv: string[], output: Output = processOutput): Promise<number> {
  const program = buildProgram(output);
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
