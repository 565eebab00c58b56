import type { LoopDefinition, ResolvedDependency } from '../core/loop.ts';
import { ConfigError, type ConfigIssue } from './config-error.ts';
import { type DependencySpec, dependencySchema, resolveDependency } from './file-schema.ts';
import { resolveLoop } from './resolve-loop.ts';
import { validate } from './zod-issues.ts';

/**
 * Declares a loop in TypeScript. Validates it now, so a bad trigger or
 * duration fails where the loop is written (a {@link ConfigError} from
 * `defineLoop(<name>)`), and returns it unchanged with its types inferred:
 * the snapshot type flows from observe to plan, the payload type from plan
 * to act.
 *
 * @example
 * export default defineLoop({
 *   name: 'prices',
 *   trigger: { cron: '*\/1 * * * *' },
 *   observe: async ({ signal }) => listSymbols(signal),
 *   plan: (symbols) => symbols.map((s) => ({ key: s, payload: { symbol: s } })),
 *   act: async (item, { signal }) => analyse(item.payload.symbol, signal),
 *   policies: { timeout: '10s', retry: { attempts: 2 } },
 * });
 */
export function defineLoop<S = unknown, P = unknown>(def: LoopDefinition<S, P>): LoopDefinition<S, P> {
  const name = typeof def?.name === 'string' ? def.name : '?';
  resolveLoop(def, `defineLoop(${name})`);
  return def;
}

/**
 * Validates dependency declarations written in TypeScript (the same rules as
 * `dependencies:` in YAML) and resolves them. Throws a ConfigError naming
 * `createRuntime.dependencies.<name>.<field>` for bad values.
 */
export function resolveDependencies(specs: Record<string, DependencySpec>): ResolvedDependency[] {
  const issues: ConfigIssue[] = [];
  const resolved: ResolvedDependency[] = [];
  for (const [name, spec] of Object.entries(specs)) {
    const checked = validate(dependencySchema, spec, 'createRuntime', ['dependencies', name]);
    if (checked.ok) resolved.push(resolveDependency(name, checked.value));
    else issues.push(...checked.issues);
  }
  if (issues.length > 0) throw new ConfigError(issues);
  return resolved;
}
