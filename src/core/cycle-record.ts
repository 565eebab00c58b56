import type { ErrorInfo } from './errors.ts';

/**
 * The record of one cycle, written when it starts and again when it ends.
 *
 * Outcome values:
 * - `ok`: every planned item succeeded (or there was nothing to do);
 * - `partial`: some items failed, some succeeded;
 * - `failed`: observe or plan threw, or every item failed;
 * - `skipped`: the cycle did not run; `reason` says why (overlap, shutdown, ...).
 * A cycle still running has outcome `running`.
 */
export type CycleOutcome =
  | { kind: 'running' }
  | { kind: 'ok' }
  | { kind: 'partial'; failed: number }
  | { kind: 'failed'; error: ErrorInfo; step: 'observe' | 'plan' | 'act' }
  | { kind: 'skipped'; reason: string };

export type CycleOutcomeKind = CycleOutcome['kind'];

/** `recovery`: a cycle that re-runs items a crashed or stopped process left in the queue. */
export type TriggerKind = 'cron' | 'interval' | 'manual' | 'recovery';

/** The moment a trigger fired. Unique per loop: the basis of tick ids. */
export interface Tick {
  /** `<loop>@<ISO time>` for scheduled ticks, `<loop>@manual:<ISO>:<n>` for manual ones. */
  readonly id: string;
  readonly loop: string;
  readonly trigger: TriggerKind;
  /** When the tick was due (epoch ms), which may be earlier than when it ran. */
  readonly scheduledAt: number;
}

/** Items of a cycle by final status. `skipped`: the item's key was leased by another run (overrun protection). */
export interface CycleCounts {
  planned: number;
  succeeded: number;
  failed: number;
  skipped: number;
}

export interface CycleRecord {
  readonly id: string;
  readonly loop: string;
  readonly tickId: string;
  readonly trigger: TriggerKind;
  readonly scheduledAt: number;
  readonly startedAt: number;
  finishedAt: number | null;
  /** Milliseconds spent in each step; absent for a step that did not run. */
  steps: { observeMs?: number; planMs?: number; actMs?: number };
  counts: CycleCounts;
  outcome: CycleOutcome;
  /** Which process ran it: `<host>:<pid>:<random>`. */
  readonly owner: string;
}

/** `skipped`: not run, because another run held the item's key; `error.message` says which. */
export type ItemStatus = 'succeeded' | 'failed' | 'skipped';

/** The result of one work item in one cycle, after all its attempts. */
export interface ItemResult {
  readonly cycleId: string;
  readonly loop: string;
  readonly key: string;
  readonly idempotencyKey: string;
  readonly priority: number;
  readonly status: ItemStatus;
  readonly attempts: number;
  readonly startedAt: number;
  readonly finishedAt: number;
  readonly durationMs: number;
  /** The item's payload as planned (JSON), so an operator can see and retry it; absent when it had none. */
  readonly payload?: unknown;
  /** What act returned (JSON), for succeeded items. */
  readonly output?: unknown;
  readonly error?: ErrorInfo;
}
