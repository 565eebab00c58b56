import type { Logger } from '../core/logger.ts';
import { type BreakerPermit, type BreakerStateChange, CircuitBreaker } from '../policies/circuit-breaker.ts';
import { type Store, StoreError } from '../storage/store.ts';
import { type Clock, sleepPeriods, withDeadline } from '../time/clock.ts';
import type { ComponentHealth } from './health.ts';

/**
 * The `store` breaker's parameters. WHY these: the store is every loop's
 * dependency, so an outage must be noticed within a second even when no cycle
 * runs, and its end within a second of the store answering again.
 *
 * - `failureThreshold` 2: two store failures in a row (calls or probes) open
 *   it; one lost reply alone does not stop every loop.
 * - `recoveryTimeoutMs` 500, `halfOpenMaxCalls` 1, `successThreshold` 1: half
 *   a second after opening, one call (the probe's ping, or whichever store
 *   call comes first) is let through; its success closes the breaker, its
 *   failure opens it for another 500 ms.
 */
export const STORE_BREAKER = {
  name: 'store',
  failureThreshold: 2,
  recoveryTimeoutMs: 500,
  halfOpenMaxCalls: 1,
  successThreshold: 1,
} as const;

/**
 * The probe: a `ping` every {@link PROBE.intervalMs} with its own timeout
 * (a store slower than that counts as failing; 2 s, as the Redis client's
 * command timeout, so added network latency of a second is not an outage);
 * after a failed ping with the breaker still closed, the next ping goes out
 * {@link PROBE.confirmMs} later to confirm. So a store that refuses
 * connections opens the breaker within intervalMs + confirmMs (0.6 s), a
 * hung one within intervalMs + confirmMs + 2 timeouts (4.6 s); once open, a
 * trial ping goes out every recoveryTimeoutMs.
 */
export const PROBE = { intervalMs: 500, confirmMs: 100, timeoutMs: 2_000 } as const;

/**
 * Calls that keep what this process already holds (lease renewals and
 * releases, claim heartbeats) are sent even while the breaker is open: the
 * breaker stops new work, never a holder's attempt to keep its lease through
 * a short hiccup. Their failures still count.
 */
const KEEP_ALIVE: ReadonlySet<string> = new Set(['leases.renew', 'leases.release', 'queue.extend']);

/** A store call refused at once because the store's breaker is open: the store was not asked. */
export class StoreUnavailableError extends StoreError {
  override name = 'StoreError';
}

export interface StoreGuardOptions {
  readonly clock: Clock;
  readonly logger: Logger;
  /** How often the probe pings a healthy store. Default {@link PROBE.intervalMs}. */
  readonly probeIntervalMs?: number;
}

/**
 * The store as a dependency behind a circuit breaker named `store`.
 *
 * Every store call the runtime makes goes through {@link wrap}'s facade:
 * a {@link StoreError} counts as a failure, an answer as a success, and
 * while the breaker is open (or half-open with its trial taken) calls are
 * refused at once with a {@link StoreUnavailableError}, so nothing queues up
 * behind a dead connection; only lease renewals, lease releases and claim
 * heartbeats still go out (see KEEP_ALIVE). A probe runnable pings the store on the clock,
 * so the breaker opens even when no cycle runs, and closes again, with no
 * operator action, when a ping succeeds.
 * The runtime puts `OutageStore` (outage-store.ts) in front of the
 * facade, so a write it refuses is kept and made once the store answers.
 *
 * States (those of the breaker): closed -> open (an outage begins: counted,
 * logged once) -> half-open (one trial) -> closed (the outage ends: logged,
 * `onHealthy` listeners replay what the outage held back) | open.
 */
export class StoreGuard {
  readonly breaker: CircuitBreaker;
  readonly #o: StoreGuardOptions;
  #store: Store | null = null;
  #lastError: { message: string; at: number } | null = null;
  #downSince: number | null = null;
  #outages = 0;
  #failures = 0;
  readonly #logged = new Set<string>();
  readonly #healthy = new Set<() => void>();
  #probeIdle: (() => boolean) | null = null;

