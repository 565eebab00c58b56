import type { Command } from 'commander';
import { onShutdownSignals } from '../../lifecycle/shutdown-signals.ts';
import { CliExit, EXIT, loadCliConfig } from '../context.ts';
import { type DaemonFlags, locatePaths } from '../daemon-client.ts';
import { readDaemon } from '../daemon-files.ts';
import { followLines, tailLines } from '../log-file.ts';
import { formatLogLine } from '../log-line.ts';
import { type Output, palette } from '../output.ts';

interface LogsFlags extends DaemonFlags {
  tail: string;
  follow?: boolean;
  json?: boolean;
  pretty?: boolean;
}

export function registerLogs(program: Command, output: Output): void {
  program
    .command('logs')
    .description("the daemon's log file: the last lines, then (with --follow) what it writes next")
    .option('-c, --config <file>', 'config file (default: $AUTOLOOP_CONFIG or ./autoloop.yaml)')
    .option('--pid-file <file>', 'pidfile of the daemon (default <config dir>/.autoloop/autoloop.pid)')
    .option('--log-file <file>', "log file (default: the running daemon's, else the config's log.file)")
    .option('-n, --tail <n>', 'how many lines from the end', '50')
    .option('-f, --follow', 'keep printing lines as they are written (Ctrl-C ends); survives truncation and rotation')
    .option('--json', 'print the JSON lines as written (for jq), even on a terminal')
    .option('--pretty', 'print `time level msg k=v` even when not on a terminal')
    .addHelpText(
      'after',
      `
On a terminal each JSON line is shown as \`time level msg k=v\`; piped, lines
are printed as written. Exit 1 when the log file does not exist.
In the foreground the daemon writes the same file when the config has
log.file, and stdout: journalctl -u autoloop -f, docker logs -f, kubectl logs -f.`,
    )
    .action(async (flags: LogsFlags) => {
      const count = Number(flags.tail);
      if (!Number.isInteger(count) || count < 0) {
        throw new CliExit(EXIT.usage, `--tail: expected a whole number >= 0, got "${flags.tail}"`);
      }
      const file = await logFile(flags);
      const tail = tailLines(file, count);
      if (!tail)
        throw new CliExit(EXIT.failed, `no log file at ${file} (is the daemon started with \`autoloop start\`?)`);
      const style = palette(output);
      const pretty = flags.pretty === true || (flags.json !== true && output.isTTY === true);
      const print = (line: string) => output.out(pretty ? formatLogLine(line, style) : line);
      for (const line of tail.lines) print(line);
      if (!flags.follow) return;
      const stop = new AbortController();
      const remove = onShutdownSignals({ graceful: () => stop.abort(), forced: () => stop.abort() });
      try {
        await followLines(file, tail.end, print, stop.signal);
      } finally {
        remove();
      }
    });
}

/**
 * --log-file, else the running daemon's (it may have been started with its
 * own --log-file), else the config's log.file, else the default. A config
 * that does not load is no reason not to show the log that may say why.
 */
async function logFile(flags: LogsFlags): Promise<string> {
  const paths = locatePaths(flags, process.env, process.cwd());
  if (flags.logFile) return paths.logFile;
  const daemon = readDaemon(paths);
  if (daemon.kind === 'running' && daemon.state?.logFile) return daemon.state.logFile;
  try {
    const config = await loadCliConfig(flags, process.env, process.cwd());
    return config.log.file?.path ?? paths.logFile;
  } catch {
    return paths.logFile;
  }
}
