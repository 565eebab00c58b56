import type { Registry } from 'prom-client';
import type { DependencySpec } from '../config/dependency-schema.ts';
import type { Logger } from '../core/logger.ts';
import type { LoopDefinition, ResolvedDependency, ResolvedLoop } from '../core/loop.ts';
import type { AdminActionGroup } from '../http/admin-actions.ts';
import type { EventStreamOptions } from '../http/events-route.ts';
import type { HttpExtension } from '../http/extension.ts';
import type { Runnable } from '../lifecycle/runnable.ts';
import type { EventBus } from '../observability/events.ts';
import type { Recipe } from '../recipes/recipe.ts';
import type { RecipeRegistry } from '../recipes/registry.ts';
import type { Store } from '../storage/store.ts';
import type { Clock } from '../time/clock.ts';
import type { Entropy } from '../time/entropy.ts';
import type { HealthCheck } from './health.ts';
import type { ObservabilityOptions } from './observers.ts';
import type { ServiceControl } from './service-control.ts';

export interface HttpOptions {
  host: string;
  port: number;
  /** Bearer token for admin endpoints ('' or absent: they refuse every request). */
  token?: string;
  /** Host header values accepted besides localhost, 127.0.0.1, [::1] and `host`. */
  allowedHosts?: readonly string[];
  /**
   * Timing of `/events` (poll interval, heartbeat, batch sizes); defaults
   * suit browsers and proxies. With a Redis store, streams also wake at once
   * when any instance appends events, so `pollMs` is only the fallback.
   */
  events?: Omit<EventStreamOptions, 'subscribe'>;
  /**
   * How often the full `/health` report is computed (store ping, every loop,
   * every check); requests are served the last report with its `ageMs`.
   * Default 1000. A change of the runtime's state or of a loop's pause
   * recomputes it at once.
   */
  healthIntervalMs?: number;
  /**
   * Let the HTTP adapter replace the process-wide `Request` and `Response`
   * with its own lighter classes, so a response is written without a web
   * stream per request (several times the requests/s). Only for a process
   * autoloop owns: `autoloop start` sets it; a runtime embedded in your
   * process leaves your globals alone (the default, false).
   */
  replaceFetchGlobals?: boolean;
}

