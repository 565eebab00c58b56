import type { ItemResult } from '../core/cycle-record.ts';
import { ShutdownError, TerminalError, TimeoutError, toErrorInfo } from '../core/errors.ts';
import type { CycleContext, ItemContext, ResolvedLoop } from '../core/loop.ts';
import { isSkipOutcome } from '../core/outcome.ts';
import type { WorkItem } from '../core/work-item.ts';
import type { EventBus } from '../observability/events.ts';
import { retry } from '../policies/retry.ts';
import type { AttemptSet, DeadlineTimers } from './attempt.ts';
import type { AttemptGovernor, AttemptPass } from './attempt-governor.ts';
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
 * The attempts and waits are the {@link retry} policy's. A failure is final
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
  const base = { loop: loop.name, cycleId: cycle.cycleId, key: item.key };
  let attempt = 0;
  // Up to the end of the last attempt: a backoff cut short by shutdown is not the item's time.
  let durationMs = 0;
  let waiting = false;
  const finish = (status: ItemResult['status'], extra: Pick<ItemResult, 'output' | 'error'>): ItemResult => ({
    cycleId: cycle.cycleId,
    loop: loop.name,
    key: item.key,
    idempotencyKey: item.idempotencyKey,
    priority: item.priority,
    status,
    attempts: attempt,
    startedAt,
    finishedAt: clock.now(),
    durationMs,
    ...(item.payload !== undefined && { payload: item.payload }),
    ...extra,
  });
  try {
    // retry() calls the operation before its first await: the first attempt is in the pool when runItem returns (act.ts counts on it).
    const output = await retry(
      async (n) => {
        attempt = n;
        waiting = false;
        const outcome = await deps.pool.submit(() => attemptOnce(loop, item, cycle, n, deps, lease), item.priority);
        durationMs = clock.monotonic() - started;
        if (!outcome.ok) throw outcome.error;
        return outcome.value;
      },
      {
        attempts,
        backoff: { initialMs: baseMs, maxMs },
        random: deps.random,
        clock,
        signal: cycle.signal,
        isFinal: (error) => error instanceof TerminalError || (lease !== undefined && lease.lostError !== null),
        onRetry: (notice) => {
          waiting = true;
          const { delayMs, error } = notice;
          deps.bus.emit('item.retried', { ...base, attempt: notice.attempt, delayMs, error: toErrorInfo(error) });
        },
      },
    );
    if (isSkipOutcome(output)) {
      deps.bus.emit('item.skipped', { ...base, reason: output.reason });
      return finish('skipped', { error: { name: 'Skipped', message: output.reason } });
    }
    deps.bus.emit('item.succeeded', { ...base, attempts: attempt, durationMs });
    return finish('succeeded', { output });
  } catch (failure) {
    const error = toErrorInfo(waiting ? new ShutdownError(`aborted during backoff after attempt ${attempt}`) : failure);
    deps.bus.emit('item.failed', { ...base, attempts: attempt, durationMs, error });
    return finish('failed', { error });
  }
}

type AttemptOutcome = { ok: true; value: unknown } | { ok: false; error: unknown };

async function attemptOnce(
  loop: ResolvedLoop,
  item: WorkItem,
  cycle: CycleContext,
  attemptNo: number,
  deps: ItemRunDeps,
  lease: ItemLease | undefined,
): Promise<AttemptOutcome> {
  if (cycle.signal.aborted) {
    return { ok: false, error: new ShutdownError(`${what(cycle, item)}: ${abortMessage(cycle.signal)}`) };
  }
  if (lease?.lostError) return { ok: false, error: lease.lostError };
  const attemptEvent = { loop: loop.name, cycleId: cycle.cycleId, key: item.key, attempt: attemptNo };
  deps.bus.emit('item.started', attemptEvent);
  const attempt = deps.attempts.open();
  const ctx: ItemContext = {
    loop: cycle.loop,
    cycleId: cycle.cycleId,
    tick: cycle.tick,
    clock: cycle.clock,
    attempt: attemptNo,
    get signal() {
      return attempt.signal;
    },
  };
  const timeoutMs = deps.governor?.timeoutMs() ?? loop.policies.timeoutMs;
  const stopWatching = lease?.onLost((error) => attempt.abort(error));
  let pass: AttemptPass | undefined;
  let started = cycle.clock.monotonic();
  let acting = false; // a breaker or limiter that refused the attempt measured nothing
  try {
    const entered = deps.governor?.enter(() => attempt.signal);
    pass = entered instanceof Promise ? await entered : entered;
    started = cycle.clock.monotonic(); // waiting for a rate-limit token is not the dependency's latency
    acting = true;
    const value = await attempt.run(
      () => loop.act(item, ctx),
      deps.deadlines ?? cycle.clock,
      timeoutMs,
      () => new TimeoutError(timeoutMs, what(cycle, item)),
    );
    const latencyMs = cycle.clock.monotonic() - started;
    pass?.exit({ ok: true, latencyMs, counted: true });
    deps.bus.emit('item.attempted', { ...attemptEvent, durationMs: latencyMs, ok: true });
    return { ok: true, value: value === undefined ? null : value };
  } catch (error) {
    // Shutdown and a lost lease say nothing about the dependency's health.
    const counted = !cycle.signal.aborted && !lease?.lostError;
    const latencyMs = cycle.clock.monotonic() - started;
    pass?.exit({ ok: false, latencyMs, error, counted });
    if (counted && acting) deps.bus.emit('item.attempted', { ...attemptEvent, durationMs: latencyMs, ok: false });
    return { ok: false, error };
  } finally {
    stopWatching?.();
    deps.attempts.close(attempt);
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
