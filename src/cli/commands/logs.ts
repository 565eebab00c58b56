import type { Command } from 'commander';
import { onShutdownSignals } from '../../lifecycle/shutdown-signals.ts';
import { CliExit, EXIT, loadCliConfig } from '../context.ts';
import { anyInstance, type DaemonFlags, locateInstances, locatePaths } from '../daemon-client.ts';
import { followLines, tailLines } from '../log-file.ts';
import { formatLogLine } from '../log-line.ts';
import { type Output, palette } from '../output.ts';

interface LogsFlags extends DaemonFlags {
  tail: string;
  service?: string;
  instance?: string;
  follow?: boolean;
  json?: boolean;
  pretty?: boolean;
}

export function registerLogs(program: Command, output: Output): void {
  program
    .command('logs')
    .description("the daemon's log file: the last lines, then (with --follow) what it writes next")
    .option('-c, --config <file>', 'config file (default: $AUTOLOOP_CONFIG or ./autoloop.yaml)')
    .option('--pid-file <file>', 'pidfile of one daemon (default: the instances of the config, .autoloop/instances/)')
    .option('--log-file <file>', "log file (default: the running daemon's, else the config's log.file)")
    .option('-s, --service <name>', "a supervised service's output (its rotated files under logs.file) instead")
    .option('--instance <i>', 'with --service: which instance (default 0)', '0')
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
log.file, and stdout: journalctl -u autoloop -f, docker logs -f, kubectl logs -f.
With --service, the service's stdout and stderr as it wrote them: the last
lines span its rotated files (<file>.1, .2, ...), and --follow carries on
across a rotation.`,
    )
    .action(async (flags: LogsFlags) => {
      const count = Number(flags.tail);
      if (!Number.isInteger(count) || count < 0) {
        throw new CliExit(EXIT.usage, `--tail: expected a whole number >= 0, got "${flags.tail}"`);
      }
      if (flags.service !== undefined) {
        await serviceLogs(flags, count, output);
        return;
      }
      const file = await logFile(flags);
      const tail = tailLines(file, count);
      if (!tail)
        throw new CliExit(EXIT.failed, `no log file at ${file} (is the daemon started with \`autoloop start\`?)`);
      const style = palette(output);
      const pretty = flags.pretty === true || (flags.json !== true && output.isTTY === true);
      const print = (line: string) => output.out(pretty ? formatLogLine(line, style) : line);
      for (const line of tail.lines) print(line);
      if (flags.follow) await follow(file, tail.end, print);
    });
}

/** Prints what is appended to `file` from `offset` until Ctrl-C. */
async function follow(file: string, offset: number, print: (line: string) => void): Promise<void> {
  const stop = new AbortController();
  const remove = onShutdownSignals({ graceful: () => stop.abort(), forced: () => stop.abort() });
  try {
    await followLines(file, offset, print, stop.signal);
  } finally {
    remove();
  }
}

/** `--service`: the last lines of the service's file and its rotated ones, newest last; then --follow. */
async function serviceLogs(flags: LogsFlags, count: number, output: Output): Promise<void> {
  const config = await loadCliConfig(flags, process.env, process.cwd());
  const spec = config.services.find((s) => s.name === flags.service);
  if (!spec) {
    const known = config.services.map((s) => s.name).join(', ') || '(none)';
    throw new CliExit(
      EXIT.usage,
      `--service: unknown service "${flags.service}"; services in ${config.file}: ${known}`,
    );
  }
  const index = Number(flags.instance);
  if (!Number.isInteger(index) || index < 0 || index >= spec.instances) {
    throw new CliExit(
      EXIT.usage,
      `--instance: expected a whole number from 0 to ${spec.instances - 1} (${spec.name} runs ${spec.instances}), got "${flags.instance}"`,
    );
  }
  if (!spec.logs) {
    throw new CliExit(
      EXIT.failed,
      `service "${spec.name}" has logs: false: its output goes to the daemon's log at debug level (autoloop logs)`,
    );
  }
  const { instanceLogFile } = await import('../../supervisor/service-log.ts');
  const file = instanceLogFile(spec.logs, index);
  const current = tailLines(file, count);
  if (!current) throw new CliExit(EXIT.failed, `no log file at ${file} (has ${spec.name} started?)`);
  const lines = [...current.lines];
  for (let n = 1; n <= spec.logs.keep && lines.length < count; n++) {
    const older = tailLines(`${file}.${n}`, count - lines.length);
    if (!older) break;
    lines.unshift(...older.lines);
  }
  const print = (line: string) => output.out(line);
  for (const line of lines) print(line);
  if (flags.follow) await follow(file, current.end, print);
}

/**
 * --log-file, else the running daemon's (it may have been started with its
 * own --log-file), else the config's log.file, else the default. A config
 * that does not load is no reason not to show the log that may say why.
 */
async function logFile(flags: LogsFlags): Promise<string> {
  const paths = locatePaths(flags, process.env, process.cwd());
  if (flags.logFile) return paths.logFile;
  // Here --instance is a service's instance number; several autoloop instances of one config share the log file.
  const daemon = anyInstance(locateInstances(flags, process.env, process.cwd()), undefined, 'logs');
  if (daemon.kind === 'running' && daemon.state?.logFile) return daemon.state.logFile;
  try {
    const config = await loadCliConfig(flags, process.env, process.cwd());
    return config.log.file?.path ?? paths.logFile;
  } catch {
    return paths.logFile;
  }
}
