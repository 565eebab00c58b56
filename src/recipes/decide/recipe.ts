import { defineRecipe } from '../recipe.ts';
import { decideConfigSchema } from './decide-config.ts';
import { DecideLoop, decideLoopOf } from './decide-loop.ts';
import { DecideMetrics } from './decide-metrics.ts';

/** What `runtime.recipe<DecideApi>('decide')` returns. */
export interface DecideApi {
  /** The loops by name. */
  readonly loops: ReadonlyMap<string, DecideLoop>;
}

/**
 * The decide recipe (seed 001) on the recipe contract: `recipe: decide` in
 * YAML (options: decide-config.ts; the cycle: decide-loop.ts). In a runtime
 * that runs its loops: `GET /decide` (per loop: the last analysis and the
 * recent decisions), the metrics of decide-metrics.ts, and `status`.
 */
export const decide = defineRecipe({
  name: 'decide',
  description:
    "every 30 s: sense loops and the seed's coordination directory -> weighted health score -> ranked decisions with a confidence -> scale a loop's concurrency",
  options: decideConfigSchema,
  build: (config, site) => {
    const loop = new DecideLoop(config, site);
    const notes = [
      `decide ${site.name}: targets ${config.targets.join(', ') || '(none)'}${loop.coordinationDir ? `, coordination ${loop.coordinationDir}` : ''}; minConfidence ${config.minConfidence}, max ${config.max}${config.dryRun ? ', dry run' : ''}`,
    ];
    return { loops: [loop.definition as never], notes };
  },
  start: (ctx) => {
    const loops = new Map<string, DecideLoop>();
    for (const definition of ctx.definitions) {
      const loop = decideLoopOf(definition.act);
      if (loop) loops.set(definition.name, loop);
    }
    const metrics = new DecideMetrics(ctx.registry);
    for (const loop of loops.values()) {
      loop.attach({
        store: ctx.store,
        clock: ctx.clock,
        logger: ctx.logger,
        governor: (name) => ctx.governor(name),
        definitions: ctx.definitions,
        control: ctx.control,
        onScore: (target, score) => metrics.score.set({ loop: loop.name, target }, score),
        onDecision: (record) => metrics.decision(loop.name, record),
      });
    }
    const api: DecideApi = { loops };
    return {
      api,
      http: (app) => {
        app.get('/', async (c) =>
          c.json({
            loops: await Promise.all(
              [...loops.values()].map(async (loop) => ({
                name: loop.name,
                dryRun: loop.config.dryRun,
                minConfidence: loop.config.minConfidence,
                latest: loop.status,
                decisions: await loop.recent(20),
              })),
            ),
          }),
        );
      },
      status: () => Object.fromEntries([...loops.values()].map((l) => [l.name, { latest: l.status }])),
      dispose: () => {
        for (const loop of loops.values()) loop.detach();
        metrics.dispose();
      },
    };
  },
});
