import { defineRecipe } from '../recipe.ts';
import { decideConfigSchema } from './decide-config.ts';
import { DecideLoop, decideLoopOf, type ExecuteOverrides } from './decide-loop.ts';
import { DecideMetrics } from './decide-metrics.ts';
import { decidePanel } from './decide-panel.ts';
import { checkEffectTargets } from './effectors.ts';

/** What `runtime.recipe<DecideApi>('decide')` returns. */
export interface DecideApi {
  /** The loops by name. */
  readonly loops: ReadonlyMap<string, DecideLoop>;
}

/**
 * The decide recipe (seed 001) on the recipe contract: `recipe: decide` in
 * YAML (options: decide-config.ts; the cycle: decide-loop.ts). In a runtime
 * that runs its loops: `GET /decide` (per loop: the last analysis and the
 * recent decisions), behind the admin token `POST /decide/<loop>/execute`
 * (one cycle now: 200 `{ cycle, decisions, latest }`, latest being the cycle's analysis) and
 * `POST /decide/<loop>/rollback/<id>` (200 the rollback's record; 409 with
 * the reason when it cannot be undone), the metrics of decide-metrics.ts,
 * and `status`. Effectors act through the runtime's `context.control`.
 */
export const decide = defineRecipe({
  name: 'decide',
  description:
    "every 30 s: sense loops and a coordination directory (agent_*.json, work_*.json, ...) -> weighted health score -> ranked decisions with a confidence -> scale a loop's concurrency",
  options: decideConfigSchema,
  build: (config, site) => {
    const loop = new DecideLoop(config, site);
    const notes = [
      `decide ${site.name}: targets ${config.targets.join(', ') || '(none)'}${loop.coordinationDir ? `, coordination ${loop.coordinationDir}` : ''}; minConfidence ${config.minConfidence}, max ${config.max}${config.dryRun ? ', dry run' : ''}`,
    ];
    return { loops: [loop.definition as never], notes };
  },
  start: async (ctx) => {
    const loops = new Map<string, DecideLoop>();
    for (const definition of ctx.definitions) {
      const loop = decideLoopOf(definition);
      if (loop) loops.set(definition.name, loop);
    }
    // TS sensors, scorers and rules: a module that does not load stops the start, naming its path.
    await Promise.all([...loops.values()].map((loop) => loop.load()));
    for (const loop of loops.values()) {
      const bad = checkEffectTargets(loop.config, loop.name, ctx);
      if (bad) throw bad;
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
        dependencies: ctx.dependencies,
        services: ctx.services,
        onScore: (target, score) => metrics.score.set({ loop: loop.name, target }, score),
        onDecision: (record) => metrics.decision(loop.name, record),
        spans: ctx.spans,
      });
    }
    const finished = ctx.bus.on('cycle.finished', (e, at) => loops.get(e.loop)?.cycleFinished(e, at));
    const api: DecideApi = { loops };
    return {
      api,
      http: (app, tools) => {
        const loopOf = (name: string) => {
          const loop = loops.get(name);
          if (!loop) throw new Error(`no decide loop "${name}"; decide loops: ${[...loops.keys()].join(', ')}`);
          return loop;
        };
        app.post('/:loop/rollback/:id', tools.admin, async (c) => {
          try {
            const record = await loopOf(c.req.param('loop')).rollback(c.req.param('id'));
            return tools.responder.json(c, 200, record);
          } catch (error) {
            return tools.responder.json(c, 409, { error: (error as Error).message });
          }
        });
        app.post('/:loop/execute', tools.admin, async (c) => {
          const overrides = executeOverrides(c.req.query());
          if ('error' in overrides) return tools.responder.json(c, 400, overrides);
          try {
            const loop = loopOf(c.req.param('loop'));
            const cycleId = await loop.executeOnce(overrides, (name) => ctx.run(name));
            const decisions = (await loop.recent(1_000)).filter((r) => r.cycleId === cycleId);
            return tools.responder.json(c, 200, { cycle: { id: cycleId }, decisions, latest: loop.status });
          } catch (error) {
            return tools.responder.json(c, 409, { error: (error as Error).message });
          }
        });
        app.get('/', async (c) =>
          c.json({
            loops: await Promise.all(
              [...loops.values()].map(async (loop) => ({
                name: loop.name,
                dryRun: loop.config.dryRun,
                minConfidence: loop.config.minConfidence,
                latest: loop.status,
                history: loop.history,
                decisions: await loop.recent(20),
              })),
            ),
          }),
        );
      },
      panel: decidePanel(),
      status: () => Object.fromEntries([...loops.values()].map((l) => [l.name, { latest: l.status }])),
      dispose: () => {
        finished.dispose();
        for (const loop of loops.values()) loop.detach();
        metrics.dispose();
      },
    };
  },
});

/** `?max=N&minConfidence=C&dryRun=true` of `POST /decide/<loop>/execute`, checked; an error names the field. */
function executeOverrides(q: Record<string, string>): ExecuteOverrides | { error: string; field: string } {
  const out: { max?: number; minConfidence?: number; dryRun?: boolean } = {};
  if (q.max !== undefined) {
    const max = Number(q.max);
    if (!Number.isInteger(max) || max < 0)
      return { error: `max: expected an integer >= 0, got "${q.max}"`, field: 'max' };
    out.max = max;
  }
  if (q.minConfidence !== undefined) {
    const min = Number(q.minConfidence);
    if (q.minConfidence.trim() === '' || !(min >= 0 && min <= 1)) {
      return { error: `minConfidence: expected a number in [0, 1], got "${q.minConfidence}"`, field: 'minConfidence' };
    }
    out.minConfidence = min;
  }
  if (q.dryRun !== undefined) {
    if (q.dryRun !== 'true' && q.dryRun !== 'false') {
      return { error: `dryRun: expected true or false, got "${q.dryRun}"`, field: 'dryRun' };
    }
    out.dryRun = q.dryRun === 'true';
  }
  return out;
}
