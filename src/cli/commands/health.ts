import type { Command } from 'commander';
import type { HealthReport } from '../../runtime/health.ts';
import { systemClock } from '../../time/system-clock.ts';
import { CliExit, EXIT, loadCliConfig } from '../context.ts';
import {
  clientUrl,
  type DaemonFlags,
  daemonRequest,
  INSTANCE_OPTION,
  locateDaemon,
  notRunning,
} from '../daemon-client.ts';
import { type Output, type Palette, palette, relativeTime, table } from '../output.ts';

interface HealthFlags extends DaemonFlags {
  url?: string;
  live?: boolean;
  ready?: boolean;
  json?: boolean;
}

export function registerHealth(program: Command, output: Output): void {
  program
    .command('health')
    .description(
      'ask the running daemon for /health and print each component; exit 0 healthy, 1 unhealthy or not running',
    )
    .option('-c, --config <file>', 'config file (default: $AUTOLOOP_CONFIG or ./autoloop.yaml)')
    .option('--pid-file <file>', 'pidfile of one daemon (default: the instances of the config, .autoloop/instances/)')
    .option(...INSTANCE_OPTION)
    .option(
      '--url <url>',
      "base URL to ask instead (e.g. http://127.0.0.1:8080); default: the daemon's, else the config's",
    )
    .option('--live', 'ask /health/live (the process answers) instead')
    .option('--ready', 'ask /health/ready (store reachable, no breaker open, no cooldown) instead')
    .option('--json', 'print the report as JSON')
    .addHelpText(
      'after',
      `
Asks the instance of the config found through its runtime file
(.autoloop/instances/), foreground or background; with several, --instance
picks one. With none found (another machine, another user), the config's
http.host and http.port are asked.`,
    )
    .action(async (flags: HealthFlags) => {
      if (flags.live && flags.ready) throw new CliExit(EXIT.usage, 'health: give --live or --ready, not both');
      const path = flags.live ? '/health/live' : flags.ready ? '/health/ready' : '/health';
      const base = await healthBase(flags);
      const response = await daemonRequest<HealthReport>(base, path);
      const report = response.body;
      const healthy = response.status === 200 && report?.healthy === true;
      if (flags.json) output.out(JSON.stringify(report, null, 2));
      else printReport(`${base}${path}`, response.status, report, output, palette(output), systemClock.now());
      process.exitCode = healthy ? EXIT.ok : EXIT.failed;
    });
}

/** Where to ask: --url, the daemon's state file, else the config's address (a foreground instance). */
async function healthBase(flags: HealthFlags): Promise<string> {
  if (flags.url) return flags.url.replace(/\/+$/, '');
  const daemon = locateDaemon(flags, process.env, process.cwd(), 'health');
  if (daemon.kind === 'running' && daemon.state?.url) return daemon.state.url;
  const config = await loadCliConfig(flags, process.env, process.cwd());
  if (config.http.port === 0) throw new CliExit(EXIT.failed, notRunning(daemon));
  const host = config.http.host.includes(':') ? `[${config.http.host}]` : config.http.host;
  const url = clientUrl(`http://${host}:${config.http.port}`);
  try {
    await daemonRequest(url, '/health/live');
  } catch {
    throw new CliExit(EXIT.failed, `${notRunning(daemon)}, and nothing answers at ${url}`);
  }
  return url;
}

function printReport(
  url: string,
  status: number,
  report: HealthReport,
  output: Output,
  style: Palette,
  now: number,
): void {
  if (typeof report !== 'object' || report === null || typeof report.components !== 'object') {
    output.out(`${style.red('unhealthy')}: ${url} answered HTTP ${status} without a health report`);
    return;
  }
  const verdict = report.healthy === true ? style.green('healthy') : style.red('UNHEALTHY');
  const checked = typeof report.checkedAt === 'string' ? relativeTime(report.checkedAt, now) : '-';
  output.out(`${verdict} (${url}, HTTP ${status}, checked ${checked})`);
  const rows = Object.entries(report.components).map(([name, c]) => [
    c.healthy ? style.green('ok') : style.red('FAIL'),
    name,
    String(c.detail ?? ''),
  ]);
  if (rows.length > 0) output.out(table(['', 'component', 'detail'], rows));
}
