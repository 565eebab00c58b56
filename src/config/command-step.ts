import type { CycleContext, ItemContext, ResolvedLoop } from '../core/loop.ts';
import type { WorkItem } from '../core/work-item.ts';
import { runCommand } from '../execution/command.ts';
import type { CommandSpec } from './file-schema.ts';
import type { Env } from './interpolate.ts';

/** What a command step needs from the config around it. */
export interface CommandSite {
  loop: string;
  /** The config file's directory: the command's working directory. */
  dir: string;
  /** The environment the config was loaded with; the command inherits it. */
  env: Env;
  /** Used when the command gives no timeout of its own. */
  defaultTimeoutMs: number;
}

/** The environment given to a command: the config's, plus what the step is about. */
function childEnv(site: CommandSite, ctx: CycleContext, extra: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(site.env)) if (value !== undefined) env[name] = value;
  return { ...env, AUTOLOOP_LOOP: site.loop, AUTOLOOP_CYCLE_ID: ctx.cycleId, AUTOLOOP_TICK_ID: ctx.tick.id, ...extra };
}

/**
 * An act step that runs `spec.command` once per attempt: the work item
 * (`{ key, priority, payload, idempotencyKey }`) as JSON on stdin, its JSON
 * stdout as the result. The item's signal and clock bound it; exit code 3
 * fails the item without retries (see runCommand).
 */
export function commandAct(spec: CommandSpec, site: CommandSite): ResolvedLoop['act'] {
  return (item: WorkItem, ctx: ItemContext) =>
    runCommand({
      command: spec.command,
      input: { key: item.key, priority: item.priority, payload: item.payload, idempotencyKey: item.idempotencyKey },
      timeoutMs: spec.timeoutMs ?? site.defaultTimeoutMs,
      signal: ctx.signal,
      clock: ctx.clock,
      cwd: site.dir,
      env: childEnv(site, ctx, { AUTOLOOP_ITEM_KEY: item.key, AUTOLOOP_ATTEMPT: String(ctx.attempt) }),
      what: `act ${item.key}`,
    });
}

/** An observe step that runs `spec.command` with `{ loop, tick }` on stdin; its JSON stdout is the snapshot. */
export function commandObserve(spec: CommandSpec, site: CommandSite): ResolvedLoop['observe'] {
  return (ctx: CycleContext) =>
    runCommand({
      command: spec.command,
      input: { loop: ctx.loop, tick: ctx.tick },
      timeoutMs: spec.timeoutMs ?? site.defaultTimeoutMs,
      signal: ctx.signal,
      clock: ctx.clock,
      cwd: site.dir,
      env: childEnv(site, ctx, {}),
      what: 'observe',
    });
}
