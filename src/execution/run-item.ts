import type { ItemResult } from '../core/cycle-record.ts';
import { ShutdownError, TerminalError, TimeoutError, toErrorInfo } from '../core/errors.ts';
import type { CycleContext, ItemContext, ResolvedLoop } from '../core/loop.ts';
import type { WorkItem } from '../core/work-item.ts';
import type { EventBus } from '../observability/events.ts';
import { fullJitterDelay } from '../policies/backoff.ts';
import { abortReason, timeoutSignal } from '../time/clock.ts';
import type { WorkerPool } from './pool.ts';

export interface ItemRunDeps {
  readonly pool: WorkerPool;
  readonly bus: EventBus;
  readonly random: () => number;
}

/**
 * Runs one work item to its final result under the loop's policies:
 * each attempt takes a pool slot, runs with its own timeout signal (linked to
 * the cycle's), and gives the slot back before any backoff sleep, so waiting
 * retries never hold capacity. Never rejects: every path ends in an
 * {@link ItemResult} (succeeded or failed with its error).
 *
 * A failure is final when the error is a {@link TerminalError}, when the
 * attempts are used up, or when the cycle's signal aborted (shutdown).
 */
export async function runItem(
  loop: ResolvedLoop,
  item: WorkItem,
  cycle: CycleContext,
  deps: ItemRunDeps,
): Promise<ItemResult> {
  const { clock } = cycle;
  const { attempts, baseMs, maxMs } = loop.policies.retry;
  const startedAt = clock.now();
  const started = clock.monotonic();
  const base = { loop: loop.name, cycleId: cycle.cycleId, key: item.key };
  let attempt = 0;
  for (;;) {
    attempt++;
    const outcome = await deps.pool.submit(() => attemptOnce(loop, item, cycle, attempt, deps.bus), item.priority);
    const durationMs = clock.monotonic() - started;
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
      ...extra,
    });
    if (outcome.ok) {
      deps.bus.emit('item.succeeded', { ...base, attempts: attempt, durationMs });
      return finish('succeeded', { output: outcome.value });
    }
    const error = toErrorInfo(outcome.error);
    const final = outcome.error instanceof TerminalError || attempt >= attempts || cycle.signal.aborted;
    if (final) {
      deps.bus.emit('item.failed', { ...base, attempts: attempt, durationMs, error });
      return finish('failed', { error });
    }
    const delayMs = fullJitterDelay(attempt, baseMs, maxMs, deps.random);
    deps.bus.emit('item.retried', { ...base, attempt, delayMs, error });
    try {
      await clock.sleep(delayMs, cycle.signal);
    } catch {
      const aborted = toErrorInfo(new ShutdownError(`aborted during backoff after attempt ${attempt}`));
      deps.bus.emit('item.failed', { ...base, attempts: attempt, durationMs, error: aborted });
      return finish('failed', { error: aborted });
    }
  }
}

type AttemptOutcome = { ok: true; value: unknown } | { ok: false; error: unknown };

async function attemptOnce(
  loop: ResolvedLoop,
  item: WorkItem,
  cycle: CycleContext,
  attempt: number,
  bus: EventBus,
): Promise<AttemptOutcome> {
  const what = `cycle ${cycle.loop}#${cycle.cycleId}: act ${item.key}`;
  if (cycle.signal.aborted) return { ok: false, error: new ShutdownError(`${what}: ${abortMessage(cycle.signal)}`) };
  bus.emit('item.started', { loop: loop.name, cycleId: cycle.cycleId, key: item.key, attempt });
  const timeoutMs = loop.policies.timeoutMs;
  const deadline = timeoutSignal(cycle.clock, timeoutMs, cycle.signal, () => new TimeoutError(timeoutMs, what));
  const ctx: ItemContext = { ...cycle, attempt, signal: deadline.signal };
  try {
    // The race lets the slot go at the deadline even if act ignores its signal.
    const value = await raceAbort(
      Promise.resolve().then(() => loop.act(item, ctx)),
      deadline.signal,
    );
    return { ok: true, value: value === undefined ? null : value };
  } catch (error) {
    return { ok: false, error };
  } finally {
    deadline.dispose();
  }
}

function abortMessage(signal: AbortSignal): string {
  const reason = signal.reason;
  return reason instanceof Error ? reason.message : 'aborted';
}

/** Settles like `promise`, or rejects with the signal's reason as soon as it aborts. */
export function raceAbort<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    promise.catch(() => {}); // the loser's rejection is not news
    return Promise.reject(abortReason(signal));
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(abortReason(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}
