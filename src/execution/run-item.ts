import type { ItemResult } from '../core/cycle-record.ts';
import { type ErrorInfo, ShutdownError, TerminalError, toErrorInfo } from '../core/errors.ts';
import type { CycleContext, ResolvedLoop } from '../core/loop.ts';
import { isRetryOutcome, isSkipOutcome, type RetryOutcome, RetryRequestedError } from '../core/outcome.ts';
import type { WorkItem } from '../core/work-item.ts';
import type { EventBus } from '../observability/events.ts';
import { backoffDelay } from '../policies/backoff.ts';
import type { AttemptSet, DeadlineTimers } from './attempt.ts';
import type { AttemptGovernor } from './attempt-governor.ts';
import { attemptOnce } from './item-attempt.ts';
import type { WorkerPool } from './pool.ts';

/** What an item needs of the lease it runs under: whether it was lost, and word when it is. */
export interface ItemLease {
  /** The error the lease was lost with; null while it holds. */
  readonly lostError: Error | null;
  /** Calls `listener` when the lease is lost (at once if it was); returns the function that removes it. */
  onLost(listener: (error: Error) => void): () => void;
}

export interface ItemRunDeps {
  readonly pool: WorkerPool;
  readonly bus: EventBus;
  readonly random: () => number;
  /** The cycle's in-flight attempts, aborted together when the cycle's signal aborts. */
  readonly attempts: AttemptSet;
  /** Where the attempts' deadlines are set; the cycle's clock when absent. */
  readonly deadlines?: DeadlineTimers;
  /** The loop's policies around each attempt (breakers, rate limits, adaptive timeout); absent = none. */
  readonly governor?: AttemptGovernor;
}

/**
 * Runs one work item to its final result under the loop's policies:
 * each attempt takes a pool slot, runs until it settles or its deadline
 * passes (its signal aborts on the deadline and with the cycle's), and gives
 * the slot back before any backoff sleep, so waiting retries never hold
 * capacity. Never rejects: every path ends in an
 * {@link ItemResult} (succeeded or failed with its error).
 *
 * The attempts and waits follow the retry policy (policies/retry.ts). A failure is final
 * when the error is a {@link TerminalError}, when the attempts are used up,
 * when the cycle's signal aborted (shutdown), or when the lease was lost. An
 * act that returns `retryAfter(ms)` fails its attempt on purpose: the next
 * one starts after exactly that delay instead of the backoff.
 */
export async function runItem(
  loop: ResolvedLoop,
  item: WorkItem,
  cycle: CycleContext,
  deps: ItemRunDeps,
  /** Its loss aborts the item for good (no retry). */
  lease?: ItemLease,
): Promise<ItemResult> {
  const { clock } = cycle;
  const { attempts, baseMs, maxMs } = loop.policies.retry;
  const startedAt = clock.now();
  const started = clock.monotonic();
  let attempt = 0;
  // Up to the end of the last attempt: a backoff cut short by shutdown is not the item's time.
  let durationMs = 0;
  let waiting = false;
  try {
    // The retry policy's loop (policies/retry.ts), inline: two async frames per item less, and the first
    // attempt is in the pool when runItem returns (act.ts counts on it).
    let output: unknown;
    for (attempt = 1; ; attempt++) {
      waiting = false;
      const outcome = await deps.pool.submit(() => attemptOnce(loop, item, cycle, attempt, deps, lease), item.priority);
      durationMs = clock.monotonic() - started;
      let error: unknown;
      let asked: RetryOutcome | null = null;
      if (outcome.ok) {
        if (!isRetryOutcome(outcome.value)) {
          output = outcome.value;
          break;
        }
        asked = outcome.value;
        error = new RetryRequestedError(asked);
      } else error = outcome.error;
      // Final: the attempts are used up, shutdown, a TerminalError, or the lease was lost.
      if (attempt >= attempts) throw asked ? new RetryRequestedError(asked, attempt) : error;
      if (cycle.signal.aborted || error instanceof TerminalError || (lease !== undefined && lease.lostError !== null)) {
        throw error;
      }
      const delayMs = asked ? asked.afterMs : backoffDelay({ initialMs: baseMs, maxMs }, attempt, deps.random);
      waiting = true;
      deps.bus.emit('item.retried', {
        loop: loop.name,
        cycleId: cycle.cycleId,
        key: item.key,
        attempt,
        delayMs,
        error: toErrorInfo(error),
      });
      await clock.sleep(delayMs, cycle.signal);
    }
    if (isSkipOutcome(output)) {
      deps.bus.emit('item.skipped', { loop: loop.name, cycleId: cycle.cycleId, key: item.key, reason: output.reason });
      const error = { name: 'Skipped', message: output.reason };
      return itemResult(loop, item, cycle, 'skipped', attempt, startedAt, durationMs, undefined, error);
    }
    deps.bus.emit('item.succeeded', {
      loop: loop.name,
      cycleId: cycle.cycleId,
      key: item.key,
      attempts: attempt,
      durationMs,
    });
    return itemResult(loop, item, cycle, 'succeeded', attempt, startedAt, durationMs, output, undefined);
  } catch (failure) {
    const error = toErrorInfo(waiting ? new ShutdownError(`aborted during backoff after attempt ${attempt}`) : failure);
    deps.bus.emit('item.failed', {
      loop: loop.name,
      cycleId: cycle.cycleId,
      key: item.key,
      attempts: attempt,
      durationMs,
      error,
    });
    return itemResult(loop, item, cycle, 'failed', attempt, startedAt, durationMs, undefined, error);
  }
}

/**
 * The item's result, built field by field, not with spreads: one object per
 * item, no temporary ones. A function of the module, not a closure made per
 * item (the build keeps function names, which costs a call per closure made).
 * `error` set: the result carries it and no output.
 */
function itemResult(
  loop: ResolvedLoop,
  item: WorkItem,
  cycle: CycleContext,
  status: ItemResult['status'],
  attempts: number,
  startedAt: number,
  durationMs: number,
  output: unknown,
  error: ErrorInfo | undefined,
): ItemResult {
  const result: { -readonly [K in keyof ItemResult]: ItemResult[K] } = {
    cycleId: cycle.cycleId,
    loop: loop.name,
    key: item.key,
    idempotencyKey: item.idempotencyKey,
    priority: item.priority,
    status,
    attempts,
    startedAt,
    finishedAt: cycle.clock.now(),
    durationMs,
  };
  if (item.payload !== undefined) result.payload = item.payload;
  if (error === undefined) result.output = output;
  else result.error = error;
  return result;
}
