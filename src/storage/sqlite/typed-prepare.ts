import type Database from 'better-sqlite3';

/**
 * The part of a prepared statement the store uses, under a name the build's
 * declaration emit can write. better-sqlite3's types call a statement
 * `BetterSqlite3.Statement`, in a namespace they do not export, so
 * `tsc -p tsconfig.build.json` refuses (TS4058) a statement map inferred
 * from the plain `db.prepare`.
 */
export interface Statement<Params extends unknown[] | {}, Result> {
  run(...params: BindArgs<Params>): Database.RunResult;
  get(...params: BindArgs<Params>): Result | undefined;
  all(...params: BindArgs<Params>): Result[];
  iterate(...params: BindArgs<Params>): IterableIterator<Result>;
}

/** Positional parameters as they are; named ones as one object, as better-sqlite3 takes them. */
export type BindArgs<Params> = Params extends unknown[] ? Params : [Params];

export interface TypedPrepare {
  prepare<Params extends unknown[] | {} = unknown[], Result = unknown>(source: string): Statement<Params, Result>;
}

/** The same connection; only the type `prepare` returns changes. */
export function typedPrepare(db: Database.Database): TypedPrepare & Database.Database {
  return db as TypedPrepare & Database.Database;
}
