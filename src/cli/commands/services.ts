import type { Command } from 'commander';
import type { InstanceStatus } from '../../supervisor/service-instance.ts';
import type { InstanceRecord } from '../../supervisor/service-record.ts';
import type { ServicesStatus } from '../../supervisor/supervisor.ts';
import { systemClock } from '../../time/system-clock.ts';
import { CliExit, EXIT, loadCliConfig } from '../context.ts';
import {
  type DaemonFlags,
  daemonRequest,
  errorText,
  INSTANCE_OPTION,
  locateDaemon,
  notRunning,
} from '../daemon-client.ts';
import { humanSeconds, type Output, type Palette, palette, table } from '../output.ts';

interface ServicesFlags extends DaemonFlags {
  json?: boolean;
  store?: string;
}

/** What `autoloop services` shows: live rows from the daemon, or the store's last records. */
export type ServicesView =
  | ({ source: 'daemon' } & ServicesStatus)
  | { source: 'store'; note: string | null; records: InstanceRecord[] };

export function registerServices(program: Command, output: Output): void {
  program
    .command('services')
    .description('supervised services (like `pm2 ls`): state, pid, uptime, restarts, CPU, memory')
    .option('-c, --config <file>', 'config file (default: $AUTOLOOP_CONFIG or ./autoloop.yaml)')
    .option('--store <url>', 'store URL, overrides `store:` (for the store view)')
    .option('--pid-file <file>', 'pidfile of one daemon (default: the instances of the config, .autoloop/instances/)')
    .option(...INSTANCE_OPTION)
    .option('--json', 'print as JSON')
    .addHelpText(
      'after',
      `
From the running daemon's /status (field "services"), else the last state
the store recorded for this host. Exit 0 when every instance runs and none
is failing, 1 otherwise (or when nothing runs).`,
    )
    .action(async (flags: ServicesFlags) => {
      const view = await servicesView(flags);
      if (flags.json) output.out(JSON.stringify(view, null, 2));
      else printServices(view, output, palette(output));
      const ok = view.source === 'daemon' && view.instances.every((i) => i.state === 'running' && !i.failing);
      process.exitCode = ok ? EXIT.ok : EXIT.failed;
    });
}

async function servicesView(flags: ServicesFlags): Promise<ServicesView> {
  const daemon = locateDaemon(flags, process.env, process.cwd(), 'services');
  let note: string | null = daemon.kind === 'stopped' ? 'autoloop is not running' : notRunning(daemon);
  if (daemon.kind === 'running' && daemon.state?.url) {
    try {
      const response = await daemonRequest<{ services?: ServicesStatus }>(daemon.state.url, '/status');
      if (response.status === 200) {
        return { source: 'daemon', ...(response.body.services ?? { host: '', instances: [], disks: [] }) };
      }
      note = `the daemon (pid ${daemon.pid}) answered /status with ${errorText(response)}`;
    } catch (error) {
      if (!(error instanceof CliExit)) throw error;
      note = `the daemon (pid ${daemon.pid}) did not answer: ${error.message}`;
    }
  }
  const config = await loadCliConfig(flags, process.env, process.cwd());
  const [{ openStore }, { SERVICES_NAMESPACE }] = await Promise.all([
    import('../../storage/open-store.ts'),
    import('../../supervisor/service-record.ts'),
  ]);
  const store = await openStore(config.store, { cwd: config.dir });
  try {
    const docs = await store.documents.list(SERVICES_NAMESPACE);
    const names = new Set(config.services.map((s) => s.name));
    const records = docs.map((d) => d.value as InstanceRecord).filter((r) => names.has(r.service));
    return { source: 'store', note, records };
  } finally {
    await store.close();
  }
}

function printServices(view: ServicesView, output: Output, p: Palette): void {
  if (view.source === 'store') {
    if (view.note) output.err(`${view.note}; the store's last records:`);
    if (view.records.length === 0) {
      output.out('no service recorded');
      return;
    }
    const rows = view.records.map((r) => [
      r.instance === 0 ? r.service : `${r.service}#${r.instance}`,
      r.host,
      r.state,
      r.pid === null ? '-' : String(r.pid),
      String(r.restarts),
      r.failing ? p.red('yes') : 'no',
    ]);
    output.out(table(['name', 'host', 'last state', 'pid', 'restarts', 'failing'], rows));
    return;
  }
  if (view.instances.length === 0) {
    output.out('no services in this config');
    return;
  }
  const rows = view.instances.map((i) => serviceRow(i, p));
  output.out(table(['name', 'state', 'pid', 'uptime', 'restarts', 'cpu', 'memory', 'detail'], rows));
}

function serviceRow(i: InstanceStatus, p: Palette): string[] {
  const state =
    i.state === 'running' && !i.failing
      ? p.green('running')
      : i.failing
        ? p.red(`${i.state}, failing`)
        : p.yellow(i.state);
  const memory =
    i.rssBytes === null
      ? '-'
      : `${mb(i.rssBytes)}${i.memoryLimitBytes === null ? '' : p.dim(` / ${mb(i.memoryLimitBytes)}`)}`;
  return [
    i.instance === 0 ? i.service : `${i.service}#${i.instance}`,
    state,
    i.pid === null ? '-' : String(i.pid),
    i.startedAt ? humanSeconds((systemClock.now() - Date.parse(i.startedAt)) / 1000) : '-',
    String(i.restarts),
    i.cpuSeconds === null ? '-' : `${i.cpuSeconds.toFixed(1)}s`,
    memory,
    i.state === 'running' ? '' : p.dim(i.detail),
  ];
}

function mb(bytes: number): string {
  return bytes >= 1024 ** 3 ? `${(bytes / 1024 ** 3).toFixed(1)} GB` : `${Math.round(bytes / 1024 ** 2)} MB`;
}
