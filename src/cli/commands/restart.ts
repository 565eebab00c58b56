import type { Command } from 'commander';
import { EXIT, loadCliConfig } from '../context.ts';
import { locatePaths } from '../daemon-client.ts';
import { readDaemon } from '../daemon-files.ts';
import { startDaemon } from '../daemon-launch.ts';
import type { Output } from '../output.ts';
import { startOptions } from './start.ts';
import { parseTimeout, type StopFlags, stopDaemon } from './stop.ts';

export function registerRestart(program: Command, output: Output): void {
  startOptions(
    program
      .command('restart')
      .description('stop the background daemon (as `stop` does) and start it again (as `start` does)'),
  )
    .option('--timeout <duration>', 'how long to wait after SIGTERM before SIGKILL (as for stop)')
    .action(async (flags: StopFlags) => {
      const timeoutMs = flags.timeout === undefined ? undefined : parseTimeout(flags.timeout);
      // A config that would not start must not cost the running daemon: check it first (exit 2).
      await loadCliConfig(flags, process.env, process.cwd());
      // The background daemon only: a foreground instance belongs to whoever started it (systemd, a container).
      const stopped = await stopDaemon(readDaemon(locatePaths(flags, process.env, process.cwd())), timeoutMs, output);
      process.exitCode = stopped === EXIT.ok ? await startDaemon(flags, output) : stopped;
    });
}
