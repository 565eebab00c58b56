/**
 * What an executed decision does, and its inverse for rollback.
 *
 * | type                                  | effect (through the runtime's {@link LoopControl} or I/O)         | inverse               |
 * |---------------------------------------|-------------------------------------------------------------------|-----------------------|
 * | `scale_up`, `scale_down`              | the loop's concurrency to `parameters.to`, clamped to `agents`    | the previous value    |
 * |                                       | (adaptive loops: their ceiling; adaptive moves below it)          |                       |
 * | `pause`, `resume`                     | the loop's scheduled ticks skipped / taken again                   | the previous state    |
 * | `rate_limit`                          | dependency `parameters.dependency`'s rate limit to `requests`     | the previous rate     |
 * |                                       | per `perMs` (this process's budget; the grants made still count)  |                       |
 * | `scale_service`                       | supervised service `parameters.service` to `instances` (or the    | the previous count    |
 * |                                       | count now plus `by`), within [1, 64]                              |                       |
 * | `run_now`, `coordination_improve`     | one cycle of the loop now (the seed's "process N items")          | none                  |
 * | `webhook`                             | POST the decision as JSON to `parameters.url` (2xx or it failed)  | none                  |
 * | `command`                             | `/bin/sh -c parameters.command`, the decision as JSON on stdin    | none                  |
 *
 * `optimize`, and any decision on the coordination directory, has no
 * effector: it is journaled only. A change without an inverse is not
 * verified and cannot be rolled back (the journal says so).
 */
import { ConfigError, type ConfigIssue } from '../../config/config-error.ts';
import { runCommand } from '../../execution/command.ts';
import type { Dependency } from '../../policies/dependency.ts';
import type { LoopControl } from '../../runtime/loop-control.ts';
import type { ServiceControl } from '../../runtime/service-control.ts';
import type { Clock } from '../../time/clock.ts';
import { timeoutSignal } from '../../time/clock.ts';
import type { DecideConfig } from './decide-config.ts';
import type { Decision } from './decision-rules.ts';

/** What an executed decision changed: enough to undo it, when it can be undone. */
export type Change =
  | { readonly kind: 'concurrency'; readonly loop: string; readonly previous: number; readonly limit: number }
  | { readonly kind: 'paused'; readonly loop: string; readonly previous: boolean; readonly paused: boolean }
  | { readonly kind: 'rate'; readonly dependency: string; readonly previous: RateSetting; readonly rate: RateSetting }
  | { readonly kind: 'instances'; readonly service: string; readonly previous: number; readonly instances: number }
  | { readonly kind: 'run'; readonly loop: string; readonly cycleId: string; readonly outcome: string }
  | { readonly kind: 'webhook'; readonly url: string; readonly status: number }
  | { readonly kind: 'command'; readonly command: string };

/** A dependency's rate limit as the journal shows it. */
export interface RateSetting {
  readonly requests: number;
  readonly perMs: number;
}

/** What the effectors act on: the runtime's loops, its named dependencies, its supervised services. */
export interface EffectTargets {
  readonly control: LoopControl;
  readonly dependencies: ReadonlyMap<string, Dependency>;
  readonly services: ServiceControl;
}

/** Bounds decide never moves a loop's concurrency out of. */
export interface ConcurrencyBounds {
  readonly min: number;
  readonly max: number;
}

export interface EffectorDeps extends EffectTargets {
  readonly clock: Clock;
  readonly bounds: ConcurrencyBounds;
  /** Webhooks and commands give up after this long. */
  readonly timeoutMs: number;
  /** Where commands run. */
  readonly cwd: string;
  readonly signal?: AbortSignal;
}

/**
 * The dependencies and services the config's YAML rules act on, checked
 * against the runtime when the recipe starts: a `rate_limit` needs a
 * dependency with a `rateLimit`; a `scale_service` a supervised service
 * (checked only where services run: `autoloop run` runs none, and such a
 * decision is then `no-effector`).
 */
export function checkEffectTargets(config: DecideConfig, loop: string, t: EffectTargets): ConfigError | null {
  const limited = [...t.dependencies.values()].filter((d) => d.limiter).map((d) => d.name);
  const services = t.services.names();
  const issues: ConfigIssue[] = [];
  config.rules.forEach((rule, i) => {
    if (!('do' in rule)) return;
    const at = { file: `decide ${loop}`, path: `loops.${loop}.rules[${i}].do` };
    const a = rule.do;
    if (a.type === 'rate_limit' && !limited.includes(a.dependency)) {
      const expected = `a dependency with a rateLimit (${limited.join(', ') || 'none in dependencies:'})`;
      issues.push({ ...at, path: `${at.path}.dependency`, expected, got: JSON.stringify(a.dependency) });
    }
    if (a.type === 'scale_service' && services.length > 0 && !services.includes(a.service)) {
      const expected = `a service of services: (${services.join(', ')})`;
      issues.push({ ...at, path: `${at.path}.service`, expected, got: JSON.stringify(a.service) });
    }
  });
  return issues.length > 0 ? new ConfigError(issues) : null;
}

/** Whether `d` has an effector here: its loop, dependency (with a rate limit) or service exists. */
export function hasEffector(d: Decision, t: EffectTargets): boolean {
  if (d.type === 'webhook' || d.type === 'command') return true;
  if (d.type === 'optimize') return false;
  if (d.type === 'rate_limit') return Boolean(t.dependencies.get(String(d.parameters.dependency))?.limiter);
  if (d.type === 'scale_service') return t.services.names().includes(String(d.parameters.service));
  return t.control.names().includes(d.target);
}

