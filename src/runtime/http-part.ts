import type { createHttpServer, HttpApp } from '../http/http-server.ts';
import type { HttpSource } from '../http/routes.ts';
import type { Runnable } from '../lifecycle/runnable.ts';
import type { RuntimeMetrics } from '../observability/metrics.ts';
import type { EventFanout } from './event-fanout.ts';
import { type HealthReport, healthReport } from './health.ts';
import { HealthCache } from './health-cache.ts';
import type { Runtime } from './runtime.ts';
import type { HttpOptions } from './runtime-options.ts';

/**
 * The HTTP server as a runnable: the app over the runtime's `HttpSource`
 * (its views, the event log, admin actions, the recipes' extensions),
 * listening once started, closed at stop.
 */
export function httpPart(
  rt: Runtime,
  settings: HttpOptions,
  parts: { metrics: () => RuntimeMetrics; fanout: () => EventFanout | null; listening: (url: string) => void },
): Runnable {
  let server: ReturnType<typeof createHttpServer> | null = null;
  const health = new HealthCache({
    compute: () => rt.health(),
    clock: rt.clock,
    intervalMs: settings.healthIntervalMs ?? DEFAULT_HEALTH_INTERVAL_MS,
    version: () => healthVersion(rt),
  });
  const background = new AbortController();
  let computing: Promise<void> = Promise.resolve();
  let live: { at: number; state: Runtime['state']; report: HealthReport } | null = null;
  return {
    name: 'http',
    start: async () => {
      // Loaded here: a runtime without `http` (a library user's, `autoloop run`) never loads hono.
      const [{ createHttpServer }, { createProbeHandler }, { checkAdminActions }] = await Promise.all([
        import('../http/http-server.ts'),
        import('../http/probe-handler.ts'),
        import('../http/admin-actions.ts'),
      ]);
      const fanout = parts.fanout();
      const source: HttpSource = {
        health: () => health.read(),
        ready: () => rt.ready(),
        live: () => {
          // The same object within a clock millisecond and state: the probe fast path then reuses its answer.
          const now = rt.clock.now();
          if (live?.at !== now || live.state !== rt.state) {
            live = {
              at: now,
              state: rt.state,
              report: healthReport({ process: { healthy: true, state: rt.state } }, now),
            };
          }
          return live.report;
        },
        metrics: async () => {
          const { registry } = parts.metrics();
          return { contentType: registry.contentType, body: await registry.metrics() };
        },
        snapshot: () => rt.snapshot(),
        tasks: () => rt.tasks(),
        cycles: (loop, limit) => {
          rt.loops.slot(loop);
          return rt.store.cycles.list(loop, { limit });
        },
        cycle: (id) => rt.store.cycles.get(id),
        items: (cycleId) => rt.store.cycles.items(cycleId),
        events: {
          after: (seq, limit) => rt.store.events.after(seq, { limit }),
          latest: (limit) => rt.store.events.latest({ limit }),
        },
        admin: {
          loops: () => rt.loopNames,
          run: (loop) => rt.run(loop),
          pause: (loop) => rt.loop(loop).pause(),
          resume: (loop) => rt.loop(loop).resume(),
          requeue: async (loop, cycleId, item) =>
            (await rt.store.queue.enqueue(loop, cycleId, [item], null, rt.clock.now()))[0]?.id,
          shutdown: () => void rt.stop({ reason: 'POST /shutdown' }),
        },
        security: { token: settings.token ?? '', allowedHosts: settings.allowedHosts ?? [], bindHost: settings.host },
        extensions: [...rt.recipes.extensions(), ...(rt.options.extensions ?? [])],
        ...(rt.options.adminActions && { actions: rt.options.adminActions }),
      };
      // What building the app would refuse, refused now; the app itself (hono, every route module) is
      // built with the first request the probe routes do not answer, so a start is ready without it.
      checkAdminActions(source.actions ?? {});
      let built: Promise<HttpApp> | undefined;
      const buildApp = async (): Promise<HttpApp> => {
        const { createHttpApp } = await import('../http/routes.ts');
        return createHttpApp(source, {
          events: {
            ...settings.events,
            ...(fanout && { subscribe: (wake: () => void) => void fanout.listen(wake) }),
          },
        });
      };
      const app: HttpApp = {
        fetch: (request) => {
          built ??= buildApp().catch((error: unknown) => {
            rt.logger.error({ err: error }, 'http: the app could not be built; only the probe routes answer');
            throw error;
          });
          return built.then((a) => a.fetch(request));
        },
      };
      server = createHttpServer({
        host: settings.host,
        port: settings.port,
        app,
        probes: createProbeHandler(source),
        ...(settings.replaceFetchGlobals && { replaceFetchGlobals: true }),
      });
      const { url } = await server.start();
      // Only once listening: a start that fails (port in use) leaves no task behind to keep the process alive.
      computing = health.run(background.signal);
      parts.listening(url);
    },
    stop: async () => {
      background.abort();
      await Promise.all([server?.stop(), computing]);
    },
  };
}

const DEFAULT_HEALTH_INTERVAL_MS = 1_000;

/**
 * What makes the cached health report wrong at once when it changes: the
 * runtime's state, the paused loops, the store's breaker and every
 * dependency's breaker and backpressure (a probe must not see "healthy" for
 * up to an interval after the store went down).
 */
function healthVersion(rt: Runtime): string {
  const loops = [...rt.loops.slots].map(
    ([name, slot]) => `${slot.runner.paused ? name : ''}:${slot.governor.backpressure?.state ?? ''}`,
  );
  const breakers = [...rt.dependencies.values()].map((d) => d.breaker?.state ?? '');
  return `${rt.state} ${rt.storeGuard.breaker.state} ${loops.join()} ${breakers.join()}`;
}
