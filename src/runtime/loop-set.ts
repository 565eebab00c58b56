import { planCycle } from '../core/cycle.ts';
import type { CycleRecord, Tick } from '../core/cycle-record.ts';
import { AutoloopError, ShutdownError } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import type { ResolvedLoop } from '../core/loop.ts';
import type { WorkItem } from '../core/work-item.ts';
import { LoopRunner, type LoopRunnerDeps } from '../execution/loop-runner.ts';
import type { Runnable } from '../lifecycle/runnable.ts';
import type { Dependency } from '../policies/dependency.ts';
import { documentLimitMemory } from '../policies/limit-memory.ts';
import { LoopGovernor } from '../policies/loop-governor.ts';
import { Scheduler } from '../scheduling/scheduler.ts';
import { createTrigger, periodMs } from '../scheduling/trigger.ts';
import type { Store } from '../storage/store.ts';
import type { Clock } from '../time/clock.ts';
import { findMissedTicks } from './missed-ticks.ts';
import type { LoopSlot } from './runtime-views.ts';

/** What the loops need once the store is open: the runner's ports, the named dependencies. */
export interface LoopSetDeps extends LoopRunnerDeps {
  readonly dependencies: ReadonlyMap<string, Dependency>;
  readonly logger: Logger;
}

/**
 * The runtime's loops: their definitions from the start, their run-time
 * slots (runner, trigger, scheduler, governor) once {@link build} ran, which
 * the runtime does after the store opened. Runs manual cycles and dry runs,
 * applies missed-tick policies at start, runs the schedulers and drains the
 * runners at stop.
 */
export class LoopSet {
  readonly definitions: readonly ResolvedLoop[];
  readonly #slots = new Map<string, LoopSlot>();
  readonly #clock: Clock;
  #manualSeq = 0;

  constructor(loops: readonly ResolvedLoop[], clock: Clock, declared: readonly string[]) {
    const names = new Set<string>();
    for (const loop of loops) {
      if (names.has(loop.name))
        throw new AutoloopError(`two loops are named "${loop.name}"; loop names must be unique`);
      names.add(loop.name);
      for (const dep of loop.policies.uses) {
        if (!declared.includes(dep)) {
          const known = declared.join(', ') || '(none declared)';
          throw new AutoloopError(
            `loop "${loop.name}" uses dependency "${dep}", which is not declared; declared: ${known}`,
          );
        }
      }
    }
    this.definitions = loops;
    this.#clock = clock;
  }

  get names(): string[] {
    return this.definitions.map((loop) => loop.name);
  }

  /** The run-time slots by loop name (empty before {@link build}). */
  get slots(): ReadonlyMap<string, LoopSlot> {
    return this.#slots;
  }

  /** The slot of `name`. Throws naming the known loops for an unknown name, or when the loops are not built yet. */
  slot(name: string): LoopSlot {
    const slot = this.#slots.get(name);
    if (slot) return slot;
    if (!this.names.includes(name)) {
      const known = this.names.join(', ') || '(none)';
      throw new AutoloopError(`unknown loop "${name}"; loops in this config: ${known}`);
    }
    throw new AutoloopError(`loop "${name}" is not running: call start() first`);
  }

