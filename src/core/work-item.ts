/**
 * Work items: what `plan` returns and `act` executes.
 *
 * Priority is a number where lower runs first; the names seed 000 uses map
 * onto it (critical 0, high 1, medium 2, low 3). Plan may return either.
 */
export const PRIORITIES = { critical: 0, high: 1, medium: 2, low: 3 } as const;
export type PriorityName = keyof typeof PRIORITIES;
export type Priority = PriorityName | number;

/** What a plan step returns for each unit of work. */
export interface PlannedItem<P = unknown> {
  /** What the item is about, e.g. `BTC/USD` or `nba_api/2024-01-05`. Unique within a cycle. */
  key: string;
  /** Lower runs first. Default `medium` (2). */
  priority?: Priority;
  /** Data for act. Must be JSON-serialisable: it is stored before it runs. */
  payload?: P;
  /**
   * Two items with the same idempotency key are the same work: the queue
   * keeps one. Default: `<loop>:<key>:<tick id>`.
   */
  idempotencyKey?: string;
}

/** A planned item after the runtime has filled in its defaults. */
export interface WorkItem<P = unknown> {
  readonly key: string;
  readonly priority: number;
  readonly payload: P;
  readonly idempotencyKey: string;
}

export function priorityValue(priority: Priority | undefined): number {
  if (priority === undefined) return PRIORITIES.medium;
  if (typeof priority === 'number') return priority;
  return PRIORITIES[priority];
}

/** The name for a numeric priority, for display ("p7" past the named ones). */
export function priorityName(value: number): string {
  const entry = Object.entries(PRIORITIES).find(([, v]) => v === value);
  return entry ? entry[0] : `p${value}`;
}
