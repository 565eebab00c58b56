import type { StoreBackups } from '../backup/store-backups.ts';
import { sqliteFile } from '../config/backup-schema.ts';
import type { ResolvedConfig } from '../config/load-config.ts';
import type { Runnable } from '../lifecycle/runnable.ts';
import { servicesPanelExtension } from '../supervisor/services-panel.ts';
import { Supervisor } from '../supervisor/supervisor.ts';
import type { PartHost, RuntimeOptions } from './runtime-options.ts';

/**
 * The runtime options a resolved config describes: its loops, store,
 * dependencies, leases, shutdown grace, retention, HTTP surface, alerts,
 * webhooks and traces, its recipes, its supervised services (as
 * runnables, a health component per service, `services` in `/status`,
 * admin actions and a dashboard panel) and its store backups (the check and restore before the
 * store opens, the scheduled backup as a runnable, `backup` in `/status`).
 * `overrides` replaces any of them (a CLI command that runs without HTTP,
 * or on another store; `autoloop run` and `plan` leave the services and
 * backups out with `runnables: []`).
 *
 * @example
 * const runtime = createRuntime(runtimeOptionsFromConfig(config, { logger }));
 */
export function runtimeOptionsFromConfig(
  config: ResolvedConfig,
  overrides: Partial<RuntimeOptions> = {},
): RuntimeOptions {
  const parts =
    overrides.runnables === undefined ? [servicesPart(config, overrides), backupPart(config, overrides)] : [];
  const present = parts.filter((p): p is DeploymentPart => p !== null);
  return {
    loops: config.loops,
    store: config.store,
    http: config.http,
    shutdownGraceMs: config.shutdown.graceMs,
    ...(config.retentionMs !== null && { retentionMs: config.retentionMs }),
    leaseTtlMs: config.leases.ttlMs,
    dependencies: config.dependencies,
    observability: {
      alerts: config.alerts,
      webhooks: config.webhooks,
      tracing: config.tracing,
      env: process.env,
      services: config.services,
    },
    recipes: config.recipes,
    cwd: config.dir,
    ...combine(present),
    ...overrides,
  };
}

/** What one of the config's deployment parts adds to the runtime options. */
type DeploymentPart = Pick<
  RuntimeOptions,
  'healthChecks' | 'status' | 'beforeStoreOpen' | 'adminActions' | 'extensions' | 'serviceControl'
> & {
  runnables(host: PartHost): readonly Runnable[];
};

function combine(parts: readonly DeploymentPart[]): Partial<RuntimeOptions> {
  if (parts.length === 0) return {};
  const opens = parts.flatMap((p) => (p.beforeStoreOpen ? [p.beforeStoreOpen] : []));
  const serviceControl = parts.find((p) => p.serviceControl)?.serviceControl;
  return {
    ...(serviceControl && { serviceControl }),
    runnables: (host) => parts.flatMap((p) => p.runnables(host)),
    healthChecks: Object.assign({}, ...parts.map((p) => p.healthChecks ?? {})),
    status: Object.assign({}, ...parts.map((p) => p.status ?? {})),
    adminActions: Object.assign({}, ...parts.map((p) => p.adminActions ?? {})),
    extensions: parts.flatMap((p) => p.extensions ?? []),
    ...(opens.length > 0 && {
      beforeStoreOpen: async () => {
        for (const open of opens) await open();
      },
    }),
  };
}

/** The `services:` section; null when there are none. */
function servicesPart(config: ResolvedConfig, overrides: Partial<RuntimeOptions>): DeploymentPart | null {
  if (config.services.length === 0) return null;
  const supervisor = new Supervisor({
    services: config.services,
    ...(overrides.clock && { clock: overrides.clock }),
    ...(overrides.logger && { logger: overrides.logger }),
  });
  return {
    runnables: (host) => supervisor.runnables(host),
    healthChecks: supervisor.healthChecks(),
    status: { services: () => supervisor.status() },
    adminActions: { services: supervisor.adminActions() },
    extensions: [servicesPanelExtension()],
    serviceControl: supervisor.control(),
  };
}

/** `backup:`; null without one, or when `overrides.store` is not the config's SQLite file. */
function backupPart(config: ResolvedConfig, overrides: Partial<RuntimeOptions>): DeploymentPart | null {
  const url = overrides.store ?? config.store;
  const dbPath = typeof url === 'string' ? sqliteFile(url) : null;
  if (!config.backup || dbPath === null) return null;
  const spec = config.backup;
  // Loaded when the runtime starts, not at import: the backup code needs better-sqlite3, an optional package.
  let backups: StoreBackups | null = null;
  const load = async (): Promise<StoreBackups> => {
    const { StoreBackups } = await import('../backup/store-backups.ts');
    backups ??= new StoreBackups({
      dbPath,
      spec,
      ...(overrides.clock && { clock: overrides.clock }),
      ...(overrides.logger && { logger: overrides.logger }),
    });
    return backups;
  };
  return {
    beforeStoreOpen: async () => {
      (await load()).recover();
    },
    runnables: (host) => {
      let inner: Runnable | null = null;
      return [
        {
          name: 'backup',
          start: async (signal) => {
            inner = (await load()).runnable(host.bus);
            await inner.start(signal);
          },
          stop: (deadline) => inner?.stop?.(deadline),
        },
      ];
    },
    status: { backup: () => backups?.status() ?? null },
  };
}
