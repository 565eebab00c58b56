import type { Hono } from 'hono';
import type { Registry } from 'prom-client';
import type { z } from 'zod';
import { ConfigError } from '../config/config-error.ts';
import { validate } from '../config/zod-issues.ts';
import type { CycleRecord } from '../core/cycle-record.ts';
import type { Logger } from '../core/logger.ts';
import type { LoopDefinition, ResolvedLoop } from '../core/loop.ts';
import type { DashboardPanel, HttpTools } from '../http/extension.ts';
import type { Runnable } from '../lifecycle/runnable.ts';
import type { AlertRule } from '../observability/alerts/alert-rule.ts';
import type { EventBus } from '../observability/events.ts';
import type { SpanHook } from '../observability/span-hook.ts';
import type { Dependency } from '../policies/dependency.ts';
import type { LoopGovernor } from '../policies/loop-governor.ts';
import type { HealthCheck } from '../runtime/health.ts';
import type { LoopControl } from '../runtime/loop-control.ts';
import type { ServiceControl } from '../runtime/service-control.ts';
import type { Store } from '../storage/store.ts';
import type { Clock } from '../time/clock.ts';

/**
 * A recipe: a ready-made loop shape for one kind of job, plugged into the
 * runtime. It has a name (what `recipe:` says in YAML), an options schema
 * (zod: every YAML error names `loops.<loop>.<field>`), a `build` that turns
 * validated options into loops, and, optionally, what it adds to a runtime
 * that runs its loops (`start`): HTTP routes under `/<name>`, metrics on the
 * runtime's registry, health components, a dashboard panel, runnables,
 * alert rules, a facade for TypeScript callers. Its durable state lives in
 * the store it is given (`store.records` and `store.streams`, namespaced by
 * the recipe's name).
 *
 * Event types of a recipe are added to the typed event map by declaration
 * merging, so `bus.emit` and `bus.on` stay typed:
 *
 * ```ts
 * declare module 'autoloop' {
 *   interface EventMap { 'inventory.scanned': { loop: string; objects: number } }
 * }
 * ```
 *
 * The config loader, the runtime, the HTTP app, the dashboard and the CLI
 * reach recipes through one {@link RecipeRegistry}; no file outside a
 * recipe's folder names it. Define one with {@link defineRecipe}.
 */
export interface Recipe<Options = unknown> {
  /** What `recipe:` names; also the HTTP path prefix (`/<name>`) and the state namespace. */
  readonly name: string;
  /** One line for `--help` and the docs. */
  readonly description: string;
  /** The loop's keys besides `recipe:` (a strict object, so a misspelt key is an error). */
  readonly options: z.ZodType<Options>;
  /**
   * The loops of one `recipe:` entry. Throw a ConfigError (its paths relative
   * to the loop) for options that validate but do not fit together.
   */
  build(options: Options, site: RecipeSite): RecipeBuild;
  /** What the recipe adds to a runtime that runs at least one of its loops; called once, after the store opened. */
  start?(context: RecipeContext): RecipeParts | Promise<RecipeParts>;
}

/** Where a recipe's loop is declared. */
export interface RecipeSite {
  /** The loop's name (its key under `loops:`). */
  readonly name: string;
  /** The directory relative paths start from (the config file's). */
  readonly dir: string;
  /** Environment for `${VAR}` defaults and endpoints the recipe reads. */
  readonly env: Readonly<Record<string, string | undefined>>;
}

/** The loops one `recipe:` entry makes, and facts for the operator (logged at start, shown by `validate`). */
export interface RecipeBuild {
  readonly loops: readonly LoopDefinition[];
  readonly notes?: readonly string[];
}