  /** Builds every loop's runner, scheduler and governor, and announces each loop's concurrency. */
  build(deps: LoopSetDeps): void {
    let building = true;
    for (const loop of this.definitions) {
      const runner = new LoopRunner(loop, deps);
      const trigger = createTrigger(loop.trigger);
      const scheduler = new Scheduler({
        loop: loop.name,
        trigger,
        triggerKind: loop.trigger.kind,
        clock: this.#clock,
        onTick: (tick) => runner.onTick(tick),
        onMissed: (ticks, dropped) => runner.onMissed(ticks, dropped),
      });
      const governor = new LoopGovernor({
        loop,
        dependencies: loop.policies.uses.map((name) => deps.dependencies.get(name) as Dependency),
        clock: this.#clock,
        periodMs: periodMs(trigger, this.#clock.now()),
        // The starting limit is announced once for every loop below; later changes go on the bus.
        setConcurrency: (limit) => {
          if (building) runner.pool.concurrency = limit;
          else runner.setConcurrency(limit);
        },
        onCooldown: (ticks) => deps.bus.emit('backpressure.cooldown', { loop: loop.name, ticks }),
        // The adaptive limit survives a restart: the next start begins where this one left off.
        memory: documentLimitMemory(deps.store.documents, this.#clock, (error, op, name) =>
          deps.logger.warn(
            { err: error, loop: name },
            `adaptive limit not ${op === 'load' ? 'loaded' : 'saved'} (store error)`,
          ),
        ),
      });
      runner.attachGovernor(governor);
      this.#slots.set(loop.name, { runner, trigger, scheduler, governor });
    }
    building = false;
    for (const { runner } of this.#slots.values()) {
      deps.bus.emit('loop.concurrency', { loop: runner.loop.name, limit: runner.pool.concurrency });
    }
  }

  runners(): LoopRunner[] {
    return [...this.#slots.values()].map((slot) => slot.runner);
  }

  /** Runs one cycle of `name` now (a manual tick) and resolves with its record. */
  runNow(name: string, owner: string): Promise<CycleRecord> {
    const { runner } = this.slot(name);
    const now = this.#clock.now();
    const tick: Tick = {
      id: `${name}@manual:${new Date(now).toISOString()}:${owner}:${++this.#manualSeq}`,
      loop: name,
      trigger: 'manual',
      scheduledAt: now,
    };
    return runner.runNow(tick);
  }

  /** What the next cycle of `name` would do: observe and plan run, nothing acts, nothing is written. */
  async plan(name: string): Promise<{ tick: Tick; items: WorkItem[] }> {
    const { runner, scheduler, trigger } = this.slot(name);
    const now = this.#clock.now();
    const at = scheduler.nextAt ?? trigger.next(now) ?? now;
    const tick: Tick = {
      id: `${name}@dry-run:${new Date(at).toISOString()}`,
      loop: name,
      trigger: runner.loop.trigger.kind,
      scheduledAt: at,
    };
    const items = await planCycle(runner.loop, tick, { clock: this.#clock, signal: new AbortController().signal });
    return { tick, items };
  }

  /** A runnable that applies each loop's missed-tick policy to the ticks that fell due while nothing ran. */
  catchUp(store: () => Store, owner: string, logger: Logger): Runnable {
    return {
      name: 'catch-up',
      start: async () => {
        try {
          // A live peer running the loop is not downtime: its ticks are its own to record.
          const peers = (await store().instances.list(this.#clock.now())).filter((i) => i.id !== owner);
          for (const { runner, trigger } of this.#slots.values()) {
            if (peers.some((peer) => peer.loops.includes(runner.loop.name))) continue;
            const { ticks, dropped } = await findMissedTicks(runner.loop, trigger, store().cycles, this.#clock.now());
            const missed = ticks.length + (dropped?.count ?? 0);
            if (missed > 0) logger.info({ loop: runner.loop.name, missed }, 'ticks missed during downtime');
            await runner.onDowntime(ticks, dropped);
          }
        } catch (error) {
          // The store went away between its ping and here: start anyway; the breaker takes it from here.
          logger.warn({ err: error }, 'missed ticks not checked at start: the store failed');
        }
      },
    };
  }

  /** The schedulers as one runnable: ticks begin at start; at stop no new cycle starts. */
  schedulers(): Runnable {
    const abort = new AbortController();
    let runs: Promise<void>[] = [];
    return {
      name: 'schedulers',
      start: () => {
        runs = [...this.#slots.values()].map(({ scheduler }) => scheduler.run(abort.signal));
      },
      stop: async () => {
        abort.abort();
        await Promise.all(runs);
      },
    };
  }

  /**
   * Closes the runners (no new cycles) and waits for in-flight cycles until
   * `deadline` aborts; then aborts their items with a ShutdownError (they go
   * back to the queue) and waits for them. Resolves with whether every cycle
   * ended within the deadline.
   */
  async drain(deadline: AbortSignal, graceMs: number, logger: Logger): Promise<boolean> {
    const runners = this.runners();
    for (const runner of runners) runner.close();
    const idle = Promise.all(runners.map((r) => r.idle())).then(() => true);
    const timedOut = new Promise<boolean>((resolve) => {
      if (deadline.aborted) resolve(false);
      else deadline.addEventListener('abort', () => resolve(false), { once: true });
    });
    const drained = await Promise.race([idle, timedOut]);
    if (!drained) {
      logger.warn({ graceMs }, 'shutdown grace period over: aborting in-flight items');
      for (const runner of runners) {
        runner.abort(new ShutdownError(`aborted: shutdown grace period of ${graceMs} ms is over`));
      }
      await idle;
    }
    return drained;
  }

  /** When the loop's next scheduled tick falls (undefined for manual loops or before start). */
  nextRunAt(name: string): number | undefined {
    return this.slot(name).scheduler.nextAt;
  }
}
