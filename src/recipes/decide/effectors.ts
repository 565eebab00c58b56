/**
 * What an executed decision does, and its inverse for rollback.
 *
 * | type                                  | effect (through the runtime's {@link LoopControl} or I/O)         | inverse               |
 * |---------------------------------------|-------------------------------------------------------------------|-----------------------|
 * | `scale_up`, `scale_down`              | the loop's concurrency to `parameters.to`, clamped to `agents`    | the previous value    |
 * |                                       | (adaptive loops: their ceiling; adaptive moves below it)          |                       |
 * | `pause`, `resume`                     | the loop's scheduled ticks skipped / taken again                   | the previous state    |
 * | `run_now`, `coordination_improve`     | one cycle of the loop now (the seed's "process N items")          | none                  |
 * | `webhook`                             | POST the decision as JSON to `parameters.url` (2xx or it failed)  | none                  |
 * | `command`                             | `/bin/sh -c parameters.command`, the decision as JSON on stdin    | none                  |
 *
 * `optimize`, and any decision on the coordination directory, has no
 * effector: it is journaled only. A change without an inverse is not
 * verified and cannot be rolled back (the journal says so).
 */
import { runCommand } from '../../execution/command.ts';
import type { LoopControl } from '../../runtime/loop-control.ts';
import type { Clock } from '../../time/clock.ts';
import { timeoutSignal } from '../../time/clock.ts';
import type { Decision } from './decision-rules.ts';

/** What an executed decision changed: enough to undo it, when it can be undone. */
export type Change =
  | { readonly kind: 'concurrency'; readonly loop: string; readonly previous: number; readonly limit: number }
  | { readonly kind: 'paused'; readonly loop: string; readonly previous: boolean; readonly paused: boolean }
  | { readonly kind: 'run'; readonly loop: string; readonly cycleId: string; readonly outcome: string }
  | { readonly kind: 'webhook'; readonly url: string; readonly status: number }
  | { readonly kind: 'command'; readonly command: string };

/** Bounds decide never moves a loop's concurrency out of. */
export interface ConcurrencyBounds {
  readonly min: number;
  readonly max: number;
}

export interface EffectorDeps {
  readonly control: LoopControl;
  readonly clock: Clock;
  readonly bounds: ConcurrencyBounds;
  /** Webhooks and commands give up after this long. */
  readonly timeoutMs: number;
  /** Where commands run. */
  readonly cwd: string;
  readonly signal?: AbortSignal;
}

/** Whether `d` has an effector; `loops` are the names the control knows. */
export function hasEffector(d: Decision, loops: readonly string[]): boolean {
  if (d.type === 'webhook' || d.type === 'command') return true;
  if (d.type === 'optimize') return false;
  return loops.includes(d.target);
}

/** Whether a change can be undone (and so is verified). */
export function reversible(c: Change): c is Extract<Change, { kind: 'concurrency' | 'paused' }> {
  return c.kind === 'concurrency' || c.kind === 'paused';
}

/** Applies `d` and returns what changed. Throws with the reason when it could not. */
export async function apply(d: Decision, deps: EffectorDeps): Promise<Change> {
  const { control } = deps;
  switch (d.type) {
    case 'scale_up':
    case 'scale_down': {
      const previous = control.concurrency(d.target).limit;
      const limit = Math.min(deps.bounds.max, Math.max(deps.bounds.min, Math.round(Number(d.parameters.to))));
      control.setConcurrency(d.target, limit);
      return { kind: 'concurrency', loop: d.target, previous, limit };
    }
    case 'pause':
    case 'resume': {
      const previous = control.paused(d.target);
      if (d.type === 'pause') control.pause(d.target);
      else control.resume(d.target);
      return { kind: 'paused', loop: d.target, previous, paused: d.type === 'pause' };
    }
    case 'run_now':
    case 'coordination_improve': {
      const record = await control.run(d.target);
      return { kind: 'run', loop: d.target, cycleId: record.id, outcome: record.outcome.kind };
    }
    case 'webhook':
      return {
        kind: 'webhook',
        url: String(d.parameters.url),
        status: await postJson(String(d.parameters.url), d, deps),
      };
    case 'command': {
      const command = String(d.parameters.command);
      await runCommand({
        command,
        input: d,
        timeoutMs: deps.timeoutMs,
        clock: deps.clock,
        cwd: deps.cwd,
        ...(deps.signal && { signal: deps.signal }),
      });
      return { kind: 'command', command };
    }
    default:
      throw new TypeError(`decide: ${d.type} has no effector`);
  }
}

/** Undoes a reversible change (see {@link reversible}); throws for one that is not. */
export function undo(c: Change, control: LoopControl): Change {
  if (c.kind === 'concurrency') {
    control.setConcurrency(c.loop, c.previous);
    return { ...c, previous: c.limit, limit: c.previous };
  }
  if (c.kind === 'paused') {
    if (c.previous) control.pause(c.loop);
    else control.resume(c.loop);
    return { ...c, previous: c.paused, paused: c.previous };
  }
  throw new Error(`decide: a ${c.kind} change cannot be undone`);
}

async function postJson(url: string, body: unknown, deps: EffectorDeps): Promise<number> {
  const t = timeoutSignal(
    deps.clock,
    deps.timeoutMs,
    deps.signal,
    () => new Error(`${url}: no answer within ${deps.timeoutMs} ms`),
  );
  try {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: t.signal,
    });
    await res.arrayBuffer();
    if (!res.ok) throw new Error(`${url} answered HTTP ${res.status}`);
    return res.status;
  } catch (error) {
    if (t.signal.aborted && t.signal.reason instanceof Error) throw t.signal.reason;
    throw error;
  } finally {
    t.dispose();
  }
}
