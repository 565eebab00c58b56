import type Database from 'better-sqlite3';
import { checkWindow, takeFromLog } from '../../policies/window-log.ts';
import type { RateLimitStore } from '../store.ts';
import type { RunStatements, Statements } from './statements.ts';

/**
 * The SQLite store's rate-limit buckets (table `rate_windows`), shared by
 * every process on the file. `take` reads the bucket's log, applies
 * {@link takeFromLog} and writes the new log in one `BEGIN IMMEDIATE`
 * transaction, so two processes never spend the same slot; `pause` is one
 * statement.
 *
 * @example
 * const buckets = sqliteRateLimitStore(db, sql, run);
 * const { granted, waitMs } = await buckets.take('llm_service', 100, 61_000, now);
 */
export function sqliteRateLimitStore(db: Database.Database, sql: Statements, run: RunStatements): RateLimitStore {
  const take = db.transaction((name: string, limit: number, windowMs: number, now: number) => {
    const row = sql.selectBucket.get(name);
    const log = { grants: row ? (JSON.parse(row.grants) as number[]) : [], pausedUntil: row?.paused_until ?? null };
    const step = takeFromLog(log, limit, windowMs, now);
    // A refused take writes nothing: the log alone decides every later take.
    if (!step.granted) return { granted: false, waitMs: step.waitMs };
    sql.writeBucket.run(name, JSON.stringify(step.grants));
    return { granted: true, waitMs: 0 };
  });
  return {
    take: async (name, limit, windowMs, now) => {
      checkWindow(name, limit, windowMs);
      return run('buckets.take', () => take.immediate(name, limit, windowMs, now));
    },
    pause: async (name, untilMs) => {
      run('buckets.pause', (s) => s.pauseBucket.run(name, untilMs));
    },
  };
}
