import { defineRecipe } from '../recipe.ts';
import { buildSignalsLoop, signalsConfigSchema } from './signals-config.ts';
import { createSignalsMetrics, type SignalsMetrics } from './signals-metrics.ts';
import { signalsPanel } from './signals-panel.ts';
import { registerSignalsRoutes, storeSignalsSource } from './signals-routes.ts';

/**
 * The signals recipe on the recipe contract: `recipe: signals` in YAML
 * (options: signals-config.ts), and, in a runtime that runs its loops, the
 * signal runner's metric names (`runtime.recipe('signals')` returns them,
 * a {@link SignalsMetrics}), `GET /signals` and `/signals/stream`, and the
 * dashboard's Signals panel (panel.js and panel.css, see signals-panel.ts).
 */
export const signals = defineRecipe({
  name: 'signals',
  description:
    'every minute, per symbol: candles -> indicators -> a scored BUY/SELL/HOLD signal -> optional LLM stages',
  options: signalsConfigSchema,
  build: (config, site) => {
    const built = buildSignalsLoop(config, site);
    return { loops: [built.loop], notes: built.notes };
  },
  start: (ctx) => {
    const first = ctx.loops[0];
    const metrics: SignalsMetrics = createSignalsMetrics(ctx.bus, {
      registry: ctx.registry,
      loops: ctx.loops,
      breakers: [...ctx.dependencies.values()].flatMap((d) => (d.breaker ? [d.name] : [])),
      llmFromSignals: true,
      ...(first !== undefined && { latencyP95Ms: () => ctx.governor(first)?.latency.p95 ?? 0 }),
    });
    const source = storeSignalsSource({ store: () => ctx.store, loops: ctx.loops, clock: ctx.clock });
    return {
      api: metrics,
      http: (app, tools) => registerSignalsRoutes(app, source, tools),
      panel: signalsPanel(),
      dispose: () => metrics.dispose(),
    };
  },
});
