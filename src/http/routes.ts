import { type Context, Hono } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { CycleRecord, ItemResult } from '../core/cycle-record.ts';
import type { WorkItem } from '../core/work-item.ts';
import type { HealthReport } from '../runtime/health.ts';
import type { RuntimeSnapshot } from '../runtime/runtime-views.ts';
import type { TasksView } from '../runtime/tasks-view.ts';
import type { StoredEvent } from '../storage/store.ts';
import type { Clock } from '../time/clock.ts';
import { systemClock } from '../time/system-clock.ts';
import { type AdminActionGroup, registerAdminActions } from './admin-actions.ts';
import { requireAdminToken } from './admin-auth.ts';
import { registerAdminRoutes } from './admin-routes.ts';
import { limitBody } from './body-limit.ts';
import { registerDashboard } from './dashboard/dashboard-routes.ts';
import { type EventStreamOptions, registerEventsRoute, subscribedWakeups } from './events-route.ts';
import type { HttpExtension, HttpTools } from './extension.ts';
import { registerHealthRoutes } from './health-routes.ts';
import { registerHistoryRoutes } from './history-routes.ts';
import { hostAllowlist } from './host-allowlist.ts';
import { createRedactor } from './redact.ts';
import { createResponder, errorMessage } from './respond.ts';
import { registerRetryRoute } from './retry-route.ts';
import { registerStatusRoutes } from './status-routes.ts';

/**
 * What the HTTP surface reads from a runtime. The surface holds no state of
 * its own: every request asks the source afresh.
 */
export interface HttpSource {
  /** Every component and loop. Unhealthy if any of them is. */
  health(): Promise<HealthReport>;
  /** Ready for traffic: store reachable, runtime started and not stopping. */
  ready(): Promise<HealthReport>;
  /** The process is responsive. Synchronous on purpose: it must not wait on I/O. */
  live(): HealthReport;
  /** The Prometheus exposition: body and its content type. */
  metrics(): Promise<{ contentType: string; body: string }>;
  /** `/status` and `/health/detailed`: the runtime's snapshot. */
  snapshot(): Promise<RuntimeSnapshot>;
  /** `/tasks`: the queue by priority and by loop, with estimated time. */
  tasks(): Promise<TasksView>;
  /** Recent cycle records of a loop, newest first (history for the dashboard). Rejects for an unknown loop. */
  cycles(loop: string, limit: number): Promise<CycleRecord[]>;
  /** One cycle's record, or undefined when the store has none with that id (never run, or pruned). */
  cycle(id: string): Promise<CycleRecord | undefined>;
  /** A cycle's item results in the order they finished (empty for an unknown cycle). */
  items(cycleId: string): Promise<ItemResult[]>;
  /**
   * The event log: the single source of `/events` (SSE). Poll `after(lastSeq)`;
   * ids are the log's `seq`, so Last-Event-ID resumes exactly.
   */
  events: {
    after(seq: number, limit: number): Promise<StoredEvent[]>;
    latest(limit: number): Promise<StoredEvent[]>;
  };
  /** State-changing actions: every route that calls these requires the admin token. */
  admin: {
    loops(): string[];
    run(loop: string): Promise<CycleRecord>;
    pause(loop: string): void;
    resume(loop: string): void;
    /**
     * Puts `item` in the loop's queue again, unclaimed, under `cycleId`, for
     * the next cycle to run. Resolves with its queue id, or undefined when an
     * item with the same idempotency key is queued already.
     */
    requeue(loop: string, cycleId: string, item: WorkItem): Promise<string | undefined>;
    /** Starts a graceful shutdown; resolves at once. */
    shutdown(): void;
  };
  /** Routes plug-ins (recipes) add, each mounted under its own path. */
  extensions?: readonly HttpExtension[];
  /** Admin actions a deployment's parts add: `POST /<group>/:name/<verb>`, token-guarded (admin-actions.ts). */
  actions?: Readonly<Record<string, AdminActionGroup>>;
  /** HTTP security settings: admin token ('' = admin refused) and extra allowed Host values. */
  security: { token: string; allowedHosts: readonly string[]; bindHost: string };
}

/** Every route of the API with its methods (HEAD is answered from GET). Other methods get a 405. */
export const HTTP_ROUTES = [
  { path: '/health', methods: ['GET'] },
  { path: '/health/live', methods: ['GET'] },
  { path: '/health/ready', methods: ['GET'] },
  { path: '/health/detailed', methods: ['GET'] },
  { path: '/health/:component', methods: ['GET'] },
  { path: '/metrics', methods: ['GET'] },
  { path: '/status', methods: ['GET'] },
  { path: '/tasks', methods: ['GET'] },
  { path: '/loops/:name/cycles', methods: ['GET'] },
  { path: '/loops/:name/history', methods: ['GET'] },
  { path: '/cycles', methods: ['GET'] },
  { path: '/cycles/:id', methods: ['GET'] },
  { path: '/items/failed', methods: ['GET'] },
  { path: '/events', methods: ['GET'] },
  { path: '/loops/:name/run', methods: ['POST'] },
  { path: '/loops/:name/pause', methods: ['POST'] },
  { path: '/loops/:name/resume', methods: ['POST'] },
  { path: '/loops/:name/retry', methods: ['POST'] },
  { path: '/shutdown', methods: ['POST'] },
] as const;

