import { defineRecipe } from '../recipe.ts';
import { buildReconcileLoop, reconcileConfigSchema } from './reconcile-config.ts';
import { type ReconcileLoop, reconcileLoopOf } from './reconcile-loop.ts';
import { ReconcileMetrics } from './reconcile-metrics.ts';
import { reconcilePanel } from './reconcile-panel.ts';
import { registerReconcileRoutes } from './reconcile-routes.ts';
import { reconcileHealth, reconcileStatus } from './reconcile-status.ts';
import { AfterOrchestration, thresholdTrigger } from './reconcile-triggers.ts';

/** What `runtime.recipe('reconcile')` returns. */
export interface ReconcileApi {
  /** The loops by name. */
  readonly loops: ReadonlyMap<string, ReconcileLoop>;
  /** Resolves once no reconcile after orchestration is pending (tests, scripts). */
  idle(): Promise<void>;
}

/**
 * The reconcile recipe (seed 000) on the recipe contract: `recipe:
 * reconcile` in YAML (options: reconcile-config.ts); in a runtime that runs
 * its loops, `GET /reconcile` (the gap report) and `/reconcile/history`,
 * health components `<loop>.inventory` and `<loop>.freshness`, metrics
 * (reconcile-metrics.ts), the dashboard panel, the reconcile after each
 * orchestration and the queue-threshold trigger.
 */
export const reconcile = defineRecipe({
  name: 'reconcile',
  description:
    'every hour: HAVE (a directory, an S3 bucket) vs SHOULD (a coverage spec) -> gaps by priority -> collectors under a time budget',
  options: reconcileConfigSchema,
  build: (config, site) => {
    const built = buildReconcileLoop(config, site);
    return { loops: [built.loop.definition as never], notes: built.notes };
  },
  start: async (ctx) => {
    const loops = new Map<string, ReconcileLoop>();
    for (const definition of ctx.definitions) {
      const loop = reconcileLoopOf(definition.act);
      if (loop) loops.set(definition.name, loop);
    }
    const metrics = new ReconcileMetrics(ctx.registry, ctx.clock);
    for (const loop of loops.values()) {
      await loop.attach({
        store: ctx.store,
        clock: ctx.clock,
        logger: ctx.logger,
        onReport: (report) => metrics.report(report),
        onCollected: (source, outcome) => metrics.collections.inc({ loop: loop.name, source, outcome }),
      });
      if (loop.report) metrics.report(loop.report);
    }
    const after = new AfterOrchestration(ctx.clock, ctx.logger);
    const subscriptions = [
      ctx.bus.on('cycle.started', (e) => loops.get(e.loop)?.cycleStarted(e.cycleId)),
      ctx.bus.on('cycle.finished', (e) => {
        const loop = loops.get(e.loop);
        if (!loop) return;
        loop.cycleFinished(e.cycleId);
        if (e.counts.planned > 0) after.request(loop);
      }),
    ];
    const thresholds = [...loops.values()].flatMap((loop) =>
      loop.options.threshold
        ? [
            thresholdTrigger({
              loop,
              ...loop.options.threshold,
              clock: ctx.clock,
              logger: ctx.logger,
              running: () => loop.cycleRunning,
              run: (name) => ctx.run(name),
            }),
          ]
        : [],
    );
    const api: ReconcileApi = { loops, idle: () => after.idle() };
    return {
      api,
      runnables: [after.runnable, ...thresholds],
      http: (app, tools) => registerReconcileRoutes(app, [...loops.values()], () => ctx.store, tools),
      health: reconcileHealth([...loops.values()], ctx.clock),
      status: () => reconcileStatus([...loops.values()]),
      panel: reconcilePanel(),
      dispose: () => {
        for (const s of subscriptions) s.dispose();
        for (const loop of loops.values()) loop.detach();
        metrics.dispose();
      },
    };
  },
});
