/**
 * `dependencies.<name>`: a named dependency's breaker and rate limit, as a
 * config file or `createRuntime({ dependencies })` declares it. Its own
 * module so the runtime validates dependencies without loading the whole
 * file schema (logging, alerts, services, simulate).
 */
import type { z } from 'zod';
import { LOOP_DEFAULTS, type ResolvedDependency } from '../core/loop.ts';
import { ConfigError, type ConfigIssue } from './config-error.ts';
import { durationMs } from './schema.ts';
import { validate } from './zod-issues.ts';
import { builtOnUse, zod } from './zod-on-use.ts';

/** `dependencies.<name>`'s schema, built at the first check (zod loads then, not at import). */
export const dependencySchema = builtOnUse(buildDependencySchema);

type DependencySchema = ReturnType<typeof buildDependencySchema>;

function buildDependencySchema() {
  const z = zod();
  return z.strictObject({
    breaker: z
      .strictObject({
        failureThreshold: z.number().int().min(1).optional(),
        recoveryTimeout: durationMs({ minMs: 1 }).optional(),
        halfOpenMaxCalls: z.number().int().min(1).optional(),
        successThreshold: z.number().int().min(1).optional(),
      })
      .optional(),
    rateLimit: z
      .strictObject({
        requests: z.number().int().min(1),
        per: durationMs({ minMs: 1 }),
        shared: z.boolean().optional(),
      })
      .optional(),
  });
}

/** `dependencies.<name>` after validation, with the seed's breaker defaults. */
export function resolveDependency(name: string, input: z.output<DependencySchema>): ResolvedDependency {
  const d = LOOP_DEFAULTS.breaker;
  const b = input.breaker;
  return Object.freeze({
    name,
    breaker: b
      ? Object.freeze({
          failureThreshold: b.failureThreshold ?? d.failureThreshold,
          recoveryTimeoutMs: b.recoveryTimeout ?? d.recoveryTimeoutMs,
          halfOpenMaxCalls: b.halfOpenMaxCalls ?? d.halfOpenMaxCalls,
          successThreshold: b.successThreshold ?? d.successThreshold,
        })
      : null,
    rateLimit: input.rateLimit
      ? Object.freeze({
          requests: input.rateLimit.requests,
          perMs: input.rateLimit.per,
          shared: input.rateLimit.shared ?? true,
        })
      : null,
  });
}

/** A dependency as a TypeScript user declares it in `createRuntime({ dependencies })`. */
export type DependencySpec = z.input<DependencySchema>;

/**
 * Validates dependency declarations written in TypeScript (the same rules as
 * `dependencies:` in YAML) and resolves them. Throws a ConfigError naming
 * `createRuntime.dependencies.<name>.<field>` for bad values.
 */
export function resolveDependencies(specs: Record<string, DependencySpec>): ResolvedDependency[] {
  const issues: ConfigIssue[] = [];
  const resolved: ResolvedDependency[] = [];
  for (const [name, spec] of Object.entries(specs)) {
    const checked = validate(dependencySchema(), spec, 'createRuntime', ['dependencies', name]);
    if (checked.ok) resolved.push(resolveDependency(name, checked.value));
    else issues.push(...checked.issues);
  }
  if (issues.length > 0) throw new ConfigError(issues);
  return resolved;
}
