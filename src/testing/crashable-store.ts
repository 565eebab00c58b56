import { type Store, StoreError } from '../storage/store.ts';

/** What to do when one method's call is answered or refused; see {@link StoreHooks}. */
export interface CallHook {
  /** The backend answered `value` (run when it answers, even if the process is frozen or has died since). */
  readonly answered?: (value: never, args: never) => void;
  /** The process got a rejection (run as it is delivered: at the thaw if frozen, never once dead). */
  readonly refused?: (error: unknown, args: never) => void;
}

/**
 * Observers of calls by part and method name (`{ queue: { complete: { answered } } }`), run in the
 * store's own call wrapper: the simulation books what reached the backend without a layer of its own.
 */
export type StoreHooks = Readonly<Record<string, Readonly<Record<string, CallHook>>>>;

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
export function crashableStore(store: Store, hooks: StoreHooks = {}): CrashableStore {
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
  const call = (fn: () => unknown, hook?: Hook, args?: unknown[]): unknown => {
    if (dead) return never;
    if (down !== null) {
      const error = new StoreError(down);
      hook?.refused?.(error, args);
      return Promise.reject(error);
    }
    const result = fn();
    if (!(result instanceof Promise)) {
      hook?.answered?.(result, args);
      return result;
    }
    // One `then`, no promise of its own while the process runs: a month of simulation makes millions of calls.
    return result.then(
      (v: unknown) => {
        hook?.answered?.(v, args);
        return deliver((resolve) => resolve(v)) ?? v;
      },
      (e: unknown) => {
        const later = deliver((_, reject) => {
          hook?.refused?.(e, args);
          reject(e);
        });
        if (later !== null) return later;
        hook?.refused?.(e, args);
        throw e;
      },
    );
  };
  // Wrappers built once per method (not a Proxy trap per call): a month of simulation makes millions of calls.
  const guard = <T extends object>(part: T, partName: string): T => {
    const out: Record<string, unknown> = {};
    const partHooks = hooks[partName] ?? {};
    for (const name of methodNames(part)) {
      const method = (part as Record<string, (...a: unknown[]) => unknown>)[name] as (...a: unknown[]) => unknown;
      const hook = partHooks[name] as Hook | undefined;
      out[name] = hook
        ? (...args: unknown[]) => call(() => method.apply(part, args), hook, args)
        : (...args: unknown[]) => call(() => method.apply(part, args));
    }
    return out as T;
  };
  const wrapped: Store = {
    cycles: guard(store.cycles, 'cycles'),
    queue: guard(store.queue, 'queue'),
    events: guard(store.events, 'events'),
    leases: guard(store.leases, 'leases'),
    instances: guard(store.instances, 'instances'),
    buckets: guard(store.buckets, 'buckets'),
    documents: guard(store.documents, 'documents'),
    journals: guard(store.journals, 'journals'),
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

/** {@link CallHook} as the wrapper calls it. */
interface Hook {
  readonly answered?: (value: unknown, args: unknown) => void;
  readonly refused?: (error: unknown, args: unknown) => void;
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
