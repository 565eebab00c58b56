import type { Command } from 'commander';
import type { InstanceStatus } from '../../supervisor/service-instance.ts';
import type { ServicesStatus } from '../../supervisor/supervisor.ts';
import { parseDuration } from '../../time/duration.ts';
import { systemClock } from '../../time/system-clock.ts';
import { requireClientToken } from '../admin-token.ts';
import { CliExit, EXIT, loadCliConfig } from '../context.ts';
import {
  type DaemonFlags,
  daemonRequest,
  errorText,
  INSTANCE_OPTION,
  instanceToken,
  locateDaemon,
  requireDaemonUrl,
} from '../daemon-client.ts';
import type { Output } from '../output.ts';
import { installCommand } from './unit.ts';

type Verb = 'start' | 'stop' | 'restart';

interface ServiceFlags extends DaemonFlags {
  wait: boolean;
  timeout: string;
}

const DESCRIPTIONS: Record<Verb, string> = {
  start: 'start <name> again in the running daemon (after `service stop`, or to cut a backoff short)',
  stop: 'stop every instance of <name> in the running daemon; it stays stopped until `service start`',
  restart: 'stop and start every instance of <name> in the running daemon now (no backoff)',
};

/** What each verb waits for, instance by instance. */
const DONE: Record<Verb, (now: InstanceStatus, before: InstanceStatus | undefined) => boolean> = {
  stop: (now) => now.state === 'stopped',
  start: (now) => now.state === 'running',
  restart: (now, before) => now.state === 'running' && (before?.pid == null || now.pid !== before.pid),
};

/**
 * `autoloop service start|stop|restart <name>`: one supervised service in
 * the running daemon, through its token-guarded `POST /services/:name/<verb>`.
 * `service install`, the old spelling of `unit install`, stays here hidden,
 * with a note, for one release.
 */
export function registerService(program: Command, output: Output): void {
  const group = program
    .command('service')
    .description('start, stop or restart one supervised service in the running daemon');
  for (const verb of ['start', 'stop', 'restart'] as const) {
    group
      .command(`${verb} <name>`)
      .description(DESCRIPTIONS[verb])
      .option('-c, --config <file>', 'config file (default: $AUTOLOOP_CONFIG or ./autoloop.yaml)')
      .option('--pid-file <file>', 'pidfile of one daemon (default: the instances of the config, .autoloop/instances/)')
      .option(...INSTANCE_OPTION)
      .option('--no-wait', 'return once the daemon took the request, without waiting for the state')
      .option('--timeout <duration>', 'how long to wait for the state (then exit 1)', '60s')
      .addHelpText(
        'after',
        `
Sends POST /services/<name>/${verb} with the admin token (the config's
http.token, else $AUTOLOOP_TOKEN), then waits until every instance is
${verb === 'stop' ? 'stopped' : 'running again'} (per /status). Exit 2 for an unknown service or no token,
1 when the daemon is not running, refuses, or the state is not reached in time.`,
      )
      .action(async (name: string, flags: ServiceFlags) => {
        process.exitCode = await serviceAction(verb, name, flags, output);
      });
  }
  installCommand(group.command('install', { hidden: true }), output, () =>
    output.err(
      'autoloop: `service install` is deprecated and will be removed in the next release: use `autoloop unit install` (a "service" is now a process under `services:`)',
    ),
  );
}

async function serviceAction(verb: Verb, name: string, flags: ServiceFlags, output: Output): Promise<number> {
  const timeoutMs = parseDuration(flags.timeout);
  if (timeoutMs === undefined)
    throw new CliExit(EXIT.usage, `--timeout: expected a duration like "30s", got "${flags.timeout}"`);
  const config = await loadCliConfig(flags, process.env, process.cwd());
  if (!config.services.some((s) => s.name === name)) {
    const known = config.services.map((s) => s.name).join(', ') || '(none)';
    throw new CliExit(EXIT.usage, `service ${verb}: unknown service "${name}"; services in ${config.file}: ${known}`);
  }
  const daemon = locateDaemon(flags, process.env, process.cwd(), `service ${verb}`);
  const token = requireClientToken(instanceToken(daemon), config, process.env, `service ${verb}`);
  const url = requireDaemonUrl(daemon);
  const response = await daemonRequest<{ instances?: InstanceStatus[] }>(
    url,
    `/services/${encodeURIComponent(name)}/${verb}`,
    { method: 'POST', token },
  );
  if (response.status < 200 || response.status >= 300) {
    const hint = response.status === 401 ? '; the daemon was started with a different token' : '';
    throw new CliExit(EXIT.failed, `service ${verb} ${name}: ${errorText(response)}${hint}`);
  }
  const before = response.body.instances ?? [];
  if (!flags.wait) {
    output.out(`${name}: ${verb} requested`);
    return EXIT.ok;
  }
  const rows = await waitFor(url, name, timeoutMs, (now) =>
    now.every((row) =>
      DONE[verb](
        row,
        before.find((b) => b.instance === row.instance),
      ),
    ),
  );
  const summary = rows.map(
    (r) => `${r.instance === 0 ? r.service : `${r.service}#${r.instance}`} ${r.state}${r.pid ? ` (pid ${r.pid})` : ''}`,
  );
  if (
    rows.every((row) =>
      DONE[verb](
        row,
        before.find((b) => b.instance === row.instance),
      ),
    )
  ) {
    output.out(`${verb === 'stop' ? 'stopped' : verb === 'start' ? 'started' : 'restarted'}: ${summary.join(', ')}`);
    return EXIT.ok;
  }
  const details = rows.map((r) => `${r.service}#${r.instance}: ${r.detail}`).join('; ');
  throw new CliExit(EXIT.failed, `service ${verb} ${name}: not done within ${flags.timeout}: ${details}`);
}

/** Polls `/status` until `done(rows)` or the timeout; resolves with the last rows. */
async function waitFor(
  url: string,
  name: string,
  timeoutMs: number,
  done: (rows: InstanceStatus[]) => boolean,
): Promise<InstanceStatus[]> {
  const until = systemClock.monotonic() + timeoutMs;
  for (;;) {
    const status = await daemonRequest<{ services?: ServicesStatus }>(url, '/status');
    const rows = (status.body.services?.instances ?? []).filter((i) => i.service === name);
    if ((rows.length > 0 && done(rows)) || systemClock.monotonic() >= until) return rows;
    await systemClock.sleep(200);
  }
}
