import { AutoloopError } from '../core/errors.ts';
import type { ResolvedLoop } from '../core/loop.ts';
import { buildSignalsLoop, signalsConfigSchema } from '../recipes/signals/signals-config.ts';
import { ConfigError, type ConfigIssue, formatPath } from './config-error.ts';
import type { Env } from './interpolate.ts';
import { resolveLoop } from './resolve-loop.ts';
import { type Validated, validate } from './zod-issues.ts';

/** The recipes a YAML loop can name with `recipe:`. */
export const RECIPES = ['signals'] as const;
export type RecipeName = (typeof RECIPES)[number];

/** A loop resolved from `recipe: <name>`, with the recipe's notes for the operator. */
export interface RecipeLoop {
  readonly loop: ResolvedLoop;
  readonly recipe: RecipeName;
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
export function resolveRecipeLoops(
  recipes: ReadonlyArray<[string, unknown]>,
  ctx: { file: string; dir: string; env: Env },
): Validated<RecipeLoop[]> {
  const issues: ConfigIssue[] = [];
  const out: RecipeLoop[] = [];
  for (const [name, raw] of recipes) {
    const prefix = ['loops', name];
    const recipe = (raw as { recipe?: unknown }).recipe;
    if (recipe !== 'signals') {
      issues.push({
        file: ctx.file,
        path: formatPath([...prefix, 'recipe']),
        expected: `one of ${RECIPES.map((r) => JSON.stringify(r)).join(', ')}`,
        got: JSON.stringify(recipe),
        hint: 'leave out `recipe:` to write observe/plan/act yourself',
      });
      continue;
    }
    const checked = validate(signalsConfigSchema, raw, ctx.file, prefix);
    if (!checked.ok) {
      issues.push(...checked.issues);
      continue;
    }
    try {
      const built = buildSignalsLoop(checked.value, { name, dir: ctx.dir, env: ctx.env });
      const loop = resolveLoop(built.loop, ctx.file);
      out.push({ loop, recipe, notes: built.notes });
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
