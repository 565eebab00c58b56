import { AutoloopError } from '../core/errors.ts';
import type { ResolvedLoop } from '../core/loop.ts';
import type { RecipeRegistry } from '../recipes/registry.ts';
import { ConfigError, type ConfigIssue, formatPath } from './config-error.ts';
import type { Env } from './interpolate.ts';
import { resolveLoop } from './resolve-loop.ts';
import { type Validated, validate } from './zod-issues.ts';

/** A loop resolved from `recipe: <name>`, with the recipe's notes for the operator. */
export interface RecipeLoop {
  readonly loop: ResolvedLoop;
  readonly recipe: string;
  readonly notes: readonly string[];
}

/**
 * Splits the raw `loops:` mapping of a YAML file into plain loops (left for
 * the file schema) and recipe loops (a `recipe:` key), so each is validated
 * by its own schema and every message keeps its `loops.<name>` path.
 */
export function splitRecipeLoops(data: unknown): { data: unknown; recipes: Array<[string, unknown]> } {
  const loops = (data as { loops?: unknown } | null)?.loops;
  if (!loops || typeof loops !== 'object' || Array.isArray(loops)) return { data, recipes: [] };
  const plain: Record<string, unknown> = {};
  const recipes: Array<[string, unknown]> = [];
  for (const [name, loop] of Object.entries(loops)) {
    if (loop && typeof loop === 'object' && 'recipe' in loop) recipes.push([name, loop]);
    else plain[name] = loop;
  }
  return { data: { ...(data as object), loops: plain }, recipes };
}

/**
 * Validates and builds the recipe loops: the recipe's own schema, then the
 * loop it makes through the same checks as `defineLoop`. All issues are
 * collected, each naming `loops.<name>.<field>` in `file`.
 */
export async function resolveRecipeLoops(
  recipes: ReadonlyArray<[string, unknown]>,
  ctx: { file: string; dir: string; env: Env; registry: RecipeRegistry },
): Promise<Validated<RecipeLoop[]>> {
  const issues: ConfigIssue[] = [];
  const out: RecipeLoop[] = [];
  for (const [name, raw] of recipes) {
    const prefix = ['loops', name];
    const { recipe: named, ...options } = raw as { recipe?: unknown };
    const recipe = typeof named === 'string' ? await ctx.registry.get(named) : undefined;
    if (!recipe) {
      issues.push({
        file: ctx.file,
        path: formatPath([...prefix, 'recipe']),
        expected: `one of ${ctx.registry
          .names()
          .map((r) => JSON.stringify(r))
          .join(', ')}`,
        got: JSON.stringify(named),
        hint: 'leave out `recipe:` to write observe/plan/act yourself',
      });
      continue;
    }
    const checked = validate(recipe.options, options, ctx.file, prefix);
    if (!checked.ok) {
      issues.push(...checked.issues);
      continue;
    }
    try {
      const built = recipe.build(checked.value, { name, dir: ctx.dir, env: ctx.env });
      // The entry's notes go with its first loop, so each is said once.
      built.loops.forEach((def, i) => {
        const loop = resolveLoop({ ...def, recipe: recipe.name }, ctx.file);
        out.push({ loop, recipe: recipe.name, notes: i === 0 ? (built.notes ?? []) : [] });
      });
    } catch (error) {
      // The recipe's checks name its options (or the loop's fields); place them under this loop.
      const at = formatPath(prefix);
      if (error instanceof ConfigError) {
        issues.push(...error.issues.map((issue) => ({ ...issue, file: ctx.file, path: joinPath(at, issue.path) })));
      } else if (error instanceof AutoloopError) {
        // Not an option error of the recipe's own (those are ConfigErrors): say it whole, under the loop.
        issues.push({ file: ctx.file, path: at, expected: 'options the recipe accepts', got: error.message });
      } else throw error;
    }
  }
  return issues.length > 0 ? { ok: false, issues } : { ok: true, value: out };
}

function joinPath(prefix: string, path: string): string {
  if (path === '') return prefix;
  return path.startsWith('[') ? `${prefix}${path}` : `${prefix}.${path}`;
}
