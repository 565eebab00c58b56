import { AutoloopError } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import type { Clock } from '../time/clock.ts';
import type { Runnable } from './runnable.ts';

/**
 * Starts runnables in dependency order and stops them in reverse.
 *
 * States: idle -> starting -> started -> stopping -> stopped.
 * - Order: each runnable after every runnable it names in `after`; ties keep
 *   the order they were added in. An unknown name or a cycle is an error at
 *   `start`, before anything starts.
 * - Start: one at a time, each awaited. When one rejects, the ones already
 *   started are stopped in reverse (with the same grace as `stop`) and
 *   `start` rejects with an error naming the runnable that failed.
 * - Stop: in reverse start order, one at a time. One deadline covers the
 *   whole stop: `graceMs` after stop was called, every later `stop(deadline)`
 *   sees an aborted signal and should cut its work short. A stop that
 *   rejects is logged; the others still stop. Calling stop again returns the
 *   same promise.
 *
 * @example
 * const group = new RunnableGroup({ clock, logger });
 * group.add(storePart).add(httpPart).add(schedulers);
 * await group.start();
 * await group.stop(30_000);
 */
export class RunnableGroup {
  readonly #clock: Clock;
  readonly #logger: Logger | undefined;
  readonly #added: Runnable[] = [];
  readonly #started: Runnable[] = [];
  readonly #abortStart = new AbortController();
  #state: 'idle' | 'starting' | 'started' | 'stopping' | 'stopped' = 'idle';
  #stopping: Promise<void> | null = null;

  constructor(options: { clock: Clock; logger?: Logger }) {
    this.#clock = options.clock;
    this.#logger = options.logger;
  }

  /** Adds a runnable (before `start`). Returns the group, for chaining. */
  add(runnable: Runnable): this {
    if (this.#state !== 'idle') throw new AutoloopError(`add(${runnable.name}): the group is ${this.#state}`);
    if (this.#added.some((r) => r.name === runnable.name)) {
      throw new AutoloopError(`two runnables are named "${runnable.name}"; names must be unique`);
    }
    this.#added.push(runnable);
    return this;
  }

  /** The names in start order (dependencies first). Throws for an unknown `after` name or a cycle. */
  order(): string[] {
    return ordered(this.#added).map((r) => r.name);
  }

  /** Names of the runnables started so far, in start order. */
  get started(): readonly string[] {
    return this.#started.map((r) => r.name);
  }

  get state(): string {
    return this.#state;
  }

  /** Starts every runnable in order; on a failure stops the started ones (within `graceMs`) and rejects. */
  async start(options: { graceMs?: number } = {}): Promise<void> {
    if (this.#state !== 'idle') throw new AutoloopError(`start(): the group is ${this.#state}`);
    const order = ordered(this.#added);
    this.#state = 'starting';
    for (const runnable of order) {
      if (this.#abortStart.signal.aborted) break;
      try {
        await runnable.start(this.#abortStart.signal);
      } catch (error) {
        await this.stop(options.graceMs ?? 0);
        if (error instanceof AutoloopError) throw error;
        throw new AutoloopError(`start ${runnable.name}: ${error instanceof Error ? error.message : String(error)}`, {
          cause: error,
        });
      }
      this.#started.push(runnable);
    }
    if (this.#state === 'starting') this.#state = 'started';
  }

  /** Stops the started runnables in reverse order, sharing one deadline of `graceMs`. */
  stop(graceMs: number): Promise<void> {
    this.#stopping ??= this.#stop(graceMs);
    return this.#stopping;
  }

  async #stop(graceMs: number): Promise<void> {
    this.#abortStart.abort();
    this.#state = 'stopping';
    const deadline = new AbortController();
    const timer = this.#clock.setTimer(graceMs, () => deadline.abort());
    try {
      for (const runnable of [...this.#started].reverse()) {
        try {
          await runnable.stop?.(deadline.signal);
        } catch (error) {
          this.#logger?.warn({ err: error, runnable: runnable.name }, 'runnable did not stop cleanly');
        }
      }
    } finally {
      timer.cancel();
      this.#started.length = 0;
      this.#state = 'stopped';
    }
  }
}

/** Runnables sorted so each comes after those it names (stable: ties keep insertion order). */
function ordered(runnables: readonly Runnable[]): Runnable[] {
  const byName = new Map(runnables.map((r) => [r.name, r]));
  for (const r of runnables) {
    for (const dep of r.after ?? []) {
      if (!byName.has(dep)) {
        const known = [...byName.keys()].join(', ');
        throw new AutoloopError(`runnable "${r.name}" starts after "${dep}", which is not in the group (${known})`);
      }
    }
  }
  const out: Runnable[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (r: Runnable, path: string[]) => {
    const s = state.get(r.name);
    if (s === 'done') return;
    if (s === 'visiting')
      throw new AutoloopError(`runnables depend on each other in a cycle: ${[...path, r.name].join(' -> ')}`);
    state.set(r.name, 'visiting');
    for (const dep of r.after ?? []) visit(byName.get(dep) as Runnable, [...path, r.name]);
    state.set(r.name, 'done');
    out.push(r);
  };
  for (const r of runnables) visit(r, []);
  return out;
}
