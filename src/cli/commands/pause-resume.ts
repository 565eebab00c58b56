import type { Command } from 'commander';
import { CliExit, EXIT, loadCliConfig, requireLoop } from '../context.ts';
import { type DaemonFlags, daemonRequest, errorText, locateDaemon, requireDaemonUrl } from '../daemon-client.ts';
import type { Output } from '../output.ts';

type Action = 'pause' | 'resume';

const DESCRIPTIONS: Record<Action, string> = {
  pause: 'stop scheduling <loop> in the running daemon (its ticks are recorded as skipped); in-flight work finishes',
  resume: 'schedule <loop> again in the running daemon',
};

export function registerPauseResume(program: Command, output: Output): void {
  for (const action of ['pause', 'resume'] as const) {
    program
      .command(`${action} <loop>`)
      .description(DESCRIPTIONS[action])
      .option('-c, --config <file>', 'config file (default: $AUTOLOOP_CONFIG or ./autoloop.yaml)')
      .option('--pid-file <file>', 'pidfile of the daemon (default <config dir>/.autoloop/autoloop.pid)')
      .addHelpText(
        'after',
        `
Sends POST /loops/<loop>/${action} with the admin token: the config's http.token,
else $AUTOLOOP_TOKEN. Exit 2 when no token is configured, 1 when the daemon
is not running or refuses. The token is never printed.`,
      )
      .action(async (loop: string, flags: DaemonFlags) => {
        process.exitCode = await adminAction(action, loop, flags, output);
      });
  }
}

async function adminAction(action: Action, loop: string, flags: DaemonFlags, output: Output): Promise<number> {
  const config = await loadCliConfig(flags, process.env, process.cwd());
  requireLoop(config, loop, action);
  const token = config.http.token || process.env.AUTOLOOP_TOKEN || '';
  if (token === '') {
    throw new CliExit(
      EXIT.usage,
      `${action}: no admin token: set AUTOLOOP_TOKEN (in this shell and in the daemon's environment) with http.token: "\${AUTOLOOP_TOKEN:-}" in ${config.file}, then restart the daemon`,
    );
  }
  const daemon = locateDaemon(flags, process.env, process.cwd());
  const url = requireDaemonUrl(daemon);
  const response = await daemonRequest(url, `/loops/${encodeURIComponent(loop)}/${action}`, { method: 'POST', token });
  if (response.status >= 200 && response.status < 300) {
    output.out(
      `${action === 'pause' ? 'paused' : 'resumed'} ${loop} (daemon pid ${daemon.kind === 'running' ? daemon.pid : '?'})`,
    );
    return EXIT.ok;
  }
  const hint = response.status === 401 ? '; the daemon was started with a different token' : '';
  throw new CliExit(EXIT.failed, `${action} ${loop}: ${errorText(response)}${hint}`);
}
