import type Database from 'better-sqlite3';
import { checkBucket, takeToken } from '../memory/token-bucket.ts';
import type { RateLimitStore } from '../store.ts';
import type { RunStatements, Statements } from './statements.ts';

/**
 * The SQLite store's token buckets (table `rate_buckets`), shared by every
 * process on the file. `take` reads the bucket, applies {@link takeToken}
 * and writes the new count in one `BEGIN IMMEDIATE` transaction, so two
 * processes never spend the same token; `pause` is one statement.
 *
 * @example
 * const buckets = sqliteRateLimitStore(db, sql, run);
 * const { granted, waitMs } = await buckets.take('llm_service', 100, 60_000, now);
 */
export function sqliteRateLimitStore(db: Database.Database, sql: Statements, run: RunStatements): RateLimitStore {
  const take = db.transaction((name: string, capacity: number, perMs: number, now: number) => {
    const row = sql.selectBucket.get(name);
    const step = takeToken(
      row && { tokens: row.tokens, updatedAt: row.updated_at, pausedUntil: row.paused_until },
      capacity,
      perMs,
      now,
    );
    // A refused take writes nothing: the count at any later time follows from the stored one.
    if (step.granted) sql.writeBucket.run(name, step.next.tokens, step.next.updatedAt);
    return { granted: step.granted, waitMs: step.waitMs };
  });
  return {
    take: async (name, capacity, perMs, now) => {
      checkBucket(name, capacity, perMs);
      return run('buckets.take', () => take.immediate(name, capacity, perMs, now));
    },
    pause: async (name, untilMs) => {
      run('buckets.pause', (s) => s.pauseBucket.run(name, untilMs));
    },
  };
}
