import { TerminalError } from '../../core/errors.ts';
import type { Clock, TimerHandle } from '../../time/clock.ts';
import { formatDuration } from '../../time/duration.ts';

/** A collection aborted because its cycle's time budget ran out. Terminal: retrying inside the same cycle cannot help. */
export class BudgetExhaustedError extends TerminalError {
  override name = 'BudgetExhaustedError';
}

/**
 * One cycle's time budget (the seed's `max_orchestrator_runtime_minutes`).
 *
 * States: open (time left; `signal` not aborted) -> spent (the timer
 * fired: `signal` aborts with a {@link BudgetExhaustedError}, so running
 * collections stop, and items not started yet are skipped) -> closed (the
 * cycle ended; the timer is gone).
 */
export class CycleBudget {
  readonly #controller = new AbortController();
  readonly #timer: TimerHandle;
  readonly #startedAt: number;
  readonly budgetMs: number;

  constructor(clock: Clock, budgetMs: number) {
    this.budgetMs = budgetMs;
    this.#startedAt = clock.monotonic();
    this.#timer = clock.setTimer(budgetMs, () =>
      this.#controller.abort(
        new BudgetExhaustedError(
          `the cycle's budget of ${formatDuration(budgetMs)} ran out; the gap stays for the next cycle`,
        ),
      ),
    );
  }

  /** Aborts when the budget is spent. */
  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  get spent(): boolean {
    return this.#controller.signal.aborted;
  }

  /** Why an item was not started: for its skipped result. */
  skipReason(): string {
    return `not started: the cycle's budget of ${formatDuration(this.budgetMs)} ran out; the gap stays for the next cycle`;
  }

  close(): void {
    this.#timer.cancel();
  }

  get startedAt(): number {
    return this.#startedAt;
  }
}

/**
 * The budgets of a loop's cycles, by cycle id. A budget opens when the
 * cycle's observe ends (orchestration starts), or at its first item for a
 * cycle without observe (a recovery cycle adopting a crashed run's items),
 * and closes when the cycle finishes.
 */
export class CycleBudgets {
  readonly #open = new Map<string, CycleBudget>();
  readonly #clock: Clock;
  readonly #budgetMs: number;

  constructor(clock: Clock, budgetMs: number) {
    this.#clock = clock;
    this.#budgetMs = budgetMs;
  }

  /** The cycle's budget, opened now if it has none yet. */
  of(cycleId: string): CycleBudget {
    let budget = this.#open.get(cycleId);
    if (!budget) {
      budget = new CycleBudget(this.#clock, this.#budgetMs);
      this.#open.set(cycleId, budget);
    }
    return budget;
  }

  close(cycleId: string): void {
    this.#open.get(cycleId)?.close();
    this.#open.delete(cycleId);
  }

  closeAll(): void {
    for (const budget of this.#open.values()) budget.close();
    this.#open.clear();
  }
}
