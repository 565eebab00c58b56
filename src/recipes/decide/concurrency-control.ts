/**
 * The one effector of `decide` so far: a loop's concurrency, with its
 * inverse (set the previous value back), through a two-method port.
 *
 * WHY a port and not the governor: the recipe context gives a loop's
 * {@link LoopGovernor}, whose adaptive concurrency has fixed bounds
 * (`min`/`max` are readonly) and whose only setter, `restore`, works only
 * before its first decision. There is no run-time setter for the bounds, so
 * decide sets the runner's limit (`LoopRunner.setConcurrency`, which also
 * announces `loop.concurrency` on the bus) through
 * {@link runnerConcurrencyControl}, attached by the caller that owns the
 * runtime (`runtime.recipe<DecideApi>('decide').attachControl(...)`).
 * Known limit: on a loop with adaptive concurrency, the next adaptive
 * decision moves the limit again (two controllers); a control port shared
 * with the adaptive limit is the planned fix.
 */
import type { Decision } from './decision-rules.ts';

export interface ConcurrencyControl {
  /** The loop's item concurrency now; undefined for a loop it does not know. */
  get(loop: string): number | undefined;
  /** Sets the loop's item concurrency at once. Throws for a loop it does not know. */
  set(loop: string, limit: number): void;
}

/** The runtime's runners as a control (`runtime.loop(name)`: its pool and `setConcurrency`). */
export function runnerConcurrencyControl(runtime: {
  loop(name: string): { readonly pool: { readonly concurrency: number }; setConcurrency(limit: number): void };
  readonly loopNames: readonly string[];
}): ConcurrencyControl {
  return {
    get: (loop) => (runtime.loopNames.includes(loop) ? runtime.loop(loop).pool.concurrency : undefined),
    set: (loop, limit) => runtime.loop(loop).setConcurrency(limit),
  };
}

/** What an executed scale decision changed, enough to undo it. */
export interface ConcurrencyChange {
  readonly loop: string;
  readonly previous: number;
  readonly limit: number;
}

/** Bounds decide never moves a loop's concurrency out of. */
export interface ConcurrencyBounds {
  readonly min: number;
  readonly max: number;
}

/**
 * Applies a `scale_up` (`parameters.to`) or `scale_down` (`parameters.to`),
 * clamped to `bounds`, and returns what changed. Throws when the control
 * does not know the loop or the decision is of another type.
 */
export function applyScale(
  decision: Decision,
  control: ConcurrencyControl,
  bounds: ConcurrencyBounds,
): ConcurrencyChange {
  if (decision.type !== 'scale_up' && decision.type !== 'scale_down') {
    throw new TypeError(`decide: ${decision.type} has no concurrency effector`);
  }
  const previous = control.get(decision.target);
  if (previous === undefined) throw new Error(`decide: no loop named "${decision.target}" to scale`);
  const to = Number(decision.parameters.to);
  const limit = Math.min(bounds.max, Math.max(bounds.min, Math.round(to)));
  control.set(decision.target, limit);
  return { loop: decision.target, previous, limit };
}

/** The inverse of {@link applyScale}: the previous limit back. */
export function undoScale(change: ConcurrencyChange, control: ConcurrencyControl): void {
  control.set(change.loop, change.previous);
}