/** Largest request body accepted, on every route. */
export const BODY_LIMIT_BYTES = 64 * 1024;

export interface HttpAppOptions {
  /** Timers of the `/events` poll and the deferred shutdown. Default the system clock. */
  clock?: Clock;
  /** Poll interval, heartbeat and batch sizes of `/events`. */
  events?: EventStreamOptions;
}

/**
 * Build the HTTP app over `source`. Socket-free: test it with
 * `app.request('/health')`, serve it with `createHttpServer`.
 *
 * Every route, the dashboard's included, passes two guards first: the Host
 * allowlist (403, against DNS rebinding; on a non-loopback bind the probe
 * routes skip it, see bind-policy.ts) and a 64 KiB body limit (413). Admin
 * routes also need the bearer token (see admin-routes.ts); with none set
 * they are refused. Every
 * error is a JSON body, never an HTML page or a stack trace; bad input is a
 * 400 naming the field; every body is scrubbed of the token and of URL
 * passwords before it is sent.
 *
 * @example
 * const app = createHttpApp(source);
 * const res = await app.request('/health/ready'); // 200 or 503, JSON report
 */
export function createHttpApp(source: HttpSource, options: HttpAppOptions = {}): Hono {
  const clock = options.clock ?? systemClock;
  const { token, allowedHosts, bindHost } = source.security;
  const out = createResponder(createRedactor([token]));
  // strict: false lets `/health/` match `/health`, as probes are often typed by hand.
  const app = new Hono({ strict: false });

  app.use('*', hostAllowlist({ bindHost, allowedHosts }, out));
  app.use(
    '*',
    limitBody(BODY_LIMIT_BYTES, (c) =>
      out.json(c, 413, { error: `request body too large: the limit is ${BODY_LIMIT_BYTES} bytes (64 KiB)` }),
    ),
  );
  registerHealthRoutes(app, source, out);
  registerStatusRoutes(app, source, out);
  registerHistoryRoutes(app, source, out);
  // One subscription for every stream of this server.
  const wakeups = subscribedWakeups(options.events?.subscribe);
  registerEventsRoute(app, source, out, clock, options.events, wakeups);
  registerAdminRoutes(app, source, out, clock);
  registerRetryRoute(app, source, out);
  registerAdminActions(app, source.actions ?? {}, token, out);
  const admin = requireAdminToken(token, out);
  for (const extension of source.extensions ?? [])
    mountExtension(app, extension, { clock, responder: out, wakeups, admin });
  registerDashboard(app);

  // Registered after every handler, so they only see the other methods.
  for (const { path, methods } of HTTP_ROUTES) {
    const allow: string[] = [...methods];
    if (allow.includes('GET')) allow.push('HEAD');
    app.all(path, (c) =>
      out.json(
        c,
        405,
        { error: 'method not allowed', method: c.req.method, path: c.req.path, allow },
        { allow: allow.join(', ') },
      ),
    );
  }

  app.notFound((c) => out.json(c, 404, { error: 'not found', path: c.req.path }));
  app.onError((error, c) => {
    // Thrown by Hono itself for a request it cannot read (e.g. a broken body stream), or by a recipe's
    // route: the client's fault. Known by its shape, as Hono's own handler does, so an HTTPException from
    // the user's copy of hono (not the one bundled in autoloop's dist/) keeps its status too.
    const status = httpExceptionStatus(error);
    if (status !== undefined && status >= 400 && status < 500) {
      return out.json(c, status as 400, { error: error.message || 'bad request', path: c.req.path });
    }
    return out.json(c, 500, { error: errorMessage(error), path: c.req.path });
  });
  return app;
}

/** The status of an HTTPException of any copy of hono (an Error with `getResponse()` and a numeric `status`). */
function httpExceptionStatus(error: Error): number | undefined {
  if (error instanceof HTTPException) return error.status;
  const shaped = error as Error & { getResponse?: unknown; status?: unknown };
  return typeof shaped.getResponse === 'function' && typeof shaped.status === 'number' ? shaped.status : undefined;
}

/** Mounts a plug-in's routes (and its dashboard panel's module and stylesheet) under its path, behind the app's guards. */
function mountExtension(app: Hono, extension: HttpExtension, tools: HttpTools): void {
  const mounted = new Hono({ strict: false });
  const { panel } = extension;
  const asset = (body: string, contentType: string) => (c: Context) =>
    c.body(body, 200, {
      'content-type': contentType,
      'cache-control': 'no-cache',
      'x-content-type-options': 'nosniff',
    });
  if (panel) mounted.get('/panel.js', asset(panel.script, 'text/javascript; charset=utf-8'));
  if (panel?.style !== undefined) mounted.get('/panel.css', asset(panel.style, 'text/css; charset=utf-8'));
  extension.register?.(mounted, tools);
  app.route(extension.path, mounted);
}
