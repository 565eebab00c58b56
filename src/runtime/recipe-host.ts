import { AutoloopError } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import type { ResolvedLoop } from '../core/loop.ts';
import type { HttpExtension } from '../http/extension.ts';
import type { Runnable } from '../lifecycle/runnable.ts';
import { RunnableGroup } from '../lifecycle/runnable-group.ts';
import type { AlertRule } from '../observability/alerts/alert-rule.ts';
import type { RecipeContext, RecipeParts } from '../recipes/recipe.ts';
import type { RecipeRegistry } from '../recipes/registry.ts';
import type { Clock } from '../time/clock.ts';
import type { HealthCheck } from './health.ts';

/** One started recipe: its name, its loops and what it added. */
interface Started {
  readonly name: string;
  readonly loops: readonly string[];
  readonly parts: RecipeParts;
}

/**
 * Starts the recipes whose loops this runtime runs (in the order their first
 * loop appears) and hands their parts to the rest of the runtime: HTTP
 * extensions, health checks, alert rules, panels, `/status` fields, the
 * facade `runtime.recipe(name)` returns. A recipe's runnables run in a
 * group of their own, started with the recipe and stopped before it is
 * disposed.
 */
export class RecipeHost {
  readonly #registry: RecipeRegistry;
  readonly #byRecipe = new Map<string, ResolvedLoop[]>();
  readonly #started: Started[] = [];
  #group: RunnableGroup | null = null;

  constructor(registry: RecipeRegistry, loops: readonly ResolvedLoop[]) {
    this.#registry = registry;
    for (const loop of loops) {
      if (!loop.recipe) continue;
      const made = this.#byRecipe.get(loop.recipe) ?? [];
      made.push(loop);
      this.#byRecipe.set(loop.recipe, made);
    }
  }

  /** Starts every used recipe with `context` (its `loops` and `definitions` filled in per recipe). */
  runnable(context: () => Omit<RecipeContext, 'loops' | 'definitions'>, clock: Clock, logger: Logger): Runnable {
    return {
      name: 'recipes',
      start: async (signal) => {
        const group = new RunnableGroup({ clock, logger });
        for (const [name, definitions] of this.#byRecipe) {
          const loops = definitions.map((loop) => loop.name);
          const recipe = await this.#registry.get(name);
          if (!recipe) {
            const known = this.#registry.names().join(', ') || '(none)';
            throw new AutoloopError(
              `loops ${loops.join(', ')} name recipe "${name}", which is not registered; registered: ${known}`,
            );
          }
          const parts = (await recipe.start?.({ ...context(), loops, definitions })) ?? {};
          this.#started.push({ name, loops, parts });
          for (const runnable of parts.runnables ?? []) group.add({ ...runnable, name: `${name}/${runnable.name}` });
        }
        this.#group = group;
        if (!signal.aborted) await group.start();
      },
      stop: async (deadline) => {
        await this.#group?.stop(deadline.aborted ? 0 : 5_000);
        for (const { parts } of this.#started.splice(0).reverse()) parts.dispose?.();
      },
    };
  }

  /** The facade a started recipe offers (undefined when it is not running here or offers none). */
  api(name: string): unknown {
    return this.#started.find((s) => s.name === name)?.parts.api;
  }

  extensions(): HttpExtension[] {
    return this.#started.flatMap(({ name, parts }) =>
      parts.http || parts.panel
        ? [
            {
              path: `/${name}`,
              ...(parts.http && { register: parts.http }),
              ...(parts.panel && { panel: parts.panel }),
            },
          ]
        : [],
    );
  }

  /** Health checks of every recipe, named `<recipe>.<check>`. */
  healthChecks(): Record<string, HealthCheck> {
    const out: Record<string, HealthCheck> = {};
    for (const { name, parts } of this.#started) {
      for (const [check, fn] of Object.entries(parts.health ?? {})) out[`${name}.${check}`] = fn;
    }
    return out;
  }

  alertRules(): AlertRule[] {
    return this.#started.flatMap(({ parts }) => [...(parts.alerts ?? [])]);
  }

  /**
   * `/status`'s `recipes`: per recipe its loops, its panel (title and module
   * URL) and its own status fields; then the deployment's `extensions` that
   * bring a panel, each under its path's name with no loops (the one
   * listing the dashboard mounts panels from).
   */
  async status(extensions: readonly HttpExtension[] = []): Promise<Record<string, unknown>> {
    const out: Record<string, unknown> = {};
    for (const { path, panel } of extensions) {
      if (panel)
        out[path.replace(/^\//, '')] = { loops: [], panel: { title: panel.title, script: `${path}/panel.js` } };
    }
    for (const { name, loops, parts } of this.#started) {
      out[name] = {
        loops,
        panel: parts.panel ? { title: parts.panel.title, script: `/${name}/panel.js` } : null,
        ...(parts.status ? { status: await parts.status() } : {}),
      };
    }
    return out;
  }
}
