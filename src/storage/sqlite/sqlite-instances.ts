import type { InstanceRegistry } from '../store.ts';
import { fromInstanceRow, toInstanceParams } from './rows.ts';
import type { RunStatements } from './statements.ts';

/**
 * The SQLite store's instance heartbeats (table `instances`): one statement
 * per call. An expired row stays until `remove`; `list` leaves it out.
 *
 * @example
 * const instances = sqliteInstanceRegistry(run);
 * await instances.beat({ id, host, pid, startedAt, loops: ['signals'] }, 30_000, now);
 */
export function sqliteInstanceRegistry(run: RunStatements): InstanceRegistry {
  return {
    beat: async (instance, ttlMs, now) => {
      run('instances.beat', (sql) => sql.beatInstance.run(...toInstanceParams(instance, ttlMs, now)));
    },
    list: async (now) => run('instances.list', (sql) => sql.listInstances.all(now).map(fromInstanceRow)),
    remove: async (id) => {
      run('instances.remove', (sql) => sql.removeInstance.run(id));
    },
  };
}
