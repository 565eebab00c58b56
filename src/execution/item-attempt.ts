import { ShutdownError, TimeoutError } from '../core/errors.ts';
import type { CycleContext, ItemContext, ResolvedLoop } from '../core/loop.ts';
import type { WorkItem } from '../core/work-item.ts';
import type { Attempt } from './attempt.ts';
import type { AttemptPass } from './attempt-governor.ts';
import type { ItemLease, ItemRunDeps } from './run-item.ts';

/** How one attempt ended: the act's value (`undefined` as null), or what it failed with. */
export type AttemptOutcome = { ok: true; value: unknown } | { ok: false; error: unknown };

/**
 * Runs one attempt of an item: `item.started`, the loop's policies around
 * the act (`governor.enter` / `pass.exit`), the act under its deadline and
 * under the lease (its loss aborts the attempt), then `item.attempted`.
 * Never rejects: every path ends in an {@link AttemptOutcome}.
 *
 * @example
 * const outcome = await pool.submit(() => attemptOnce(loop, item, cycle, 1, deps, lease));
 */
export function attemptOnce(
  loop: ResolvedLoop,
  item: WorkItem,
  cycle: CycleContext,
  attemptNo: number,
  deps: ItemRunDeps,
  lease: ItemLease | undefined,
): Promise<AttemptOutcome> | AttemptOutcome {
  if (cycle.signal.aborted) {
    return { ok: false, error: new ShutdownError(`${what(cycle, item)}: ${abortMessage(cycle.signal)}`) };
  }
  if (lease?.lostError) return { ok: false, error: lease.lostError };
  return new ItemAttempt(loop, item, cycle, attemptNo, deps, lease).start();
}

/**
 * One attempt's state, its steps as methods chained by plain promise
 * callbacks: an async function of this size kept a suspended frame and a
 * closure context per attempt, its largest allocation (bench (b),
 * --heap-prof).
 */
class ItemAttempt {
  readonly #loop: ResolvedLoop;
  readonly #item: WorkItem;
  readonly #cycle: CycleContext;
  readonly #deps: ItemRunDeps;
  readonly #lease: ItemLease | undefined;
  readonly #event: { loop: string; cycleId: string; key: string; attempt: number };
  readonly #attempt: Attempt;
  #stopWatching: (() => void) | undefined = undefined;
  #pass: AttemptPass | undefined = undefined;
  #started: number;
  /** A breaker or limiter that refused the attempt measured nothing. */
  #acting = false;
  #timeoutMs = 0;

  constructor(
    loop: ResolvedLoop,
    item: WorkItem,
    cycle: CycleContext,
    attemptNo: number,
    deps: ItemRunDeps,
    lease: ItemLease | undefined,
  ) {
    this.#loop = loop;
    this.#item = item;
    this.#cycle = cycle;
    this.#deps = deps;
    this.#lease = lease;
    this.#event = { loop: loop.name, cycleId: cycle.cycleId, key: item.key, attempt: attemptNo };
    this.#attempt = deps.attempts.open();
    this.#started = cycle.clock.monotonic();
  }

  start(): Promise<AttemptOutcome> {
    const attempt = this.#attempt;
    this.#deps.bus.emit('item.started', this.#event);
    this.#timeoutMs = this.#deps.governor?.timeoutMs() ?? this.#loop.policies.timeoutMs;
    this.#stopWatching = this.#lease?.onLost((error) => attempt.abort(error));
    let entered: AttemptPass | Promise<AttemptPass> | undefined;
    try {
      entered = this.#deps.governor?.enter(() => attempt.signal);
    } catch (error) {
      return Promise.resolve(this.#failed(error));
    }
    if (entered instanceof Promise) {
      return entered.then(
        (pass) => this.#act(pass),
        (error: unknown) => this.#failed(error),
      );
    }
    return this.#act(entered);
  }

  #act(pass: AttemptPass | undefined): Promise<AttemptOutcome> {
    this.#pass = pass;
    const { clock } = this.#cycle;
    this.#started = clock.monotonic(); // waiting for a rate-limit token is not the dependency's latency
    this.#acting = true;
    const timeoutMs = this.#timeoutMs;
    const ctx = this.#context();
    return new Promise<AttemptOutcome>((resolve, reject) => {
      this.#attempt.start(
        () => this.#loop.act(this.#item, ctx),
        this.#deps.deadlines ?? clock,
        timeoutMs,
        () => new TimeoutError(timeoutMs, what(this.#cycle, this.#item)),
        (ok, value) => {
          // A policy's exit that throws rejects the attempt, as a throw in a then() callback did.
          try {
            resolve(ok ? this.#succeeded(value) : this.#failed(value));
          } catch (error) {
            reject(error);
          }
        },
      );
    });
  }

  #context(): ItemContext {
    const cycle = this.#cycle;
    const attempt = this.#attempt;
    return {
      loop: cycle.loop,
      cycleId: cycle.cycleId,
      tick: cycle.tick,
      clock: cycle.clock,
      attempt: this.#event.attempt,
      get signal() {
        return attempt.signal;
      },
    };
  }

  #succeeded(value: unknown): AttemptOutcome {
    try {
      const latencyMs = this.#cycle.clock.monotonic() - this.#started;
      this.#pass?.exit({ ok: true, latencyMs, counted: true });
      this.#attempted(latencyMs, true);
      return { ok: true, value: value === undefined ? null : value };
    } catch (error) {
      return this.#failed(error);
    } finally {
      this.#end();
    }
  }

  #failed(error: unknown): AttemptOutcome {
    try {
      // Shutdown and a lost lease say nothing about the dependency's health.
      const counted = !this.#cycle.signal.aborted && !this.#lease?.lostError;
      const latencyMs = this.#cycle.clock.monotonic() - this.#started;
      this.#pass?.exit({ ok: false, latencyMs, error, counted });
      if (counted && this.#acting) {
        this.#attempted(latencyMs, false);
      }
      return { ok: false, error };
    } finally {
      this.#end();
    }
  }

  /** The payload built field by field: a spread of the attempt's event was a temporary object per attempt. */
  #attempted(durationMs: number, ok: boolean): void {
    const { loop, cycleId, key, attempt } = this.#event;
    this.#deps.bus.emit('item.attempted', { loop, cycleId, key, attempt, durationMs, ok });
  }

  /** Runs once per attempt on every path (a second call changes nothing). */
  #end(): void {
    this.#stopWatching?.();
    this.#stopWatching = undefined;
    this.#deps.attempts.close(this.#attempt);
  }
}

/** Names the attempt in its errors; built only when one is made (a string per attempt showed in --heap-prof). */
function what(cycle: CycleContext, item: WorkItem): string {
  return `cycle ${cycle.loop}#${cycle.cycleId}: act ${item.key}`;
}

function abortMessage(signal: AbortSignal): string {
  const reason = signal.reason;
  return reason instanceof Error ? reason.message : 'aborted';
}
