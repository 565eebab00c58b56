import { type Store, StoreError } from '../storage/store.ts';

/** A store as one process sees it, with faults to inject; see {@link crashableStore}. */
export interface CrashableStore {
  readonly store: Store;
  /** SIGKILL: no call is made any more and calls in flight never settle (their continuations never run). */
  kill(): void;
  readonly dead: boolean;
  /**
   * The store cannot be reached: every call rejects with a `StoreError`
   * carrying `reason` until {@link reachable}. Nothing reaches the backend.
   */
  unreachable(reason?: string): void;
  reachable(): void;
  readonly down: boolean;
  /** Answers are held (the process is frozen) until {@link thaw}, then delivered in order. */
  freeze(): void;
  readonly frozen: boolean;
  thaw(): void;
}

/**
 * `store` as one process sees it, for fault injection on a shared backend:
 * `kill()` (the process died: calls are not made and calls in flight never
 * settle), `unreachable()` (a network partition or a stopped server: calls
 * fail fast with a StoreError) and `freeze()` (the process is stopped: the
 * answers of calls it already made wait until `thaw()`).
 *
 * @example
 * const shared = new MemoryStore();
 * const a = crashableStore(shared);
 * const runtime = createRuntime({ loops, store: a.store, clock });
 * a.unreachable('connection refused'); // ...later: a.reachable()
 */
export function crashableStore(store: Store): CrashableStore {
  let dead = false;
  let down: string | null = null;
  let held: Array<() => void> | null = null;
  const never = new Promise<never>(() => {});
  /** An answer as this process gets it: never once dead, at the thaw while frozen, else at once. */
  const deliver = <T>(settle: (resolve: (v: T) => void, reject: (e: unknown) => void) => void): Promise<T> | null => {
    if (dead) return never;
    const queue = held;
    if (!queue) return null;
    return new Promise<T>((resolve, reject) => queue.push(() => settle(resolve, reject)));
  };
  const call = (fn: () => unknown): unknown => {
    if (dead) return never;
    if (down !== null) return Promise.reject(new StoreError(down));
    const result = fn();
    if (!(result instanceof Promise)) return result;
    // One `then`, no promise of its own while the process runs: a month of simulation makes millions of calls.
    return result.then(
      (v: unknown) => deliver((resolve) => resolve(v)) ?? v,
      (e: unknown) => {
        const later = deliver((_, reject) => reject(e));
        if (later !== null) return later;
        throw e;
      },
    );
  };
  // Wrappers built once per method (not a Proxy trap per call): a month of simulation makes millions of calls.
  const guard = <T extends object>(part: T): T => {
    const out: Record<string, unknown> = {};
    for (const name of methodNames(part)) {
      const method = (part as Record<string, (...a: unknown[]) => unknown>)[name] as (...a: unknown[]) => unknown;
      out[name] = (...args: unknown[]) => call(() => method.apply(part, args));
    }
    return out as T;
  };
  const wrapped: Store = {
    cycles: guard(store.cycles),
    queue: guard(store.queue),
    events: guard(store.events),
    leases: guard(store.leases),
    instances: guard(store.instances),
    buckets: guard(store.buckets),
    documents: guard(store.documents),
    journals: guard(store.journals),
    description: store.description,
    ping: () => call(() => store.ping()) as Promise<void>,
    prune: (before) => call(() => store.prune(before)) as ReturnType<Store['prune']>,
    close: () => call(() => store.close()) as Promise<void>,
  };
  return {
    store: wrapped,
    kill: () => {
      dead = true;
      held = null;
    },
    get dead() {
      return dead;
    },
    unreachable: (reason = 'store unreachable (injected fault)') => {
      down = reason;
    },
    reachable: () => {
      down = null;
    },
    get down() {
      return down !== null;
    },
    freeze: () => {
      held ??= [];
    },
    get frozen() {
      return held !== null;
    },
    thaw: () => {
      const answers = held ?? [];
      held = null;
      for (const fn of answers) fn();
    },
  };
}

/** The names of `target`'s methods, own and inherited (not Object's). */
function methodNames(target: object): string[] {
  const names = new Set<string>();
  for (let proto: object | null = target; proto && proto !== Object.prototype; proto = Object.getPrototypeOf(proto)) {
    for (const name of Object.getOwnPropertyNames(proto)) {
      if (name !== 'constructor' && typeof (target as Record<string, unknown>)[name] === 'function') names.add(name);
    }
  }
  return [...names];
}