/** What a recipe gets from the runtime when it starts. */
export interface RecipeContext {
  /** Names of the loops this recipe made, in config order. */
  readonly loops: readonly string[];
  /**
   * Those loops as resolved, in the same order: the functions are the ones
   * `build` made, so a recipe can find the per-loop state its build closed
   * over (e.g. in a WeakMap keyed by the loop's `act`).
   */
  readonly definitions: readonly ResolvedLoop[];
  /**
   * Runs one cycle of one of this recipe's loops now (a manual tick), as
   * `runtime.run(loop)` does: a trigger the recipe implements itself (a
   * queue threshold). Rejects unless the runtime is running.
   */
  run(loop: string): Promise<CycleRecord>;
  /** The store (behind its breaker): use `records`/`streams` under the recipe's name for durable state. */
  readonly store: Store;
  readonly bus: EventBus;
  readonly clock: Clock;
  readonly logger: Logger;
  /** The runtime's Prometheus registry. */
  readonly registry: Registry;
  /** The runtime's named dependencies (breakers, rate limits, latency). */
  readonly dependencies: ReadonlyMap<string, Dependency>;
  /** A loop's run-time policies (adaptive limit, latency window); undefined until the loops started (just after recipes). */
  governor(loop: string): LoopGovernor | undefined;
  /**
   * Every loop of the runtime (not only the recipe's) as a controller acts on
   * it: concurrency, pause, resume, run now; the admin routes' actions. Its
   * methods throw until the loops started (just after recipes).
   */
  readonly control: LoopControl;
  /**
   * The recipe's own OpenTelemetry spans (observability/span-hook.ts), beside
   * the runtime's cycle spans; no-ops costing a property read when
   * `tracing.enabled` is off.
   */
  readonly spans: SpanHook;
  /**
   * The deployment's supervised services as a controller scales them (see
   * {@link ServiceControl}); no services when the runtime runs none (e.g.
   * `autoloop run`). Its scale rejects until the services started (just
   * after recipes).
   */
  readonly services: ServiceControl;
}

/** What a recipe adds to a runtime. Every part is optional. */
export interface RecipeParts {
  /** Routes, mounted under `/<recipe name>` (register `/` for the prefix itself). */
  readonly http?: (app: Hono, tools: HttpTools) => void;
  /** Named health components, counted in `/health`. */
  readonly health?: Readonly<Record<string, HealthCheck>>;
  /** A dashboard panel: its title, module and stylesheet (the contract: {@link DashboardPanel}). */
  readonly panel?: DashboardPanel;
  /** Long-lived parts, started after the loops' runners and stopped before them. */
  readonly runnables?: readonly Runnable[];
  /** Alert rules evaluated with the runtime's own (when alerts are on). */
  readonly alerts?: readonly AlertRule[];
  /** Extra fields under `recipes.<name>` in `/status`. */
  readonly status?: () => Promise<unknown> | unknown;
  /** What `runtime.recipe(name)` returns to TypeScript callers (e.g. the recipe's metrics). */
  readonly api?: unknown;
  /** Called when the runtime stops (unsubscribe from the bus, unregister metrics). */
  readonly dispose?: () => void;
}

/**
 * Defines a recipe. Returns it unchanged, typed; register it with
 * `createRuntime({ recipes: [r] })` or `loadConfig(file, { recipes: [r] })`,
 * then use it as `recipe: <name>` in YAML or with {@link recipeLoops} in
 * TypeScript.
 *
 * @example
 * const hello = defineRecipe({
 *   name: 'hello',
 *   description: 'greets every name',
 *   options: z.strictObject({ names: z.array(z.string()), trigger: z.unknown().optional() }),
 *   build: (o, site) => ({
 *     loops: [defineLoop({ name: site.name, recipe: 'hello', trigger: { interval: '1m' },
 *       observe: () => o.names, plan: (ns) => ns.map((n) => ({ key: n, payload: n })), act: (i) => `hi ${i.payload}` })],
 *   }),
 *   start: ({ registry }) => ({ http: (app) => app.get('/', (c) => c.json({ ok: true })) }),
 * });
 */
export function defineRecipe<Options>(recipe: Recipe<Options>): Recipe<Options> {
  return recipe;
}

/**
 * The loops of a recipe for TypeScript callers: `options` validated with the
 * recipe's schema (errors name `loops.<name>.<field>`), then built.
 *
 * @example
 * const runtime = createRuntime({ recipes: [hello], loops: recipeLoops(hello, 'greet', { names: ['ada'] }) });
 */
export function recipeLoops<Options>(
  recipe: Recipe<Options>,
  name: string,
  options: unknown,
  site: Partial<Omit<RecipeSite, 'name'>> = {},
): LoopDefinition[] {
  const checked = validate(recipe.options, options, `recipeLoops(${recipe.name})`, ['loops', name]);
  if (!checked.ok) throw new ConfigError(checked.issues);
  const built = recipe.build(checked.value, { name, dir: site.dir ?? '.', env: site.env ?? {} });
  return built.loops.map((loop) => ({ ...loop, recipe: recipe.name }));
}
