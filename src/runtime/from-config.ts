import type { ResolvedConfig } from '../config/load-config.ts';
import type { RuntimeOptions } from './runtime-options.ts';

/**
 * The runtime options a resolved config describes: its loops, store,
 * dependencies, leases, shutdown grace, retention, HTTP surface, alerts,
 * webhooks and traces, and its recipes. `overrides` replaces any of them
 * (a CLI command that runs without HTTP, or on another store).
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
    ...overrides,
  };
}
