import type { ResolvedConfig } from '../config/load-config.ts';
import { Supervisor } from '../supervisor/supervisor.ts';
import type { RuntimeOptions } from './runtime-options.ts';

/**
 * The runtime options a resolved config describes: its loops, store,
 * dependencies, leases, shutdown grace, retention, HTTP surface, alerts,
 * webhooks and traces, its recipes, and its supervised services (as
 * runnables, a health component per service and `services` in `/status`).
 * `overrides` replaces any of them (a CLI command that runs without HTTP,
 * or on another store; `autoloop run` and `plan` leave the services out
 * with `runnables: []`).
 *
 * @example
 * const runtime = createRuntime(runtimeOptionsFromConfig(config, { logger }));
 */
export function runtimeOptionsFromConfig(
  config: ResolvedConfig,
  overrides: Partial<RuntimeOptions> = {},
): RuntimeOptions {
  return {
    loops: config.loops,
    store: config.store,
    http: config.http,
    shutdownGraceMs: config.shutdown.graceMs,
    ...(config.retentionMs !== null && { retentionMs: config.retentionMs }),
    leaseTtlMs: config.leases.ttlMs,
    dependencies: config.dependencies,
    observability: { alerts: config.alerts, webhooks: config.webhooks, tracing: config.tracing, env: process.env },
    recipes: config.recipes,
    cwd: config.dir,
    ...servicesOptions(config, overrides),
    ...overrides,
  };
}

/** The `services:` section as runtime parts; nothing when there are none or `overrides.runnables` replaces them. */
function servicesOptions(config: ResolvedConfig, overrides: Partial<RuntimeOptions>): Partial<RuntimeOptions> {
  if (config.services.length === 0 || overrides.runnables !== undefined) return {};
  const supervisor = new Supervisor({
    services: config.services,
    ...(overrides.clock && { clock: overrides.clock }),
    ...(overrides.logger && { logger: overrides.logger }),
  });
  return {
    runnables: (host) => supervisor.runnables(host),
    healthChecks: supervisor.healthChecks(),
    status: { services: () => supervisor.status() },
  };
}
