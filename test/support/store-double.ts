import type { LeaseStore, Store, WorkQueue } from '../../src/storage/store.ts';

/**
 * `store` with some queue and lease methods replaced: the base of the
 * deliberately broken store doubles that prove a report or a guarantee test
 * can fail. Every other method is `store`'s own, bound to it.
 *
 * @example
 * const forgetful = storeDouble(store, { queue: { claimStale: async () => [] } });
 */
export function storeDouble(
  store: Store,
  overrides: { queue?: Partial<WorkQueue>; leases?: Partial<LeaseStore> },
): Store {
  return {
    ...store,
    ping: () => store.ping(),
    prune: (before) => store.prune(before),
    close: () => store.close(),
    queue: { ...bound(store.queue), ...overrides.queue },
    leases: { ...bound(store.leases), ...overrides.leases },
  };
}

/** The object's methods (own and inherited), bound to it, as a plain object. */
function bound<T extends object>(target: T): T {
  const out: Record<string, unknown> = {};
  for (let proto: object | null = target; proto && proto !== Object.prototype; proto = Object.getPrototypeOf(proto)) {
    for (const name of Object.getOwnPropertyNames(proto)) {
      const value = (target as Record<string, unknown>)[name];
      if (name !== 'constructor' && !(name in out) && typeof value === 'function') out[name] = value.bind(target);
    }
  }
  return out as T;
}