/** Whether a change can be undone (and so is verified). */
export function reversible(c: Change): c is Extract<Change, { kind: 'concurrency' | 'paused' | 'rate' | 'instances' }> {
  return c.kind === 'concurrency' || c.kind === 'paused' || c.kind === 'rate' || c.kind === 'instances';
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
    case 'rate_limit':
      return setRate(
        String(d.parameters.dependency),
        { requests: Number(d.parameters.requests), perMs: Number(d.parameters.perMs) },
        deps,
      );
    case 'scale_service': {
      const service = String(d.parameters.service);
      const previous = deps.services.instances(service);
      const by = d.parameters.by;
      const instances =
        by === undefined ? Number(d.parameters.instances) : Math.min(64, Math.max(1, previous + Number(by)));
      await deps.services.scale(service, instances);
      return { kind: 'instances', service, previous, instances };
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

/** Undoes a reversible change (see {@link reversible}) and returns the change that undid it; throws for one that is not. */
export async function undo(c: Change, t: EffectTargets): Promise<Change> {
  switch (c.kind) {
    case 'concurrency':
      t.control.setConcurrency(c.loop, c.previous);
      return { ...c, previous: c.limit, limit: c.previous };
    case 'paused':
      if (c.previous) t.control.pause(c.loop);
      else t.control.resume(c.loop);
      return { ...c, previous: c.paused, paused: c.previous };
    case 'rate':
      return setRate(c.dependency, c.previous, t);
    case 'instances':
      await t.services.scale(c.service, c.previous);
      return { ...c, previous: c.instances, instances: c.previous };
    default:
      throw new Error(`decide: a ${c.kind} change cannot be undone`);
  }
}

/** A change that sets one knob to a value (and so can be set again after a restart). */
export type KnobChange = Extract<Change, { kind: 'concurrency' | 'paused' | 'rate' | 'instances' }>;

export function isKnobChange(c: Change): c is KnobChange {
  return c.kind === 'concurrency' || c.kind === 'paused' || c.kind === 'rate' || c.kind === 'instances';
}

/** The knob a reversible change set: one change in force per knob (`loop:fetch:concurrency`, `dependency:api:rate`). */
export function knobOf(c: KnobChange): string {
  if (c.kind === 'rate') return `dependency:${c.dependency}:rate`;
  if (c.kind === 'instances') return `service:${c.service}:instances`;
  return `loop:${c.loop}:${c.kind}`;
}

/** What {@link setAgain} did: set the change's value again (in words), found it in force, or found its target gone. */
export type SetAgain =
  | { readonly kind: 'set'; readonly words: string }
  | { readonly kind: 'same' }
  | { readonly kind: 'gone' };

/**
 * Sets a reversible change's value again where it is not in force (after a
 * restart the loops, limiters and services run their config's values).
 */
export async function setAgain(c: KnobChange, t: EffectTargets): Promise<SetAgain> {
  switch (c.kind) {
    case 'concurrency':
      if (!t.control.names().includes(c.loop)) return { kind: 'gone' };
      if (t.control.concurrency(c.loop).limit === c.limit) return { kind: 'same' };
      t.control.setConcurrency(c.loop, c.limit);
      return { kind: 'set', words: `${c.loop} concurrency ${c.limit}` };
    case 'paused':
      if (!t.control.names().includes(c.loop)) return { kind: 'gone' };
      if (t.control.paused(c.loop) === c.paused) return { kind: 'same' };
      if (c.paused) t.control.pause(c.loop);
      else t.control.resume(c.loop);
      return { kind: 'set', words: `${c.loop} ${c.paused ? 'paused' : 'resumed'}` };
    case 'rate': {
      const limiter = t.dependencies.get(c.dependency)?.limiter;
      if (!limiter) return { kind: 'gone' };
      if (limiter.rate.limit === c.rate.requests && limiter.rate.perMs === c.rate.perMs) return { kind: 'same' };
      limiter.setRate({ limit: c.rate.requests, perMs: c.rate.perMs });
      return { kind: 'set', words: `${c.dependency} rate ${c.rate.requests} per ${c.rate.perMs} ms` };
    }
    case 'instances':
      if (!t.services.names().includes(c.service)) return { kind: 'gone' };
      if (t.services.instances(c.service) === c.instances) return { kind: 'same' };
      await t.services.scale(c.service, c.instances);
      return { kind: 'set', words: `${c.service} ${c.instances} instance(s)` };
  }
}

function setRate(name: string, rate: RateSetting, t: EffectTargets): Change {
  const limiter = t.dependencies.get(name)?.limiter;
  if (!limiter) {
    const limited = [...t.dependencies.values()].filter((d) => d.limiter).map((d) => d.name);
    throw new Error(
      `decide: no dependency "${name}" with a rateLimit; rate-limited dependencies: ${limited.join(', ') || '(none)'}`,
    );
  }
  const before = limiter.rate;
  limiter.setRate({ limit: rate.requests, perMs: rate.perMs });
  return { kind: 'rate', dependency: name, previous: { requests: before.limit, perMs: before.perMs }, rate };
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
