import type { Store, WorkQueue } from '../../src/storage/store.ts';

/**
 * `store` with each queued item's end-to-end latency appended to `sink`:
 * from its `enqueuedAt` (the cycle's clock reading passed to
 * `queue.enqueue`, taken before the enqueue is sent) to the moment the
 * store accepted its fenced `queue.complete` (Date.now() when the call
 * resolved true). Every other member is the store's own, bound to it.
 *
 * @example
 * const latencies: number[] = [];
 * const runtime = createRuntime({ loops, store: withItemLatency(store, latencies) });
 */
export function withItemLatency(store: Store, sink: number[]): Store {
  const enqueuedAt = new Map<string, number>();
  const q = store.queue;
  const queue: WorkQueue = {
    ...bound(q),
    enqueue: async (...args) => {
      const rows = await q.enqueue(...args);
      for (const row of rows) enqueuedAt.set(row.id, row.enqueuedAt);
      return rows;
    },
    complete: async (id, ...rest) => {
      const ok = await q.complete(id, ...rest);
      const from = enqueuedAt.get(id);
      if (ok && from !== undefined) sink.push(Date.now() - from);
      enqueuedAt.delete(id);
      return ok;
    },
  };
  return new Proxy(store, {
    get: (target, prop) => {
      if (prop === 'queue') return queue;
      const value = Reflect.get(target, prop, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

/** The queue's methods bound to it, so a spread copy keeps working. */
function bound(q: WorkQueue): WorkQueue {
  return {
    enqueue: q.enqueue.bind(q),
    claimStale: q.claimStale.bind(q),
    complete: q.complete.bind(q),
    extend: q.extend.bind(q),
    release: q.release.bind(q),
    depth: q.depth.bind(q),
    list: q.list.bind(q),
  };
}
