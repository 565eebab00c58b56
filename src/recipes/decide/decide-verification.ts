/**
 * Verification, holds and rollback of executed decisions, over a decide
 * loop's memory (decide-memory.ts):
 *
 * - an executed reversible decision is pending until `dueAt`; at the first
 *   cycle after it with a sample of its target it is judged: score fallen
 *   by more than `margin` -> undone, journaled `rolled-back`, its target
 *   held for another `after`; else `verified`;
 * - a target is held while a decision on it is pending, while held after a
 *   rollback, and for `minInterval` after a decision executed on it;
 * - by hand, an executed decision whose change has an inverse and that was
 *   not rolled back yet can be undone (`autoloop decide rollback <id>`).
 */
import type { Logger } from '../../core/logger.ts';
import type { DecisionRecord, DecisionResult } from './decide-loop.ts';
import type { DecideMemory, PendingVerification } from './decide-memory.ts';
import type { Sample } from './decision-rules.ts';
import { type Change, reversible } from './effectors.ts';

/** Removes and returns the pending verifications due at `now` whose target has a sample. */
export function dueVerifications(
  memory: DecideMemory,
  now: number,
  samples: ReadonlyMap<string, Sample>,
): PendingVerification[] {
  const due = memory.verifying.filter((v) => v.dueAt <= now && samples.has(v.record.target));
  if (due.length > 0) memory.verifying = memory.verifying.filter((v) => !due.includes(v));
  return due;
}

/**
 * Judges one due verification against its target's sample now; rolls back
 * (through `deps.undo`, the effectors' inverse) and holds the target when
 * health got worse.
 */
export async function judge(
  v: PendingVerification,
  sample: Sample,
  verify: { readonly after: number; readonly margin: number },
  deps: {
    memory: DecideMemory;
    undo: (change: Change) => Change | Promise<Change>;
    now: number;
    logger: Logger;
    loop: string;
  },
): Promise<DecisionResult> {
  const { record, change } = v;
  const before = record.score;
  const after = sample.score;
  if (before - after <= verify.margin) return { kind: 'verified', of: record.id, before, after };
  const undone = await deps.undo(change);
  deps.memory.changed(undone);
  deps.memory.held.set(record.target, deps.now + verify.after);
  const reason = `health ${before} -> ${after} within ${verify.after} ms: worse by more than ${verify.margin}`;
  deps.logger.warn({ loop: deps.loop, decision: record.id }, `decide: rolled back ${record.id}: ${reason}`);
  return { kind: 'rolled-back', of: record.id, change: undone, reason };
}

/** Why decisions on `target` are held now, or undefined when they are not. */
export function heldReason(memory: DecideMemory, target: string, now: number, minInterval: number): string | undefined {
  const verifying = memory.verifying.find((v) => v.record.target === target);
  if (verifying)
    return `${target}: ${verifying.record.id} is being verified until ${new Date(verifying.dueAt).toISOString()}`;
  const heldUntil = memory.held.get(target);
  if (heldUntil !== undefined && heldUntil > now)
    return `${target} was rolled back; held until ${new Date(heldUntil).toISOString()}`;
  const last = memory.lastExecuted.get(target);
  if (last !== undefined && now - last < minInterval)
    return `${target}: a decision executed at ${new Date(last).toISOString()}; minInterval ${minInterval} ms`;
  return undefined;
}

/**
 * The executed decision `id` of the journal `all`, if it can be undone by
 * hand; throws naming why not (unknown or not executed, rolled back
 * already, no inverse).
 */
export function undoable(
  id: string,
  all: readonly DecisionRecord[],
  journal: string,
): DecisionRecord & { result: { kind: 'executed'; change: Change } } {
  const found = all.find((r) => r.id === id);
  if (found?.result.kind !== 'executed') {
    const known = all.filter((r) => r.result.kind === 'executed').map((r) => r.id);
    throw new Error(
      `decide: no executed decision "${id}" in ${journal}; executed: ${known.slice(0, 10).join(', ') || '(none)'}`,
    );
  }
  if (all.some((r) => r.result.kind === 'rolled-back' && r.result.of === id)) {
    throw new Error(`decide: ${id} was rolled back already`);
  }
  if (!reversible(found.result.change)) {
    throw new Error(`decide: ${id} (${found.type}) made a ${found.result.change.kind} change, which cannot be undone`);
  }
  return found as DecisionRecord & { result: { kind: 'executed'; change: Change } };
}