export interface RuntimeOptions {
  /** Loops as `defineLoop` results or resolved config loops. */
  loops: ReadonlyArray<LoopDefinition | ResolvedLoop>;
  /** A store, or a store URL (`memory://`, `sqlite://./path.db`). Default `memory://`. */
  store?: Store | string;
  clock?: Clock;
  /** Randomness and ids (owner, cycles). Default the system's; a `SeededEntropy` makes a run reproducible. */
  entropy?: Entropy;
  /** Randomness in [0, 1) for backoff jitter, overriding `entropy.random`. */
  random?: () => number;
  /**
   * For `autoloop simulate` only: what the simulation knows of the store, so
   * its clock may skip recovery ticks and store probes that would do nothing
   * (see `Clock.setPeriodTimer`). Both answers must be exact. Unset (as in
   * production), every tick and probe runs.
   */
  quiet?: QuietStore;
  /** Names this process in its owner id `<host>:<pid>:<id>`. Default `os.hostname()` and `process.pid`. */
  instance?: { host?: string; pid?: number };
  /** Serve health and metrics over HTTP. Default off in the library; the CLI turns it on. */
  http?: HttpOptions | false;
  /** How long shutdown lets in-flight items finish before aborting them. Default 30 s. */
  shutdownGraceMs?: number;
  logger?: Logger;
  /** Extra named health checks, shown under `/health` and counted in it. */
  healthChecks?: Record<string, HealthCheck>;
  /** Base directory for relative sqlite URLs. Default process.cwd(). */
  cwd?: string;
  /** Also export Node process metrics (CPU, memory, event loop lag). Default false; the CLI turns it on. */
  processMetrics?: boolean;
  /**
   * Derive the Prometheus series of cycles, items and leases from the
   * runtime's events. Default true; `autoloop simulate` turns it off, since
   * nobody scrapes a simulated instance.
   */
  eventMetrics?: boolean;
  /** Lease TTL for item keys, queue claims and instance heartbeats. Default 10 s. */
  leaseTtlMs?: number;
  /**
   * Named dependencies loops declare in `policies.uses`: a circuit breaker and
   * a rate limit each (resolved config, or TS declarations validated here).
   */
  dependencies?: ReadonlyArray<ResolvedDependency> | Record<string, DependencySpec>;
  /**
   * How often expired leases are swept and orphaned items adopted. Default
   * 1 s. The store's breaker probe pings at half this interval (at least
   * every 500 ms), so with the default a store outage opens the breaker
   * within a second.
   */
  recoveryIntervalMs?: number;
  /**
   * Cycle records (with their item results) and events older than this are
   * deleted, at start and every hour. Default: kept forever.
   */
  retentionMs?: number;
  /** Alerts (with the signal runner's defaults), webhooks and OpenTelemetry traces; all off when absent. */
  observability?: ObservabilityOptions;
  /**
   * Recipes besides the built-in ones (or a whole registry), for loops that
   * name them (`recipe:`). A loop made by a recipe gets that recipe's routes,
   * metrics, health components and panel.
   */
  recipes?: readonly Recipe[] | RecipeRegistry;
  /**
   * More long-lived parts of this deployment (e.g. supervised services):
   * started after the HTTP server and before the loops, stopped after the
   * loops drained, in reverse order. Names must not clash with the
   * runtime's own parts (see runtime-parts.ts). A function is called once
   * at `start()` with what the runtime lends its parts (the store, once
   * open, the bus, the metrics registry).
   */
  runnables?: readonly Runnable[] | ((host: PartHost) => readonly Runnable[]);
  /**
   * The deployment's supervised services as a controller scales them
   * (`supervisor.control()`), lent to recipes as `context.services`.
   * Default: a control with no services.
   */
  serviceControl?: ServiceControl;
  /**
   * Admin actions of the deployment's parts, served as token-guarded
   * `POST /<group>/:name/<verb>` (e.g. `services` → `POST /services/web/restart`).
   */
  adminActions?: Readonly<Record<string, AdminActionGroup>>;
  /**
   * Runs when the `store` part starts, before it opens a store URL (not
   * called for a store object): e.g. check a SQLite file and restore it from
   * a backup when it is corrupt. A rejection fails the start.
   */
  beforeStoreOpen?: () => Promise<void> | void;
  /**
   * HTTP extensions of the deployment's parts (e.g. the supervisor's
   * dashboard panel at `/supervisor`), mounted like a recipe's under their
   * `path`. One with a `panel` is listed in `/status`'s `recipes` under its
   * path's name (`supervisor`), with no loops, so the dashboard mounts it as
   * it mounts a recipe's panel. Paths must not clash with a recipe's name.
   */
  extensions?: readonly HttpExtension[];
  /**
   * Fields a deployment's parts add to `/status` (e.g. `services`), each read
   * when a snapshot is taken. Names must not clash with the snapshot's own.
   */
  status?: Readonly<Record<string, () => unknown>>;
}

/**
 * What the runtime lends the parts in {@link RuntimeOptions.runnables}: read
 * `store()` and `registry()` from `start()` on (the store opens first).
 */
export interface PartHost {
  /** The store, behind its breaker. Throws before the runtime's store is open. */
  store(): Store;
  readonly bus: EventBus;
  /** The runtime's Prometheus registry (null before the metrics part started). */
  registry(): Registry | null;
}

/** What a simulated store can say about the periodic work on it (see `RuntimeOptions.quiet`). */
export interface QuietStore {
  /** True when this process's store calls would be answered at once now (no outage, not frozen). */
  answers(): boolean;
  /**
   * True when a recovery tick of `owner` at `now` would find nothing: no
   * expired lease, no claimable queued item, no running cycle record of a
   * process whose heartbeat lapsed.
   */
  nothingToRecover(owner: string, now: number): boolean;
}