  constructor(options: StoreGuardOptions) {
    this.#o = options;
    this.breaker = new CircuitBreaker({ ...STORE_BREAKER }, options.clock);
    this.breaker.onStateChange((change) => this.#changed(change));
  }

  /** Closed->open transitions so far: one per outage. */
  get outages(): number {
    return this.#outages;
  }

  /** Store calls and probes that failed so far (for `autoloop_store_failures_total`). */
  get failures(): number {
    return this.#failures;
  }

  get lastError(): { message: string; at: number } | null {
    return this.#lastError;
  }

  /** Why the store must not be used now (`store unavailable: <last error>`), or undefined while the breaker is closed. */
  unavailable(): string | undefined {
    if (this.breaker.state === 'closed') return undefined;
    return `store unavailable: ${this.#lastError?.message ?? `its breaker is ${this.breaker.state}`}`;
  }

  /** Calls `listener` after each successful probe and when the breaker closes (replay held-back writes). */
  onHealthy(listener: () => void): { dispose(): void } {
    this.#healthy.add(listener);
    return { dispose: () => this.#healthy.delete(listener) };
  }

  onStateChange(listener: (change: BreakerStateChange) => void): { dispose(): void } {
    return this.breaker.onStateChange(listener);
  }

  /**
   * Simulation only: `idle()` says that a ping now would be answered at once
   * and that the `onHealthy` listeners have nothing to replay. A probe is
   * then a no-op while the breaker is closed with no failure counted, and a
   * simulated clock skips it (see `Clock.setPeriodTimer`); production never
   * calls this, so every probe runs.
   */
  skipIdleProbes(idle: () => boolean): void {
    this.#probeIdle = idle;
  }

  /** Whether a probe now would change nothing (see {@link skipIdleProbes}). */
  readonly #idleProbe = (): boolean =>
    this.#probeIdle !== null &&
    this.#store !== null &&
    this.breaker.state === 'closed' &&
    this.breaker.consecutiveFailures === 0 &&
    this.#probeIdle();

  /**
   * The store behind the breaker: the same parts and methods, each call
   * admitted and reported as described above, and {@link unavailable} as the
   * port's `unavailable()`. `close`, `description`, `warnings` and `broadcast`
   * pass through untouched. Also makes `store` the one the probe pings.
   */
  wrap(store: Store): Store {
    this.#store = store;
    const part = <T extends object>(name: string, target: T): T => guardPart(name, target, this);
    return {
      cycles: part('cycles', store.cycles),
      queue: part('queue', store.queue),
      events: part('events', store.events),
      leases: part('leases', store.leases),
      instances: part('instances', store.instances),
      buckets: part('buckets', store.buckets),
      documents: part('documents', store.documents),
      journals: part('journals', store.journals),
      unavailable: () => this.unavailable(),
      ping: () => this.call('ping', () => store.ping()),
      prune: (before) => this.call('prune', () => store.prune(before)),
      close: () => store.close(),
      description: store.description,
      ...(store.warnings && { warnings: store.warnings }),
      ...(store.broadcast && { broadcast: store.broadcast }),
    };
  }

  /**
   * Runs one store call under the breaker. Rejects with StoreUnavailableError,
   * unasked, while it is open (except the keep-alive calls, see KEEP_ALIVE).
   */
  call<T>(op: string, fn: () => Promise<T>): Promise<T> {
    return this.callMethod(op, fn, undefined, []);
  }

  /**
   * {@link call} for `method.apply(self, args)`: what the store's facade
   * calls, with no closure made per call.
   */
  callMethod<T>(op: string, method: (...args: unknown[]) => Promise<T>, self: unknown, args: unknown[]): Promise<T> {
    const acquired = this.breaker.tryAcquire();
    if (!acquired.allowed) return this.#callWhileDown(op, () => method.apply(self, args));
    const { permit } = acquired;
    // Plain promise callbacks, not async/await: every store call of every item comes through here.
    return sent(method, self, args).then(
      (value) => {
        permit.success();
        return value;
      },
      (error: unknown) => {
        // Only the backend's own failures count; any other error means it answered.
        if (error instanceof StoreError) this.#failed(permit, error);
        else permit.success();
        throw error;
      },
    );
  }

  /** `store.ping()`, or a StoreError once the probe's timeout passed. */
  #ping(store: Store): Promise<void> {
    const ms = PROBE.timeoutMs;
    return withDeadline(
      store.ping(),
      this.#o.clock,
      ms,
      () => new StoreError(`store ${store.description}: ping: no answer within ${ms} ms`),
    );
  }

  /** A call while the breaker refuses: only the keep-alive calls go out (see KEEP_ALIVE). */
  async #callWhileDown<T>(op: string, fn: () => Promise<T>): Promise<T> {
    if (!KEEP_ALIVE.has(op)) {
      throw new StoreUnavailableError(`${this.unavailable() ?? 'store unavailable'} (${op} not sent)`);
    }
    try {
      return await fn();
    } catch (error) {
      if (error instanceof StoreError) this.#noteFailure(error);
      throw error;
    }
  }

