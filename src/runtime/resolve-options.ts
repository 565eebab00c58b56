import { type DependencySpec, resolveDependencies } from '../config/dependency-schema.ts';
import { resolveLoop } from '../config/resolve-loop.ts';
import { AutoloopError } from '../core/errors.ts';
import type { LoopDefinition, ResolvedDependency, ResolvedLoop } from '../core/loop.ts';
import { type RecipeRegistry, recipeRegistry } from '../recipes/registry.ts';
import type { RuntimeOptions } from './runtime-options.ts';

/**
 * What `createRuntime` checks and normalises before anything starts: every
 * loop resolved (a `defineLoop` result through the same checks as config),
 * dependencies validated, the recipe registry (the built-ins plus those
 * given), and `status` fields that do not clash with the snapshot's own.
 * Throws a ConfigError or AutoloopError naming what is wrong.
 */
export function resolveRuntimeOptions(options: RuntimeOptions): {
  loops: ResolvedLoop[];
  dependencies: readonly ResolvedDependency[];
  registry: RecipeRegistry;
} {
  const specs = options.dependencies ?? [];
  const dependencies = Array.isArray(specs) ? specs : resolveDependencies(specs as Record<string, DependencySpec>);
  const loops = options.loops.map((def) =>
    isResolved(def) ? def : resolveLoop(def as LoopDefinition, `defineLoop(${def.name})`),
  );
  const registry = isRegistry(options.recipes) ? options.recipes : recipeRegistry(options.recipes ?? []);
  const clash = Object.keys(options.status ?? {}).filter((field) => SNAPSHOT_FIELDS.includes(field));
  if (clash.length > 0) {
    throw new AutoloopError(`status field(s) ${clash.join(', ')} clash with the snapshot's own; pick other names`);
  }
  return { loops, dependencies, registry };
}

/** The snapshot's own fields, which `RuntimeOptions.status` may not replace. */
const SNAPSHOT_FIELDS = [
  'owner',
  'pid',
  'state',
  'startedAt',
  'uptimeS',
  'store',
  'loops',
  'dependencies',
  'leases',
  'queue',
  'instances',
  'recipes',
  'storeBreaker',
];

function isRegistry(recipes: RuntimeOptions['recipes']): recipes is RecipeRegistry {
  return recipes !== undefined && !Array.isArray(recipes);
}

function isResolved(def: LoopDefinition | ResolvedLoop): def is ResolvedLoop {
  return (
    typeof (def as ResolvedLoop).trigger?.kind === 'string' &&
    typeof (def as ResolvedLoop).policies?.timeoutMs === 'number'
  );
}
