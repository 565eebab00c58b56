import type { CycleContext, ResolvedLoop } from '../core/loop.ts';
import { commandAct, commandObserve } from './command-step.ts';
import { type ConfigIssue, formatPath } from './config-error.ts';
import type { CommandSpec, FileLoop, ModuleRef } from './file-schema.ts';
import type { Env } from './interpolate.ts';
import { importFunction } from './module-ref.ts';
import { buildLoop } from './resolve-loop.ts';
import type { Validated } from './zod-issues.ts';

/** Where the loops of a YAML file are resolved from. */
export interface FileContext {
  /** The file as messages name it. */
  file: string;
  /** Its directory. */
  dir: string;
  env: Env;
}

type Step = (...args: never[]) => unknown;

/**
 * Stage 3 for YAML loops: imports module references, builds command steps,
 * turns a static `items` list into the observe step. All loops resolve
 * together and every failed import is reported.
 */
export async function resolveFileLoops(
  loops: Record<string, FileLoop>,
  ctx: FileContext,
): Promise<Validated<ResolvedLoop[]>> {
  const results = await Promise.all(Object.entries(loops).map(([name, loop]) => resolveFileLoop(name, loop, ctx)));
  const issues = results.flatMap((result) => (result.ok ? [] : result.issues));
  if (issues.length > 0) return { ok: false, issues };
  return { ok: true, value: results.map((result) => (result as { ok: true; value: ResolvedLoop }).value) };
}

async function resolveFileLoop(name: string, loop: FileLoop, ctx: FileContext): Promise<Validated<ResolvedLoop>> {
  const site = { loop: name, dir: ctx.dir, env: ctx.env, defaultTimeoutMs: loop.policies.timeoutMs };
  const step = async (
    key: string,
    ref: ModuleRef | CommandSpec | undefined,
    command: (spec: CommandSpec) => Step,
  ): Promise<{ fn?: Step; issue?: ConfigIssue }> => {
    if (ref === undefined) return {};
    if (ref.kind === 'command') return { fn: command(ref) };
    return importFunction(ref, ctx.dir, { file: ctx.file, path: formatPath(['loops', name, key]) });
  };
  const [observe, plan, act] = await Promise.all([
    step('observe', loop.observe, (spec) => commandObserve(spec, site)),
    step('plan', loop.plan, () => {
      throw new Error('unreachable: the schema allows only module references for plan');
    }),
    step('act', loop.act, (spec) => commandAct(spec, site)),
  ]);
  // Collected after the imports, in step order, so messages do not depend on which import finished first.
  const issues = [observe, plan, act].flatMap((result) => (result.issue ? [result.issue] : []));
  if (issues.length > 0 || act.fn === undefined) return { ok: false, issues };
  const items = loop.items;
  return {
    ok: true,
    value: buildLoop({
      name,
      description: loop.description,
      trigger: loop.trigger,
      observe:
        (observe.fn as ResolvedLoop['observe'] | undefined) ?? (items && ((_: CycleContext) => structuredClone(items))),
      plan: plan.fn as ResolvedLoop['plan'] | undefined,
      act: act.fn as ResolvedLoop['act'],
      policies: loop.policies,
      publish: loop.publish,
    }),
  };
}