  /**
   * The probe, a runnable: pings until `signal` aborts; never rejects. See
   * {@link PROBE} for its timing.
   */
  async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      const waitMs = await this.probe();
      try {
        // Only the healthy rhythm repeats a probe that did nothing; a confirming or trial ping always goes out.
        if (waitMs === (this.#o.probeIntervalMs ?? PROBE.intervalMs)) {
          await sleepPeriods(this.#o.clock, waitMs, signal, this.#idleProbe);
        } else await this.#o.clock.sleep(waitMs, signal);
      } catch {
        return;
      }
    }
  }

  /** One probe. Resolves with how long to wait before the next one. */
  async probe(): Promise<number> {
    const store = this.#store;
    const intervalMs = this.#o.probeIntervalMs ?? PROBE.intervalMs;
    if (!store) return intervalMs;
    const acquired = this.breaker.tryAcquire();
    if (!acquired.allowed) return Math.max(10, Math.min(intervalMs, acquired.retryAfterMs));
    try {
      await this.#ping(store);
    } catch (error) {
      this.#failed(acquired.permit, error);
      return this.breaker.state === 'closed' ? PROBE.confirmMs : intervalMs;
    }
    acquired.permit.success();
    for (const listener of this.#healthy) listener();
    return intervalMs;
  }

  /**
   * The `store` health component: unhealthy at once while the breaker is
   * open (no ping sent), else a ping with the probe's timeout. Names the
   * breaker state and the last error.
   */
  async health(): Promise<ComponentHealth> {
    const store = this.#store;
    if (!store) return { healthy: false, detail: 'not open' };
    const iso = (ms: number | null | undefined) => (ms == null ? null : new Date(ms).toISOString());
    const facts = () => ({
      breaker: this.breaker.state,
      lastError: this.#lastError?.message ?? null,
      lastErrorAt: iso(this.#lastError?.at),
      downSince: iso(this.#downSince),
      outages: this.#outages,
    });
    const down = this.unavailable();
    if (down) return { healthy: false, detail: `${store.description}: ${down}`, ...facts() };
    try {
      await this.call('ping', () => this.#ping(store));
      return { healthy: true, detail: store.description, ...facts() };
    } catch (error) {
      return { healthy: false, detail: `${store.description}: ${messageOf(error)}`, ...facts() };
    }
  }

  /**
   * Logs a store failure at warn, once per outage and `key` (so a loop that
   * fails every tick while the store is down says so once); failures while
   * the breaker is closed (isolated ones) are logged each time.
   */
  logFailure(key: string, error: unknown, fields: object, message: string): void {
    if (this.breaker.state !== 'closed') {
      if (this.#logged.has(key)) return;
      this.#logged.add(key);
    }
    this.#o.logger.warn({ ...fields, err: error }, message);
  }

  #failed(permit: BreakerPermit, error: unknown): void {
    this.#noteFailure(error);
    permit.failure();
  }

  #noteFailure(error: unknown): void {
    this.#failures++;
    this.#lastError = { message: messageOf(error), at: this.#o.clock.now() };
  }

  #changed({ from, to }: BreakerStateChange): void {
    const { logger, clock } = this.#o;
    if (from === 'closed' && to === 'open') {
      this.#outages++;
      this.#downSince = clock.now();
      logger.error(
        { store: this.#store?.description, lastError: this.#lastError?.message },
        'store unavailable: its breaker opened; ticks are skipped and writes held in memory until it answers again',
      );
    } else if (to === 'closed') {
      const downMs = this.#downSince === null ? 0 : clock.now() - this.#downSince;
      this.#downSince = null;
      this.#logged.clear();
      logger.info({ store: this.#store?.description, downMs }, 'store answers again: its breaker closed');
      for (const listener of this.#healthy) listener();
    }
  }
}

/**
 * A store part whose every method runs through `call`. A Proxy rather than
 * one wrapper per method: every port method is one async operation, and a
 * method added to the port later is guarded without anyone remembering to.
 */
function guardPart<T extends object>(name: string, target: T, guard: StoreGuard): T {
  const wrapped = new Map<PropertyKey, unknown>();
  return new Proxy(target, {
    get(obj, prop) {
      const value = Reflect.get(obj, prop, obj) as unknown;
      if (typeof value !== 'function') return value;
      let fn = wrapped.get(prop);
      if (!fn) {
        const op = `${name}.${String(prop)}`;
        const method = value as (...a: unknown[]) => Promise<unknown>;
        fn = (...args: unknown[]) => guard.callMethod(op, method, obj, args);
        wrapped.set(prop, fn);
      }
      return fn;
    },
  });
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** `method.apply(self, args)`, with a synchronous throw turned into a rejection. */
function sent<T>(method: (...args: unknown[]) => Promise<T>, self: unknown, args: unknown[]): Promise<T> {
  try {
    return method.apply(self, args);
  } catch (error) {
    return Promise.reject(error);
  }
}
