/**
 * Conversions between the domain types and the SQLite rows. Structured
 * fields go through JSON; SQL NULL stands for "absent", so an absent
 * `output` or `error` stays absent (not `undefined`) and results compare
 * equal across backends.
 */
import type { CycleRecord, ItemResult, ItemStatus, TriggerKind } from '../../core/cycle-record.ts';
import type { InstanceRecord, Lease, QueuedItem, StoredEvent } from '../store.ts';
import type {
  CycleRow,
  EventRow,
  InstanceParams,
  InstanceRow,
  ItemResultParams,
  ItemResultRow,
  LeaseRow,
  QueueRow,
} from './statements.ts';

/** JSON text for a column; `undefined` -> SQL NULL. */
export function toJson(value: unknown): string | null {
  if (value === undefined) return null;
  if (value === null) return 'null'; // an act's "nothing" (most results): no JSON.stringify call
  return JSON.stringify(value) ?? null;
}

/** The value of a JSON column; SQL NULL -> `undefined`. */
export function fromJson(text: string | null): unknown {
  return text === null ? undefined : JSON.parse(text);
}

export function toCycleRow(r: CycleRecord): CycleRow {
  return {
    id: r.id,
    loop: r.loop,
    tick_id: r.tickId,
    trigger_kind: r.trigger,
    scheduled_at: r.scheduledAt,
    started_at: r.startedAt,
    finished_at: r.finishedAt,
    steps: JSON.stringify(r.steps),
    counts: JSON.stringify(r.counts),
    outcome: JSON.stringify(r.outcome),
    outcome_kind: r.outcome.kind,
    owner: r.owner,
  };
}

export function fromCycleRow(row: CycleRow): CycleRecord {
  return {
    id: row.id,
    loop: row.loop,
    tickId: row.tick_id,
    trigger: row.trigger_kind as TriggerKind,
    scheduledAt: row.scheduled_at,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    steps: JSON.parse(row.steps),
    counts: JSON.parse(row.counts),
    outcome: JSON.parse(row.outcome),
    owner: row.owner,
  };
}

/** A result as a row of insertItemResults (column order of ItemResultParams). */
export function toItemResultParams(r: ItemResult): ItemResultParams {
  return [
    r.cycleId,
    r.loop,
    r.key,
    r.idempotencyKey,
    r.priority,
    r.status,
    r.attempts,
    r.startedAt,
    r.finishedAt,
    r.durationMs,
    toJson(r.output),
    toJson(r.error),
    toJson(r.payload),
  ];
}

export function fromItemResultRow(row: ItemResultRow): ItemResult {
  return {
    cycleId: row.cycle_id,
    loop: row.loop,
    key: row.key,
    idempotencyKey: row.idempotency_key,
    priority: row.priority,
    status: row.status as ItemStatus,
    attempts: row.attempts,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    durationMs: row.duration_ms,
    ...(row.payload !== null && { payload: JSON.parse(row.payload) }),
    ...(row.output !== null && { output: JSON.parse(row.output) }),
    ...(row.error !== null && { error: JSON.parse(row.error) }),
  };
}

/** The public id of the queue row with this seq. */
export function queueId(seq: number | bigint): string {
  return String(seq);
}

/**
 * The seq behind a queue id, or undefined when `id` is not one this store
 * hands out (only the canonical decimal form of a positive integer is):
 * such an id names no item, so lookups by it match nothing.
 */
export function queueSeq(id: string): number | undefined {
  const seq = Number(id);
  return Number.isSafeInteger(seq) && seq > 0 && String(seq) === id ? seq : undefined;
}

export function fromQueueRow(row: QueueRow): QueuedItem {
  return {
    id: queueId(row.seq),
    loop: row.loop,
    cycleId: row.cycle_id,
    key: row.key,
    priority: row.priority,
    payload: fromJson(row.payload),
    idempotencyKey: row.idempotency_key,
    enqueuedAt: row.enqueued_at,
    claim: row.claim_owner === null ? null : { owner: row.claim_owner, until: row.claim_until ?? 0 },
  };
}

export function fromEventRow(row: EventRow): StoredEvent {
  return { seq: row.seq, at: row.at, type: row.type, loop: row.loop, data: fromJson(row.data) };
}

export function fromLeaseRow(row: LeaseRow): Lease {
  return { key: row.key, owner: row.owner, token: row.token, acquiredAt: row.acquired_at, expiresAt: row.expires_at };
}

/** An instance's heartbeat as a row of beatInstance (column order of InstanceParams). */
export function toInstanceParams(
  instance: Omit<InstanceRecord, 'lastBeatAt' | 'expiresAt'>,
  ttlMs: number,
  now: number,
): InstanceParams {
  const { id, host, pid, startedAt, loops } = instance;
  return [id, host, pid, startedAt, now, now + ttlMs, JSON.stringify(loops)];
}

export function fromInstanceRow(row: InstanceRow): InstanceRecord {
  return {
    id: row.id,
    host: row.host,
    pid: row.pid,
    startedAt: row.started_at,
    lastBeatAt: row.last_beat_at,
    expiresAt: row.expires_at,
    loops: JSON.parse(row.loops),
  };
}
