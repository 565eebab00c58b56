import type { Command } from 'commander';
import { requireClientToken } from '../admin-token.ts';
import { CliExit, EXIT, loadCliConfig, requireLoop } from '../context.ts';
import {
  type DaemonFlags,
  daemonRequest,
  errorText,
  INSTANCE_OPTION,
  instanceToken,
  locateInstances,
  pickInstance,
  requireDaemonUrl,
} from '../daemon-client.ts';
import type { DaemonStatus } from '../daemon-files.ts';
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
      .option('--pid-file <file>', 'pidfile of one daemon (default: every instance of the config)')
      .option(...INSTANCE_OPTION)
      .addHelpText(
        'after',
        `
Sends POST /loops/<loop>/${action} to every instance of the config (or the one
--instance names) with its admin token, read from the instance's runtime file
(mode 0600: the same user needs no token); else the config's http.token, else
$AUTOLOOP_TOKEN. Exit 2 when no token is known, 1 when nothing runs or an
instance refuses. The token is never printed.`,
      )
      .action(async (loop: string, flags: DaemonFlags) => {
        process.exitCode = await adminAction(action, loop, flags, output);
      });
  }
}

async function adminAction(action: Action, loop: string, flags: DaemonFlags, output: Output): Promise<number> {
  const config = await loadCliConfig(flags, process.env, process.cwd());
  requireLoop(config, loop, action);
  const all = locateInstances(flags, process.env, process.cwd());
  const targets = flags.instance === undefined ? all : [pickInstance(all, flags.instance, action)];
  // Checked for all before any is asked: a pause that reaches half the instances is worse than none.
  const asks = targets.map((daemon) => ({
    daemon,
    url: requireDaemonUrl(daemon),
    token: requireClientToken(instanceToken(daemon), config, process.env, action),
  }));
  const problems: string[] = [];
  for (const { daemon, url, token } of asks) {
    const response = await daemonRequest(url, `/loops/${encodeURIComponent(loop)}/${action}`, {
      method: 'POST',
      token,
    });
    if (response.status >= 200 && response.status < 300) {
      output.out(`${action === 'pause' ? 'paused' : 'resumed'} ${loop} (pid ${pidOf(daemon)})`);
      continue;
    }
    const hint = response.status === 401 ? '; the instance was started with a different token' : '';
    problems.push(`pid ${pidOf(daemon)}: ${errorText(response)}${hint}`);
  }
  if (problems.length > 0) throw new CliExit(EXIT.failed, `${action} ${loop}: ${problems.join('; ')}`);
  return EXIT.ok;
}

function pidOf(daemon: DaemonStatus): string {
  return daemon.kind === 'running' ? String(daemon.pid) : '?';
}
