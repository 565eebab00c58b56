import type { QueuedItem, Store } from '../storage/store.ts';

/**
 * `store`, reporting how many items each `queue.enqueue` and
 * `queue.claimStale` hands to a cycle: the denominator of `run`'s progress
 * line. The runtime emits no "planned" event with a count, and a cycle's
 * items are exactly those it enqueued or adopted. Everything else passes
 * through untouched.
 */
export function countingStore(store: Store, onItems: (loop: string, cycleId: string, count: number) => void): Store {
  const counted = (rows: QueuedItem[], loop: string, cycleId: string) => {
    if (rows.length > 0) onItems(loop, cycleId, rows.length);
    return rows;
  };
  const queue = new Proxy(store.queue, {
    get(target, property) {
      if (property === 'enqueue') {
        return async (...args: Parameters<Store['queue']['enqueue']>) =>
          counted(await target.enqueue(...args), args[0], args[1]);
      }
      if (property === 'claimStale') {
        return async (...args: Parameters<Store['queue']['claimStale']>) =>
          counted(await target.claimStale(...args), args[0], args[1]);
      }
      const value = Reflect.get(target, property, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return new Proxy(store, {
    get(target, property) {
      if (property === 'queue') return queue;
      const value = Reflect.get(target, property, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}
