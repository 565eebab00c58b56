import type { CycleRecord } from '../core/cycle-record.ts';
import type { LoopGovernor } from '../policies/loop-governor.ts';

/** A loop's concurrency as the control port reports it. */
export interface LoopConcurrency {
  /** Items in flight allowed now. */
  readonly limit: number;
  /** With adaptive concurrency: the bounds it moves within; null without. */
  readonly adaptive: { readonly min: number; readonly max: number } | null;
}

/**
 * The runtime's loops as a controller sees them: the same actions as the
 * admin routes (`POST /loops/:name/run|pause|resume`) plus concurrency.
 * Given to recipes as `context.control`, so a YAML-only config can act on
 * its own loops (the decide recipe).
 *
 * One controller per knob: on a loop with adaptive concurrency,
 * {@link setConcurrency} moves the adaptive policy's ceiling (and its limit
 * to it: the policy then cuts on evidence, as it does at start), never the
 * limit behind the policy's back; on a loop without, it sets the limit.
 *
 * Every method throws an `AutoloopError` naming the known loops for a
 * loop it does not know, and before the loops started.
 */
export interface LoopControl {
  /** The runtime's loops, in config order. */
  names(): readonly string[];
  /** The loop's concurrency now. */
  concurrency(loop: string): LoopConcurrency;
  /** Sets the loop's concurrency (see the header for adaptive loops); takes effect at once. */
  setConcurrency(loop: string, limit: number): void;
  /** Whether its scheduled ticks are being skipped. */
  paused(loop: string): boolean;
  /** Skip its scheduled ticks (recorded as skipped) until {@link resume}. Manual runs still work. */
  pause(loop: string): void;
  resume(loop: string): void;
  /** One cycle now (a manual tick); rejects unless the runtime is running. */
  run(loop: string): Promise<CycleRecord>;
}

/** What {@link loopControl} reads: the runtime's runners and governors. */
export interface ControlledLoops {
  loop(name: string): {
    readonly pool: { readonly concurrency: number };
    readonly paused: boolean;
    setConcurrency(limit: number): void;
    pause(): void;
    resume(): void;
  };
  governor(name: string): Pick<LoopGovernor, 'adaptive'>;
  run(name: string): Promise<CycleRecord>;
  readonly loopNames: readonly string[];
}

/** The control port over a runtime (`runtime.loop`, `runtime.governor`, `runtime.run`). */
export function loopControl(rt: ControlledLoops): LoopControl {
  return {
    names: () => rt.loopNames,
    concurrency: (loop) => {
      const limit = rt.loop(loop).pool.concurrency;
      const a = rt.governor(loop).adaptive;
      return { limit, adaptive: a ? { min: a.min, max: a.max } : null };
    },
    setConcurrency: (loop, limit) => {
      const runner = rt.loop(loop);
      if (!Number.isInteger(limit) || limit < 1) {
        throw new RangeError(`setConcurrency(${loop}): expected an integer >= 1, got ${limit}`);
      }
      const adaptive = rt.governor(loop).adaptive;
      if (adaptive) adaptive.setBounds(limit);
      else runner.setConcurrency(limit);
    },
    paused: (loop) => rt.loop(loop).paused,
    pause: (loop) => rt.loop(loop).pause(),
    resume: (loop) => rt.loop(loop).resume(),
    run: (loop) => rt.run(loop),
  };
}
