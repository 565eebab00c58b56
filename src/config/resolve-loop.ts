import {
  defaultPlan,
  type LoopDefinition,
  type MissedPolicy,
  type OverlapPolicy,
  type ResolvedLoop,
  type ResolvedTrigger,
} from '../core/loop.ts';
import { ConfigError } from './config-error.ts';
import { functionSchema, loopSchemas } from './schema.ts';
import { type ConfigPath, type Validated, validate } from './zod-issues.ts';
import { builtOnUse, zod } from './zod-on-use.ts';

/** A TypeScript loop definition's schema, built at the first check (zod loads then, not at import). */
const loopDefinitionSchema = builtOnUse(buildDefinitionSchema);

function buildDefinitionSchema() {
  const z = zod();
  const { loopName, trigger, policies, publish } = loopSchemas();
  return z.strictObject(
    {
      name: loopName,
      description: z.string().optional(),
      trigger,
      observe: functionSchema('a function (ctx) => snapshot').optional(),
      plan: functionSchema('a function (snapshot, ctx) => items').optional(),
      act: functionSchema('a function (item, ctx) => result'),
      policies,
      publish,
      recipe: z.string().min(1).optional(),
    },
    {
      error: (issue) => (issue.code === 'invalid_type' ? 'a loop definition { name, trigger, act, ... }' : undefined),
    },
  );
}

/** The parts of a loop once validated, before they are frozen into a {@link ResolvedLoop}. */
export interface LoopParts {
  name: string;
  description?: string | undefined;
  trigger: { trigger: ResolvedTrigger; overlap: OverlapPolicy; missed: MissedPolicy };
  observe?: ResolvedLoop['observe'] | undefined;
  plan?: ResolvedLoop['plan'] | undefined;
  act: ResolvedLoop['act'];
  policies: ResolvedLoop['policies'];
  publish?: ResolvedLoop['publish'];
  recipe?: string | null | undefined;
}

/** Freezes validated parts into a loop, filling the default observe and plan. */
export function buildLoop(parts: LoopParts): ResolvedLoop {
  return Object.freeze({
    name: parts.name,
    description: parts.description ?? '',
    trigger: parts.trigger.trigger,
    overlap: parts.trigger.overlap,
    missed: parts.trigger.missed,
    observe: parts.observe ?? (() => undefined),
    plan: parts.plan ?? defaultPlan,
    act: parts.act,
    policies: parts.policies,
    publish: parts.publish ?? null,
    recipe: parts.recipe ?? null,
  });
}

/**
 * Validates a TypeScript loop definition found at `prefix` in `file`,
 * collecting every issue. Used for TS config modules and by
 * {@link resolveLoop}.
 */
export function checkLoop(def: unknown, file: string, prefix: ConfigPath = []): Validated<ResolvedLoop> {
  const result = validate(loopDefinitionSchema(), def, file, prefix);
  if (!result.ok) return result;
  return { ok: true, value: buildLoop(result.value as LoopParts) };
}

/**
 * Validates a {@link LoopDefinition} (name, trigger, policies, that the steps
 * are functions) and resolves it: durations in ms, {@link LOOP_DEFAULTS}
 * filled, observe defaulting to "no snapshot" and plan to `defaultPlan`.
 * Throws a {@link ConfigError} naming `where` (e.g. `defineLoop(prices)`)
 * with every issue found.
 *
 * @example
 * const loop = resolveLoop(def, `defineLoop(${def.name})`);
 * loop.policies.timeoutMs; // 30000 unless the definition says otherwise
 */
export function resolveLoop<S = unknown, P = unknown>(def: LoopDefinition<S, P>, where: string): ResolvedLoop {
  const result = checkLoop(def, where);
  if (!result.ok) throw new ConfigError(result.issues);
  return result.value;
}
