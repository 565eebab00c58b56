import { Command, CommanderError } from 'commander';
import { AutoloopError } from '../core/errors.ts';
import { registerCycles } from './commands/cycles.ts';
import { registerPlan } from './commands/plan.ts';
import { registerRun } from './commands/run.ts';
import { registerStart } from './commands/start.ts';
import { registerStatus } from './commands/status.ts';
import { registerValidate } from './commands/validate.ts';
import { CliExit, EXIT } from './context.ts';
import { type Output, processOutput } from './output.ts';

const EXIT_CODES_HELP = `
Exit codes:
  0  success (for run: the cycle was ok or partial)
  1  failure (for run: the cycle failed or was skipped; a runtime error)
  2  usage or configuration error (the message names file, path, expected and got)
  130/143  a second SIGINT/SIGTERM forced the exit`;

export function buildProgram(output: Output = processOutput): Command {
  const program = new Command('autoloop')
    .description('autoloop: a runtime for autonomous, self-healing background loops')
    .version('0.1.0')
    .showHelpAfterError('(run with --help for usage)')
    .addHelpText('after', EXIT_CODES_HELP)
    .exitOverride()
    .configureOutput({ writeOut: (s) => output.out(s.trimEnd()), writeErr: (s) => output.err(s.trimEnd()) });
  registerStart(program, output);
  registerRun(program, output);
  registerPlan(program, output);
  registerValidate(program, output);
  registerCycles(program, output);
  registerStatus(program, output);
  for (const command of program.commands) command.exitOverride();
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
